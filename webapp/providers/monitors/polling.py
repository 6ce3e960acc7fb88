"""Scan a folder every `scanInterval` seconds (30–3600)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l

if TYPE_CHECKING:
    from ...models import ExternalFolder

MIN_INTERVAL, MAX_INTERVAL = 30, 3600


class PollingMonitor:
    type = "polling"
    label = _l("Scan every few minutes")
    stamp = "last_polled_at"
    trigger = "monitor"
    needs_auto_start = True

    @classmethod
    def validate_config(cls, folder_config: dict[str, Any]) -> list[str]:
        interval = folder_config.get("scan_interval", 300)
        if not isinstance(interval, int) or not MIN_INTERVAL <= interval <= MAX_INTERVAL:
            return [f"Scan interval must be a whole number of seconds from {MIN_INTERVAL} to {MAX_INTERVAL}."]
        return []

    @staticmethod
    def is_due(folder: ExternalFolder, now: datetime) -> bool:
        last = folder.last_polled_at
        return last is None or now - last >= timedelta(seconds=folder.scan_interval)
