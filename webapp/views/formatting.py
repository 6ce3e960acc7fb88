"""How pages show times, durations, sizes and numbers: in the reader's language (Babel) and
time zone (the user's, else TIMEZONE). The JSON API keeps ISO-8601 UTC; only pages use these."""

from datetime import datetime, timedelta, timezone

from babel import Locale, UnknownLocaleError, units
from flask_babel import format_datetime, format_decimal, format_timedelta, get_locale
from flask_babel import gettext as _
from markupsafe import Markup

RELATIVE_WITHIN = timedelta(hours=24)  # nearer than this a time reads "3 minutes ago" / "in 2 hours"


def as_datetime(moment):
    """A datetime from a datetime or an ISO-8601 string (what the services hand the pages)."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00")) if moment else None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)  # the database keeps UTC
    return moment


def dt(moment):
    """<time datetime=ISO-UTC title=exact local time>: relative when near, else the local date and time."""
    moment = as_datetime(moment)
    if moment is None:
        return "—"
    full = format_datetime(moment, "long")
    distance = moment - datetime.now(timezone.utc)
    shown = (
        format_timedelta(distance, add_direction=True)
        if abs(distance) < RELATIVE_WITHIN
        else format_datetime(moment, "medium")
    )
    iso = moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    return Markup('<time datetime="{}" title="{}">{}</time>').format(iso, full, shown)


def exact(moment):
    """The local date and time alone (no markup): for a chart tooltip or an attribute."""
    moment = as_datetime(moment)
    return format_datetime(moment, "medium") if moment else "—"


def duration(seconds):
    """2 min 5 sec / 2 דק׳ 5 שנ׳ (hours and minutes past an hour; a zero second part left out)."""
    if seconds is None:
        return "—"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = (
        [(hours, "duration-hour"), (minutes, "duration-minute")]
        if hours
        else [(minutes, "duration-minute"), (secs, "duration-second")]
        if minutes
        else [(secs, "duration-second")]
    )
    if len(parts) == 2 and parts[1][0] == 0:
        parts = parts[:1]  # 12 min, not 12 min 0 sec
    locale = get_locale() or "en"
    return " ".join(units.format_unit(value, unit, length="short", locale=locale) for value, unit in parts)


def clock(seconds):
    seconds = int(seconds or 0)
    return f"{seconds // 60}:{seconds % 60:02d}"


SIZE_UNITS = ("digital-byte", "digital-kilobyte", "digital-megabyte", "digital-gigabyte")


def size(n):
    """512 byte / 1.5 MB in the reader's number format (1,024 bytes a kilobyte)."""
    if n is None:
        return "—"
    locale = get_locale() or "en"
    for unit in SIZE_UNITS:
        if n < 1024 or unit == SIZE_UNITS[-1]:
            pattern = "#,##0" if unit == "digital-byte" else "#,##0.0"
            return units.format_unit(n, unit, length="short", format=pattern, locale=locale)
        n /= 1024


def number(value, digits=None):
    """12,345.6 in the reader's format; `digits` fixes the decimals shown."""
    if value is None:
        return "—"
    if digits is not None:
        return format_decimal(value, format="#,##0." + "0" * digits if digits else "#,##0")
    return format_decimal(value)


def tr(text):
    """A sentence that comes as data (a status, a stored error message, a provider's label) in
    the reader's language when the catalogue has it; anything else as it is."""
    return _(str(text)) if text else text


def language_name(code):
    """he → עברית / Hebrew: a language code by its name in the reader's language."""
    if not code:
        return "?"
    try:
        return Locale.parse(code).get_display_name(get_locale() or "en")
    except (ValueError, UnknownLocaleError):
        return code


def yesno(value):
    """Yes/No in words, never a raw True/False."""
    return _("Yes") if value else _("No")


def register(app):
    from .stored_words import said

    app.jinja_env.filters["said"] = said
    for name, fn in (
        ("dt", dt),
        ("exact", exact),
        ("duration", duration),
        ("clock", clock),
        ("size", size),
        ("number", number),
        ("yesno", yesno),
        ("tr", tr),
        ("language_name", language_name),
    ):
        app.jinja_env.filters[name] = fn
