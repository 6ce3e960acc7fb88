"""Nothing is ever stranded: files whose worker died go back through the retry policy, and
waiting files whose RQ job vanished (Redis lost or flushed) are queued again."""
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from ..errors import CallbatchError
from ..extensions import db
from ..models import FileProcessingRecord
from ..models.types import utcnow
from . import enqueue, settings
from .processing import fail
from .status import PROCESSING, QUEUED, RETRYING

GRACE_SECONDS = 5  # a file queued this recently may not have reached Redis yet


def reap():
    """One pass. Returns (stale files failed over, lost jobs re-queued)."""
    config = settings.load()
    return _reclaim_stale(config), (0 if config.processing.paused else _requeue_lost())


def _reclaim_stale(config):
    FPR = FileProcessingRecord
    cutoff = utcnow() - timedelta(seconds=current_app.config["STALE_AFTER_SECONDS"])
    stale = db.session.scalars(sa.select(FPR).where(FPR.status == PROCESSING, FPR.heartbeat_at < cutoff)).all()
    for record in stale:
        lost = CallbatchError(
            f"No sign of life from {record.worker_name or 'its worker'} since "
            f"{record.heartbeat_at:%H:%M:%S} UTC; the worker was stopped or lost its connection.",
            code="WORKER_LOST",
        )
        fail(record, lost, config.retryPolicy)
    return len(stale)


def _requeue_lost():
    FPR = FileProcessingRecord
    now = utcnow()
    waiting = db.session.execute(
        sa.select(FPR.id, FPR.rq_job_id).where(
            sa.or_(
                sa.and_(FPR.status == QUEUED, FPR.updated_at < now - timedelta(seconds=GRACE_SECONDS)),
                sa.and_(FPR.status == RETRYING, FPR.next_retry_at < now - timedelta(seconds=GRACE_SECONDS)),
            )
        )
    ).all()
    live = set()
    for chunk in _chunks(waiting, 1000):
        live |= enqueue.live_job_ids([job_id for _, job_id in chunk])
    lost = [(record_id, enqueue.new_job_id()) for record_id, job_id in waiting if job_id not in live]
    for record_id, job_id in lost:
        db.session.execute(sa.update(FPR).where(FPR.id == record_id).values(rq_job_id=job_id))
    db.session.commit()
    enqueue.files(lost)
    return len(lost)


def _chunks(items, size):
    for i in range(0, len(items), size):
        yield items[i:i + size]
