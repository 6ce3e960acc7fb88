"""Nothing is ever stranded: files whose worker died go back through the retry policy, and
waiting files whose RQ job is not live (lost with Redis, or taken by a worker that died
before claiming the record) are queued again. The database and the workers' heartbeats
decide; an RQ registry entry alone proves nothing."""

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from ..errors import CallbatchError
from ..extensions import db
from ..models import FileProcessingRecord
from ..models.types import utcnow
from . import batch_config, enqueue
from .processing import fail
from .status import PROCESSING, QUEUED, RETRYING

GRACE_SECONDS = 5  # a file queued this recently may not have reached Redis yet


def reap() -> tuple[int, int]:
    """One pass. Returns (stale files failed over, lost jobs re-queued)."""
    config = batch_config.load()
    return _reclaim_stale(config), (0 if config.processing.paused else _requeue_lost())


def _reclaim_stale(config):
    """Send every file whose worker stopped beating through the retry policy. Each one is
    first taken with a conditional UPDATE, so that of two reapers (ticks on two workers)
    only one fails it, and a record locked by a worker committing its result right now is
    left to that worker."""
    FPR = FileProcessingRecord
    cutoff = utcnow() - timedelta(seconds=current_app.config["STALE_AFTER_SECONDS"])
    stale = db.session.execute(
        sa.select(FPR.id, FPR.worker_name, FPR.heartbeat_at).where(FPR.status == PROCESSING, FPR.heartbeat_at < cutoff)
    ).all()
    reclaimed = 0
    for record_id, worker_name, heartbeat_at in stale:
        unlocked = sa.select(FPR.id).where(FPR.id == record_id).with_for_update(skip_locked=True)
        taken = db.session.execute(
            sa.update(FPR)
            .where(FPR.id.in_(unlocked), FPR.status == PROCESSING, FPR.heartbeat_at == heartbeat_at)
            .values(heartbeat_at=utcnow())
            .returning(FPR.id)
        ).scalar()
        db.session.commit()
        if not taken:
            continue
        lost = CallbatchError(
            f"No sign of life from {worker_name or 'its worker'} since "
            f"{heartbeat_at:%H:%M:%S} UTC; the worker was stopped or lost its connection.",
            code="WORKER_LOST",
        )
        fail(db.session.get(FileProcessingRecord, record_id), lost, config.retryPolicy)
        reclaimed += 1
    return reclaimed


def _requeue_lost():
    """Queue again every due waiting file whose job is not live (see enqueue.live_job_ids).
    The new job id is set only if the record still waits under the old one, so a file a
    worker has just claimed is left alone; a late copy of a job is harmless anyway, as the
    claim is a conditional UPDATE."""
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
    live = enqueue.live_job_ids([job_id for _, job_id in waiting])
    lost = []
    for record_id, old_job_id in waiting:
        if old_job_id in live:
            continue
        job_id = enqueue.new_job_id()
        moved = db.session.execute(
            sa.update(FPR)
            .where(
                FPR.id == record_id, FPR.status.in_((QUEUED, RETRYING)), FPR.rq_job_id == old_job_id
            )  # IS NULL when there was none
            .values(rq_job_id=job_id)
            .returning(FPR.id)
        ).scalar()
        if moved:
            lost.append((record_id, job_id))
    db.session.commit()
    enqueue.files(lost)
    return len(lost)
