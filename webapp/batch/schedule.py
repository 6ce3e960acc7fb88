"""The periodic tick: reap stranded files, queue the scans that are due (each folder's
monitor: polling interval, or cron times for "only on a schedule") and start the waiting
files whose processing window opened or whose processing time came. Schedules live in the
database, so a Redis flush or a restart loses none of them.

Every function takes the moment to act for as `now` (tests drive the clock). Each run of a
schedule is claimed with a conditional UPDATE of its stamp (last_polled_at, last_cron_at,
last_released_at): when two schedulers run by mistake, only one of them queues it. A run
missed while no scheduler ran (down at 02:00) happens once when one is back."""

import logging
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from croniter import croniter

from .. import timetable
from ..extensions import db
from ..models import ExternalFolder, FileProcessingRecord
from ..models.types import utcnow
from ..providers.monitors import MONITORS
from . import announce, batch_config, discovery, enqueue, reaper
from .status import DISCOVERED

log = logging.getLogger(__name__)

# What the layers above do on every tick, after the reaper, in the order added: the app
# factory adds the notification checks and the daily backup. Each is called with the tick's time.
DUTIES = []


def every_tick(duty: Callable[[datetime], object]) -> Callable[[datetime], object]:
    """Run `duty(now)` on every tick; adding the same duty again changes nothing."""
    if duty not in DUTIES:
        DUTIES.append(duty)
    return duty


def tick(now: datetime | None = None) -> list[tuple[int, str]]:
    now = now or utcnow()
    reaper.reap()
    for duty in DUTIES:
        duty(now)
    try:
        announce.drain_event_queues()  # S3 → SQS announcements of cloud-events folders
    except Exception:  # one unreachable queue must not stop the tick; the periodic scan still runs
        log.warning("reading the storage event queues failed", exc_info=True)
    release_waiting(now)
    return queue_due_scans(now)


def queue_due_scans(now: datetime | None = None) -> list[tuple[int, str]]:
    """Queue every scan that is due; returns [(folder id, trigger)]."""
    now = now or utcnow()
    processing = batch_config.load().processing
    queued = []
    for folder in _folders(ExternalFolder.enabled):
        monitor = MONITORS.get(folder.monitor_type)
        if _due(folder, monitor, now, processing) and _take_turn(folder, monitor.stamp, now):
            enqueue.scan(folder.id, monitor.trigger)
            queued.append((folder.id, monitor.trigger))
    db.session.commit()
    return queued


def _due(folder, monitor, now, processing):
    if monitor is None or not processing.backgroundProcessing:
        return False
    if monitor.needs_auto_start and not processing.autoStart:
        return False
    return monitor.is_due(folder, now)


def _take_turn(folder, stamp, now):
    """Move the folder's stamp from what this scheduler read to `now`; False when another
    scheduler moved it first (its UPDATE waits for ours, then matches nothing)."""
    column = getattr(ExternalFolder, stamp)
    seen = getattr(folder, stamp)
    result = db.session.execute(
        sa.update(ExternalFolder)
        .where(ExternalFolder.id == folder.id, column.is_(None) if seen is None else column == seen)
        .values({stamp: now})
        .execution_options(synchronize_session=False)
    )
    db.session.commit()  # the turn is taken before the work goes on the queue
    return result.rowcount == 1


def release_waiting(now: datetime | None = None) -> list[tuple[int, int]]:
    """Queue the waiting files of folders whose window is open or whose processing time has
    come. Returns [(folder id, files queued)]."""
    now = now or utcnow()
    released = []
    for folder in _folders(ExternalFolder.enabled, ExternalFolder.process_mode.in_((timetable.WINDOW, timetable.CRON))):
        if folder.process_mode == timetable.WINDOW:
            if not timetable.in_window(folder.window_start, folder.window_end, now) or not _waiting(folder):
                continue
            message = f"Queued: the processing window {folder.window_start}–{folder.window_end} opened"
        else:
            since = folder.last_released_at or folder.created_at
            if not timetable.cron_is_due(folder.process_cron, since, now):
                continue
            if not _take_turn(folder, "last_released_at", now):
                continue
            message = f"Queued at the processing time {folder.process_cron}"
        count = discovery.queue_waiting(FileProcessingRecord.folder_id == folder.id, message)
        if count:
            released.append((folder.id, count))
    db.session.commit()
    return released


def _waiting(folder):
    FPR = FileProcessingRecord
    return (
        db.session.scalar(sa.select(FPR.id).where(FPR.folder_id == folder.id, FPR.status == DISCOVERED).limit(1))
        is not None
    )


def _folders(*conditions):
    return db.session.scalars(sa.select(ExternalFolder).where(*conditions).order_by(ExternalFolder.id)).all()


def validate_cron(expression: str | None) -> list[str]:
    if expression and not croniter.is_valid(expression):
        return [f"'{expression}' is not a cron schedule (for example '0 2 * * *' for 02:00 every night)."]
    return []


def event_folders() -> list[tuple[int, str]]:
    """(id, path) of the local folders watched for file events."""
    folders = _folders(
        ExternalFolder.enabled, ExternalFolder.monitor_type == "events", ExternalFolder.storage_type == "local"
    )
    return [(f.id, f.storage_config.get("path", "")) for f in folders]


def note_watch_fallbacks(warnings: dict[int, str]) -> None:
    """Keep on each file-events folder why it is polled instead (None once it is watched)."""
    for folder in _folders(ExternalFolder.monitor_type == "events", ExternalFolder.storage_type == "local"):
        warning = warnings.get(folder.id)
        if folder.monitor_warning != warning:
            if warning:
                log.warning("folder %s: %s", folder.id, warning)
            folder.monitor_warning = warning
    db.session.commit()
