"""The periodic tick: reap stranded files, then queue the scans that are due (polling
monitors and per-folder cron schedules). Schedules live in the database, so a Redis flush
or a restart loses none of them."""
import logging
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from croniter import croniter
from flask import current_app

from ..extensions import db
from ..models import ExternalFolder
from ..models.types import utcnow
from ..notifications import watch as notify_watch
from ..providers.monitors import MONITORS
from ..services import backup
from . import announce, enqueue, reaper, settings

log = logging.getLogger(__name__)


def tick():
    reaper.reap()
    notify_watch.tick()
    backup.tick()  # the daily backup, when one is configured and due
    try:
        announce.drain_event_queues()  # S3 → SQS announcements of cloud-events folders
    except Exception:  # one unreachable queue must not stop the tick; the periodic scan still runs
        log.warning("reading the storage event queues failed", exc_info=True)
    return queue_due_scans()


def queue_due_scans(now=None):
    """Queue every scan that is due; returns [(folder id, trigger)]."""
    now = now or utcnow()
    processing = settings.load().processing
    queued = []
    for folder in db.session.scalars(sa.select(ExternalFolder).where(ExternalFolder.enabled)):
        trigger = _due(folder, now, processing)
        if trigger:
            enqueue.scan(folder.id, trigger)
            queued.append((folder.id, trigger))
    db.session.commit()
    return queued


def _due(folder, now, processing):
    if not processing.backgroundProcessing:
        return None
    if folder.cron_schedule and cron_is_due(folder.cron_schedule, folder.last_cron_at or folder.created_at, now):
        folder.last_cron_at = now
        return "schedule"
    monitor = MONITORS.get(folder.monitor_type)
    if processing.autoStart and monitor and monitor.is_due(folder, now):
        folder.last_polled_at = now
        return "monitor"
    return None


def cron_is_due(expression, since, now):
    """Cron times are read in the configured TIMEZONE (02:00 means 02:00 local time)."""
    local = since.astimezone(ZoneInfo(current_app.config["TIMEZONE"]))
    return croniter(expression, local).get_next(datetime) <= now


def validate_cron(expression):
    if expression and not croniter.is_valid(expression):
        return [f"'{expression}' is not a cron schedule (for example '0 2 * * *' for 02:00 every night)."]
    return []


def event_folders():
    """(id, path) of the local folders watched for file events."""
    folders = db.session.scalars(
        sa.select(ExternalFolder).where(ExternalFolder.enabled, ExternalFolder.monitor_type == "events",
                                        ExternalFolder.storage_type == "local")
    )
    return [(f.id, f.storage_config.get("path", "")) for f in folders]
