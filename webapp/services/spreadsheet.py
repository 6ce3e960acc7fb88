"""CSV for spreadsheets: text a spreadsheet would run as a formula is made inert, and a
streamed CSV is written through one buffer, drained chunk by chunk."""

from __future__ import annotations

import io

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(value: object, starts: tuple[str, ...] = FORMULA_STARTS) -> object:
    """`value`, with a leading apostrophe when it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(starts):
        return "'" + value
    return value


def drain(buffer: io.StringIO) -> str:
    """The text written to `buffer` since it was last drained; the buffer is left empty."""
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate(0)
    return text
