"""What makes a file a recording Callbatch can take.

`check_listing` runs at scan time on what the listing says (name, type, size, access);
`probe` runs in the worker on the content (can the container be read, which hash)."""

import hashlib
import os
import re
import stat
from collections.abc import Collection

import av

from ..errors import FileAccessError, SkipFile, technical
from ..providers.storage.base import MANIFEST, METADATA_SUFFIX, TRANSCRIPT_SUFFIXES, StoredFile

UUID_NAME = re.compile(
    r"^(?P<uuid>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.(?P<ext>[a-z0-9]+)$",
    re.IGNORECASE,
)
# Files telephony systems deliver beside a recording; read by analysis, never queued.
COMPANION_SUFFIXES = TRANSCRIPT_SUFFIXES + (METADATA_SUFFIX,)


def is_companion(name: str) -> bool:
    lower = name.lower()
    if lower == MANIFEST:
        return True
    for suffix in COMPANION_SUFFIXES:
        if lower.endswith(suffix) and UUID_NAME.match(lower[: -len(suffix)] + ".x"):
            return True
    return False


def call_uuid(name: str) -> str | None:
    match = UUID_NAME.match(name)
    return match.group("uuid").lower() if match else None


def check_listing(stored: StoredFile, extensions: Collection[str], max_size: int) -> None:
    """Raise SkipFile for a listed file that cannot be taken."""
    if stored.denied and stored.denied_code == "INVALID_FILENAME":  # e.g. a name that is not UTF-8
        raise SkipFile(stored.denied, code="INVALID_FILENAME")
    match = UUID_NAME.match(stored.name)
    if not match:
        raise SkipFile(f"'{stored.name}' is not named <uuid>.<extension>.", code="INVALID_FILENAME")
    ext = match.group("ext").lower()
    if ext not in extensions:
        allowed = ", ".join(sorted(extensions))
        raise SkipFile(f"'.{ext}' files are not accepted here (allowed: {allowed}).", code="INVALID_FORMAT")
    if stored.size > max_size:
        raise SkipFile(
            f"The file is {_mb(stored.size)}, over this folder's limit of {_mb(max_size)}.",
            code="FILE_TOO_LARGE",
        )
    if stored.denied:
        raise SkipFile(stored.denied, code=stored.denied_code)
    if stored.size == 0:
        raise SkipFile("The file is empty (0 bytes).", code="CORRUPTED_FILE")


def probe(path: str) -> tuple[float | None, str]:
    """(duration in seconds, SHA-256 hex) of an audio file; SkipFile if it is not a regular
    file or holds no readable audio. The file is first opened without blocking and checked
    on its descriptor: a FIFO would hang any reader. (Storage providers yield paths that
    keep naming the file they checked, see LocalStorage.download_file.)"""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError as exc:
        raise FileAccessError("The recording is no longer there.", code="FILE_NOT_FOUND") from exc
    except PermissionError as exc:
        raise _not_permitted(exc) from exc
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise SkipFile("The recording is not a regular file; Callbatch does not read it.", code="ACCESS_DENIED")
        try:
            with av.open(path) as container:
                if not container.streams.audio:
                    raise SkipFile("The file holds no audio track.", code="CORRUPTED_FILE")
                stream = container.streams.audio[0]
                _first_frame(container, stream)
                duration = _duration(container, stream)
        except PermissionError as exc:
            raise _not_permitted(exc) from exc
        except (av.FFmpegError, UnicodeDecodeError, ValueError) as exc:
            raise SkipFile(_unreadable(exc), code="CORRUPTED_FILE", details={"error": technical(exc)}) from exc
        return duration, _sha256(f)


def _not_permitted(exc):
    return SkipFile(
        "File permissions do not let Callbatch read the file.",
        code="ACCESS_DENIED",
        details={"error": technical(exc)},
    )


def _unreadable(exc):
    """The sentence for audio FFmpeg cannot read; its own text (errno, a temporary path) goes
    to the details."""
    if isinstance(exc, av.error.EOFError):
        return "The recording ends before its audio does: the file is cut short or damaged."
    if isinstance(exc, av.error.InvalidDataError):
        return (
            "The file is not audio in a format Callbatch can read: it is damaged, or another kind of "
            "file with an audio file's name."
        )
    return "The audio in the file could not be read: the file is damaged or in an unsupported format."


def _first_frame(container, stream):
    for _frame in container.decode(stream):
        return
    raise SkipFile("The file holds no decodable audio.", code="CORRUPTED_FILE")


def _duration(container, stream):
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def _sha256(f):
    digest = hashlib.sha256()
    for chunk in iter(lambda: f.read(1024 * 1024), b""):
        digest.update(chunk)
    return digest.hexdigest()


def _mb(size):
    return f"{size / (1024 * 1024):.1f} MB"
