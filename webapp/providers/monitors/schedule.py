"""Scan a folder only at the times of its cron schedule (`cron_schedule`, in TIMEZONE),
e.g. `0 2 * * *` for 02:00 every night: no polling in between."""

from croniter import croniter
from flask_babel import lazy_gettext as _l

from ... import timetable


class ScheduleMonitor:
    type = "schedule"
    label = _l("Only on a schedule (cron times)")
    stamp = "last_cron_at"
    trigger = "schedule"
    needs_auto_start = False  # an explicit schedule runs whenever background processing is on

    @classmethod
    def validate_config(cls, folder_config):
        expression = (folder_config.get("cron_schedule") or "").strip()
        if not expression or not croniter.is_valid(expression):
            return [f"'{expression}' is not a cron schedule (for example '0 2 * * *' for 02:00 every night)."]
        return []

    @staticmethod
    def is_due(folder, now):
        return timetable.cron_is_due(folder.cron_schedule, folder.last_cron_at or folder.created_at, now)
