"""Conditions nobody's status change announces, checked on the scheduler's periodic tick:
a folder that cannot be listed, and processing that stopped while files wait. Each fires
once when it starts (a Redis flag per folder / config) and re-arms when it ends. The tick
also sends the digests whose cooldown window has closed."""

import logging

import sqlalchemy as sa

from .. import queues
from ..batch import batch_config
from ..batch.status import COMPLETED, FAILED, QUEUED, RETRYING, SKIPPED
from ..extensions import db
from ..models import ExternalFolder, FileProcessingRecord, NotificationConfig
from ..models.types import utcnow
from . import conditions as c
from .dispatch import flush_digests
from .events import emit

log = logging.getLogger(__name__)

ACTIVITY = (COMPLETED, FAILED, SKIPPED, RETRYING)  # a file left the queue's head


def tick(now=None):
    """One pass; never raises, so notifications can never break the scheduler."""
    try:
        now = now or utcnow()
        emit(folder_events() + stall_events(now))
        flush_digests(now)
    except Exception:
        db.session.rollback()
        log.exception("notification checks failed; the next tick tries again")


def folder_events():
    redis = queues.connection()
    events, recovered = [], []
    rows = db.session.execute(
        sa.select(
            ExternalFolder.id, ExternalFolder.name, ExternalFolder.connection_status, ExternalFolder.last_error
        ).where(ExternalFolder.enabled)
    ).all()
    for folder_id, name, status, last_error in rows:
        key = queues.redis_key("notify", "folder-down", folder_id)
        if status != "error":
            recovered.append(key)
        elif redis.set(key, "1", nx=True):
            events.append(
                {
                    "condition": c.FOLDER_UNREACHABLE,
                    "folder_id": folder_id,
                    "folder_name": name,
                    "message": last_error or "",
                    "at": utcnow().isoformat(),
                }
            )
    if recovered:
        redis.delete(*recovered)
    return events


def stall_events(now):
    configs = db.session.scalars(sa.select(NotificationConfig).where(NotificationConfig.enabled)).all()
    configs = [config for config in configs if c.PROCESSING_STALLED in (config.conditions or [])]
    if not configs:
        return []
    redis = queues.connection()
    keys = {config.id: queues.redis_key("notify", "stalled", config.id) for config in configs}
    since, waiting = _stalled_since()
    if since is None or batch_config.load().processing.paused:
        redis.delete(*keys.values())
        return []
    minutes = int((now - since).total_seconds() // 60)
    events = []
    for config in configs:
        if minutes < config.stall_minutes:
            redis.delete(keys[config.id])
        elif redis.set(keys[config.id], since.isoformat(), nx=True):
            events.append(
                {
                    "condition": c.PROCESSING_STALLED,
                    "config_id": config.id,
                    "minutes": minutes,
                    "waiting": waiting,
                    "since": f"{since:%Y-%m-%d %H:%M} UTC",
                    "at": now.isoformat(),
                }
            )
    return events


def _stalled_since():
    """(since when nothing has moved although files are queued, how many wait), or (None, 0)."""
    FPR = FileProcessingRecord
    oldest_queued, waiting = db.session.execute(
        sa.select(sa.func.min(FPR.updated_at), sa.func.count()).where(FPR.status == QUEUED)
    ).one()
    if not waiting:
        return None, 0
    last_moved = db.session.scalar(sa.select(sa.func.max(FPR.updated_at)).where(FPR.status.in_(ACTIVITY)))
    return max(oldest_queued, last_moved or oldest_queued), waiting
