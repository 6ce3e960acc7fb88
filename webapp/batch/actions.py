"""What a person (or an integration) can do to files and jobs: retry, start, cancel."""
import sqlalchemy as sa

from ..extensions import db
from ..models import FileProcessingRecord
from ..models import job as job_status
from ..models.types import utcnow
from . import enqueue
from .status import CANCELLED, DISCOVERED, FAILED, QUEUED, RETRYING, SKIPPED, transition

RETRYABLE = (FAILED, SKIPPED, CANCELLED)


def retry_files(records, actor):
    """Queue failed, skipped or cancelled files again with a fresh retry budget.
    Returns how many were queued."""
    pairs = []
    for record in records:
        if record.status not in RETRYABLE:
            continue
        job_id = enqueue.new_job_id()
        transition(record, QUEUED, f"Retried by {actor}", {"previous_error": record.error_code},
                   retry_count=0, rq_job_id=job_id, error_code=None, error_category=None,
                   error_message=None, next_retry_at=None, finished_at=None)
        pairs.append((record.id, job_id))
    db.session.commit()
    enqueue.files(pairs)
    return len(pairs)


def retry_failed_in_job(job, actor):
    FPR = FileProcessingRecord
    records = db.session.scalars(sa.select(FPR).where(FPR.job_id == job.id, FPR.status == FAILED)).all()
    return retry_files(records, actor)


def cancel_job(job, actor):
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
