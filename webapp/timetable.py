"""When things happen in a folder's day, read in the configured TIMEZONE: the run times of a
cron expression, processing windows, and whether files found now are processed at once or
wait (and until when).

A folder's processing choice (`process_mode`):
- immediate: found files are queued at once (unless Settings → immediate processing is off,
  which holds them until someone starts the job);
- hold: found files wait until someone starts their job;
- window: found files are queued inside the window `window_start`–`window_end` (e.g.
  20:00–06:00, across midnight) and wait outside it; workers take no file of the folder
  outside it (files already processing finish); waiting files start when it opens;
- cron: found files wait for the next time of `process_cron` (e.g. `0 22 * * *`).

Cron times are wall-clock times: a time skipped by a daylight-saving change runs when the
clock jumps past it, and a time that occurs twice (the clock going back) runs once.
"""

import re
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from croniter import croniter
from flask import current_app
from flask_babel import lazy_gettext as _l

IMMEDIATE, HOLD, WINDOW, CRON = "immediate", "hold", "window", "cron"
PROCESS_MODES = {
    IMMEDIATE: _l("At once"),
    HOLD: _l("Held until someone starts them"),
    WINDOW: _l("In a processing window"),
    CRON: _l("At a cron time"),
}
CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def zone():
    return ZoneInfo(current_app.config["TIMEZONE"])


# -- cron ------------------------------------------------------------------------------------


def next_run(expression, since, tz=None):
    """The first time of `expression` strictly after `since` (an aware datetime)."""
    tz = tz or zone()
    runs = croniter(expression, since.astimezone(tz).replace(tzinfo=None))
    while True:
        moment = _on_the_clock(runs.get_next(datetime), tz)
        if moment > since:
            return moment


def next_runs(expression, now, count=3, tz=None):
    runs, since = [], now
    for _ in range(count):
        since = next_run(expression, since, tz)
        runs.append(since)
    return runs


def cron_is_due(expression, since, now, tz=None):
    """Whether a time of `expression` fell after `since` and by `now`: however many were
    missed (the scheduler was down), the answer is one run."""
    return next_run(expression, since, tz) <= now


def _on_the_clock(wall, tz):
    """The instant a wall-clock time names in `tz`: the first of two (the clock went back),
    or the moment the clock jumped past it (a time skipped going forward)."""
    moment = wall.replace(tzinfo=tz)
    while moment.astimezone(timezone.utc).astimezone(tz).replace(tzinfo=None) != wall:
        wall += timedelta(minutes=1)  # in a gap: walk to its end
        moment = wall.replace(tzinfo=tz)
    return moment.astimezone(timezone.utc)


# -- processing windows ----------------------------------------------------------------------


def parse_clock(text):
    match = CLOCK.match(str(text or "").strip())
    return time(int(match[1]), int(match[2])) if match else None


def in_window(start, end, now, tz=None):
    """Whether `now` falls in the daily window start–end ("HH:MM"; end before start spans
    midnight). The start is inside, the end is not."""
    start, end = parse_clock(start), parse_clock(end)
    clock = now.astimezone(tz or zone()).time().replace(second=0, microsecond=0)
    if start <= end:
        return start <= clock < end
    return clock >= start or clock < end


def window_opens(start, now, tz=None):
    """The next moment the window starting at `start` opens, after `now`."""
    tz = tz or zone()
    clock = parse_clock(start)
    day = now.astimezone(tz).date()
    for offset in range(3):
        moment = _on_the_clock(datetime.combine(day + timedelta(days=offset), clock), tz)
        if moment > now:
            return moment


def window_closed(end, now, tz=None):
    """The last moment, by `now`, the window ending at `end` closed."""
    tz = tz or zone()
    clock = parse_clock(end)
    day = now.astimezone(tz).date()
    for offset in range(3):
        moment = _on_the_clock(datetime.combine(day - timedelta(days=offset), clock), tz)
        if moment <= now:
            return moment


# -- a folder's processing choice ------------------------------------------------------------


def waits(folder, processing, now):
    """Whether files of `folder` found at `now` wait instead of being queued at once."""
    mode = folder.process_mode or IMMEDIATE
    if mode == IMMEDIATE:
        return not processing.immediateProcessing
    if mode == WINDOW:
        return not in_window(folder.window_start, folder.window_end, now)
    return True  # hold, cron


def starts_at(folder, now):
    """When the waiting files of `folder` start by themselves (None: when someone starts them)."""
    if folder.process_mode == WINDOW:
        if in_window(folder.window_start, folder.window_end, now):
            return now
        return window_opens(folder.window_start, now)
    if folder.process_mode == CRON:
        return next_run(folder.process_cron, now)
    return None


def validate(mode, window_start, window_end, process_cron):
    """[(field, message)] for a processing choice."""
    if mode not in PROCESS_MODES:
        return [("process_mode", f"Processing must be one of: {', '.join(PROCESS_MODES)}.")]
    errors = []
    if mode == WINDOW:
        for field, value in (("window_start", window_start), ("window_end", window_end)):
            if parse_clock(value) is None:
                errors.append((field, "Give the processing window's start and end as HH:MM, e.g. 20:00 and 06:00."))
        if not errors and parse_clock(window_start) == parse_clock(window_end):
            errors.append(("window_end", "The processing window must end at another time than it starts."))
    elif window_start or window_end:
        errors.append(
            (
                "window_start",
                "A processing window applies only when processing is 'in a processing "
                "window'; clear it or choose that option.",
            )
        )
    if mode == CRON:
        if not process_cron or not croniter.is_valid(process_cron):
            errors.append(
                (
                    "process_cron",
                    f"'{process_cron or ''}' is not a cron time (for example '0 22 * * *' for 22:00 every day).",
                )
            )
    elif process_cron:
        errors.append(
            (
                "process_cron",
                "A processing time applies only when processing is 'at a cron time'; clear it or choose that option.",
            )
        )
    return errors
