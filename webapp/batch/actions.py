"""What a person (or an integration) can do to files and jobs: retry, start, cancel."""

from collections.abc import Iterable

import sqlalchemy as sa

from ..extensions import db
from ..models import BatchJob, FileProcessingRecord
from ..models import job as job_status
from ..models.types import utcnow
from . import enqueue
from .status import CANCELLED, COMPLETED, DISCOVERED, FAILED, QUEUED, RETRYING, SKIPPED, transition

RETRYABLE = (FAILED, SKIPPED, CANCELLED)


def retry_files(records: Iterable[FileProcessingRecord], actor: str) -> int:
    """Queue failed, skipped or cancelled files again with a fresh retry budget.
    Returns how many were queued."""
    pairs = []
    for record in records:
        if record.status not in RETRYABLE:
            continue
        job_id = enqueue.new_job_id()
        transition(
            record,
            QUEUED,
            f"Retried by {actor}",
            {"previous_error": record.error_code},
            retry_count=0,
            rq_job_id=job_id,
            error_code=None,
            error_category=None,
            error_message=None,
            next_retry_at=None,
            finished_at=None,
        )
        pairs.append((record.id, job_id))
    db.session.commit()
    enqueue.files(pairs)
    return len(pairs)


def retry_failed_in_job(job: BatchJob, actor: str) -> int:
    FPR = FileProcessingRecord
    records = db.session.scalars(sa.select(FPR).where(FPR.job_id == job.id, FPR.status == FAILED)).all()
    return retry_files(records, actor)


def cancel_job(job: BatchJob, actor: str) -> int:
    """Cancel every file of the job that has not started; files being processed finish."""
    FPR = FileProcessingRecord
    if job.status in job_status.ACTIVE_STATUSES:
        job.status, job.completed_at = job_status.CANCELLED, utcnow()
        db.session.flush()
    waiting = db.session.scalars(
        sa.select(FPR).where(FPR.job_id == job.id, FPR.status.in_((DISCOVERED, QUEUED, RETRYING)))
    ).all()
    for record in waiting:
        transition(record, CANCELLED, f"Cancelled by {actor}", finished_at=utcnow())
    db.session.commit()
    return len(waiting)


def rollback_job(job: BatchJob, actor: str, requeue: bool = True) -> tuple[int, int]:
    """Undo a job's results: delete the sales calls its files created (customers' figures
    recomputed) and re-open its completed files. With `requeue` they are queued and processed
    again under the current settings; without, they wait as cancelled until someone retries
    them. Files still in progress are left alone. Returns (calls removed, files re-opened)."""
    FPR = FileProcessingRecord
    records = db.session.scalars(
        sa.select(FPR).where(FPR.job_id == job.id, FPR.status == COMPLETED).order_by(FPR.id)
    ).all()
    removed = _delete_calls(job, [r.id for r in records])
    pairs = []
    for record in records:
        job_id = enqueue.new_job_id()
        transition(
            record,
            QUEUED,
            f"Re-opened by {actor}: rollback of job #{job.id}",
            {"rollback_of_job": job.id},
            rq_job_id=job_id,
            finished_at=None,
            content_sha256=None,
        )
        if requeue:
            pairs.append((record.id, job_id))
        else:
            transition(record, CANCELLED, "Waiting for a retry after the rollback", finished_at=utcnow())
    db.session.commit()
    if pairs:
        enqueue.files(pairs)
    return removed, len(records)


def _delete_calls(job, file_ids):
    """Delete the sales calls of the job or of these files, and recompute the figures of
    their customers. Returns how many were deleted."""
    from ..analysis import customers
    from ..models import Customer, SalesCall

    calls = db.session.scalars(
        sa.select(SalesCall).where(
            sa.or_(SalesCall.job_id == job.id, SalesCall.file_id.in_(file_ids) if file_ids else sa.false())
        )
    ).all()
    customer_ids = {c.customer_id for c in calls if c.customer_id}
    for call in calls:
        db.session.delete(call)
    db.session.flush()
    for customer_id in sorted(customer_ids):
        customer = db.session.get(Customer, customer_id, with_for_update=True, populate_existing=True)
        if customer is not None:
            customers.refresh(customer)
    return len(calls)


def set_paused(paused: bool, actor: str) -> int:
    """Pause (workers take no new files) or resume processing. Resuming queues again every
    file left waiting while paused. Returns how many files were re-queued."""
    from . import batch_config

    config = batch_config.load()
    config.processing.paused = bool(paused)
    batch_config.save(config)
    if paused:
        return 0
    FPR = FileProcessingRecord
    waiting = db.session.scalars(sa.select(FPR).where(FPR.status == QUEUED)).all()
    pairs = [(record.id, enqueue.new_job_id()) for record in waiting]
    for record_id, job_id in pairs:
        db.session.execute(sa.update(FPR).where(FPR.id == record_id, FPR.status == QUEUED).values(rq_job_id=job_id))
    db.session.commit()
    enqueue.files(pairs)
    return len(pairs)
