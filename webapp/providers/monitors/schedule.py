"""Scan a folder only at the times of its cron schedule (`cron_schedule`, in TIMEZONE),
e.g. `0 2 * * *` for 02:00 every night: no polling in between."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from croniter import croniter
from flask_babel import lazy_gettext as _l

from ... import timetable

if TYPE_CHECKING:
    from ...models import ExternalFolder


class ScheduleMonitor:
    type = "schedule"
    label = _l("Only on a schedule (cron times)")
    stamp = "last_cron_at"
    trigger = "schedule"
    needs_auto_start = False  # an explicit schedule runs whenever background processing is on

    @classmethod
    def validate_config(cls, folder_config: dict[str, Any]) -> list[str]:
        expression = (folder_config.get("cron_schedule") or "").strip()
        if not expression or not croniter.is_valid(expression):
            return [f"'{expression}' is not a cron schedule (for example '0 2 * * *' for 02:00 every night)."]
        return []

    @staticmethod
    def is_due(folder: ExternalFolder, now: datetime) -> bool:
        return timetable.cron_is_due(folder.cron_schedule, folder.last_cron_at or folder.created_at, now)
