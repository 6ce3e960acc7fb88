"""Request parameters of the pages, checked in one place per kind before any view runs:
ids (the `<id:...>` path converter and id fields), page numbers, dates, numbers, text
(no NUL bytes or control characters) and redirect targets (this site only).

A value outside its kind is answered with 400 and a sentence saying what is allowed, so no
value reaches the database or the date arithmetic out of range. The JSON API (webapp/api)
checks its own parameters with its request models."""

import math
import re
from datetime import date
from urllib.parse import urlsplit

from flask import abort, request
from flask_babel import gettext as _
from werkzeug.routing import BaseConverter, ValidationError

MAX_ID = 2**31 - 1  # the tables' INTEGER primary keys
MAX_PAGE = 1_000_000
MAX_PER_PAGE = 500
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(2999, 12, 31)
WHOLE = re.compile(r"[+-]?[0-9]{1,30}")
DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# C0 controls except tab, line feed and carriage return (textareas send those), DEL, C1.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class IdConverter(BaseConverter):
    """`/files/<id:file_id>`: a record id within the column's range, else the route does
    not match (404)."""

    # 1 to 2147483647 spelled out, so that a number out of range matches no route at all (a
    # ValidationError from to_python would make werkzeug answer 405 where a route of another
    # method has the same path).
    regex = (
        r"0*(?:[1-9][0-9]{0,8}|1[0-9]{9}|20[0-9]{8}|21[0-3][0-9]{7}|214[0-6][0-9]{6}|2147[0-3][0-9]{5}"
        r"|21474[0-7][0-9]{4}|214748[0-2][0-9]{3}|2147483[0-5][0-9]{2}|21474836[0-3][0-9]|214748364[0-7])"
    )

    def to_python(self, value):
        number = int(value)
        if not 1 <= number <= MAX_ID:
            raise ValidationError()
        return number

    def to_url(self, value):
        return str(int(value))


def whole(value, name, low, high):
    """`value` as an int from `low` to `high`, else 400."""
    text = str(value).strip()
    if not WHOLE.fullmatch(text) or not low <= int(text) <= high:
        abort(
            400,
            description=_("%(name)s must be a whole number from %(low)d to %(high)d.", name=name, low=low, high=high),
        )
    return int(text)


def ident(value, name="id"):
    return whole(value, name, 1, MAX_ID)


def page(value, name="page"):
    return whole(value, name, 1, MAX_PAGE)


def per_page(value, name="per_page"):
    return whole(value, name, 1, MAX_PER_PAGE)


def day(value, name="date"):
    """A YYYY-MM-DD date from FIRST_DAY to LAST_DAY, else 400."""
    text = str(value).strip()
    try:
        parsed = date.fromisoformat(text) if DAY.fullmatch(text) else None
    except ValueError:
        parsed = None
    if parsed is None or not FIRST_DAY <= parsed <= LAST_DAY:
        abort(
            400,
            description=_(
                "%(name)s must be a date written YYYY-MM-DD, from %(first)s to %(last)s.",
                name=name,
                first=FIRST_DAY.isoformat(),
                last=LAST_DAY.isoformat(),
            ),
        )
    return parsed


def number(value):
    """A finite float from a form field, or None (blank, not a number, inf, nan): the caller's
    validation then reports the field."""
    try:
        parsed = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return parsed if math.isfinite(parsed) else None


# Query-string and form fields of the pages, by kind. Blank means "not given".
FIELDS = {
    "page": page,
    "per_page": per_page,
    "folder_id": ident,
    "job_id": ident,
    "customer_id": ident,
    "file_id": ident,
    "folder_ids": ident,
    "before_id": ident,
    "date_from": day,
    "date_to": day,
}


def check_request():
    """before_request of the pages: every query-string and form field is text without control
    characters, and the fields in FIELDS hold a value of their kind."""
    if request.path == "/api" or request.path.startswith(("/api/", "/static/")):
        return
    for source in (request.args, request.form):
        for name, value in source.items(multi=True):
            if CONTROL.search(name) or CONTROL.search(value):
                abort(
                    400,
                    description=_(
                        "The field %(name)s contains a control character (such as a NUL "
                        "byte); remove it and send the form again.",
                        name=_printable(name),
                    ),
                )
            if name in FIELDS and value.strip():
                FIELDS[name](value, name)


def safe_next(value):
    """A redirect target on this site, as a path ("/files/?page=2"), or None. A full URL is
    kept only when it names this very host (the Referer of our own pages)."""
    if not value or not isinstance(value, str) or CONTROL.search(value) or "\\" in value or value != value.strip():
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        if parts.scheme not in ("http", "https") or parts.netloc != request.host:
            return None
        value = parts.path + (f"?{parts.query}" if parts.query else "")
        parts = urlsplit(value)
    if not parts.path.startswith("/") or parts.path.startswith("//"):
        return None
    return value


def _printable(name):
    return CONTROL.sub("?", name)[:60]
