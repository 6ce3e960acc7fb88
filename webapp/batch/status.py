"""The file status machine. Every status change goes through `transition` (or `claim`),
which writes a FileEvent and moves the job's counters in the same transaction."""

from typing import Any

import sqlalchemy as sa

from .. import metrics, redaction
from ..extensions import commit_without_waiting_for_disk, db
from ..models import BatchJob, FileEvent, FileProcessingRecord
from ..models import job as job_status
from ..models.types import utcnow
from . import faults, signals

DISCOVERED = "discovered"
QUEUED = "queued"
PROCESSING = "processing"
COMPLETED = "completed"
FAILED = "failed"
RETRYING = "retrying"
SKIPPED = "skipped"
CANCELLED = "cancelled"

STATUSES = (DISCOVERED, QUEUED, PROCESSING, COMPLETED, FAILED, RETRYING, SKIPPED, CANCELLED)
TERMINAL = (COMPLETED, FAILED, SKIPPED, CANCELLED)
CLAIMABLE = (QUEUED, RETRYING)

ALLOWED = {
    DISCOVERED: {QUEUED, SKIPPED, CANCELLED},
    QUEUED: {PROCESSING, CANCELLED, DISCOVERED},  # back to waiting: a processing window closed
    PROCESSING: {COMPLETED, FAILED, SKIPPED, QUEUED},  # back to the queue: its worker is stopping
    FAILED: {RETRYING, QUEUED},  # automatic retry, or a person's retry
    RETRYING: {PROCESSING, QUEUED, CANCELLED},
    SKIPPED: {QUEUED},  # a person's retry after fixing the file
    CANCELLED: {QUEUED},
    COMPLETED: {QUEUED},  # a job's rollback re-opens its files
}

# The job counter that holds the records currently in a status.
COUNTER = {
    COMPLETED: "processed_files",
    FAILED: "failed_files",
    SKIPPED: "skipped_files",
    CANCELLED: "cancelled_files",
}


class InvalidTransition(Exception):
    pass


def transition(
    record: FileProcessingRecord, to: str, message: str = "", details: dict[str, Any] | None = None, **fields: Any
) -> None:
    """Move `record` to status `to`; the caller commits. Texts are stored without secrets."""
    frm = record.status
    if to not in ALLOWED.get(frm, ()):
        raise InvalidTransition(f"file {record.id}: {frm} → {to} is not allowed")
    message, details = redaction.redact(message), redaction.redact(details)
    if fields.get("error_message"):
        fields["error_message"] = redaction.redact(fields["error_message"])
    record.status = to
    for name, value in fields.items():
        setattr(record, name, value)
    db.session.add(FileEvent(file_id=record.id, from_status=frm, to_status=to, message=message, details=details))
    move_counters(record.job_id, frm, to)
    signals.status_changed.send(record, frm=frm, to=to, details=details)
    if to == FAILED:
        metrics.file_failed(record)
    elif to == RETRYING:
        metrics.retry_scheduled(record)


def move_counters(job_id: int | None, frm: str, to: str) -> None:
    """Move the job's counters for one file going from `frm` to `to`, and finish or re-open
    the job when that changes its state. One UPDATE, unless the job's state changes too."""
    changes = {}
    if COUNTER.get(frm):
        changes[COUNTER[frm]] = getattr(BatchJob, COUNTER[frm]) - 1
    if COUNTER.get(to):
        changes[COUNTER[to]] = getattr(BatchJob, COUNTER[to]) + 1
    if not job_id or not changes:
        return
    job = db.session.execute(
        sa.update(BatchJob)
        .where(BatchJob.id == job_id)
        .values(**changes)
        .returning(BatchJob)
        .execution_options(synchronize_session=False, populate_existing=True)
    ).scalar()
    if job is None:
        return
    if to in TERMINAL and job.status == job_status.RUNNING and job.finished_files >= job.total_files:
        job = finish_job_if_done(job_id) or job
    elif frm in TERMINAL:
        job = reopen_job(job_id) or job
    signals.job_counted.send(job)


def finish_job_if_done(job_id: int) -> BatchJob | None:
    """Mark the job finished if every file is; returns the job when this call finished it."""
    finished = (
        BatchJob.processed_files + BatchJob.failed_files + BatchJob.skipped_files + BatchJob.cancelled_files
    ) >= BatchJob.total_files
    job = db.session.execute(
        sa.update(BatchJob)
        .where(BatchJob.id == job_id, BatchJob.status == job_status.RUNNING, finished)
        .values(
            status=sa.case((BatchJob.failed_files > 0, job_status.COMPLETED_WITH_ERRORS), else_=job_status.COMPLETED),
            completed_at=utcnow(),
        )
        .returning(BatchJob)
        .execution_options(synchronize_session=False, populate_existing=True)
    ).scalar()
    if job is not None:
        signals.job_finished.send(job_id)
    return job


def reopen_job(job_id: int) -> BatchJob | None:
    """Mark a finished job running again; returns the job when this call re-opened it."""
    return db.session.execute(
        sa.update(BatchJob)
        .where(
            BatchJob.id == job_id,
            BatchJob.status.in_((job_status.COMPLETED, job_status.COMPLETED_WITH_ERRORS, job_status.CANCELLED)),
        )
        .values(status=job_status.RUNNING, completed_at=None)
        .returning(BatchJob)
        .execution_options(synchronize_session=False, populate_existing=True)
    ).scalar()


def claim(record_id: int, worker_name: str, rq_job_id: str | None) -> FileProcessingRecord | None:
    """Take a record for processing with one conditional UPDATE; None if someone else has it
    (or it is no longer waiting). Commits."""
    record = db.session.get(FileProcessingRecord, record_id, populate_existing=True)
    if (
        record is not None
        and record.status == PROCESSING
        and (record.worker_name, record.rq_job_id) == (worker_name, rq_job_id)
    ):
        return record  # claimed by this very job: the answer to its commit was lost, and it is asked again
    if record is None or record.status not in CLAIMABLE:
        db.session.rollback()
        return None
    seen = record.status
    record = _mark_processing(record_id, seen, worker_name, rq_job_id)
    if record is None:
        db.session.rollback()
        return None
    db.session.add(
        FileEvent(file_id=record_id, from_status=seen, to_status=PROCESSING, message=f"Picked up by {worker_name}")
    )
    signals.status_changed.send(record, frm=seen, to=PROCESSING, details=None)
    faults.pause_at("claim")
    commit_keeping_loaded()
    return record


def _mark_processing(record_id, seen, worker_name, rq_job_id):
    """The conditional UPDATE of a claim: the record, now processing, if it still had the
    status `seen`; else None."""
    now = utcnow()
    commit_without_waiting_for_disk(db.session)  # a claim lost in a crash is redone
    FPR = FileProcessingRecord
    return db.session.execute(
        sa.update(FPR)
        .where(FPR.id == record_id, FPR.status == seen)
        .values(
            status=PROCESSING,
            attempts=FPR.attempts + 1,
            heartbeat_at=now,
            started_at=now,
            finished_at=None,
            worker_name=worker_name,
            rq_job_id=rq_job_id,
            next_retry_at=None,
            updated_at=now,
        )
        .returning(FPR)
        .execution_options(synchronize_session=False, populate_existing=True)
    ).scalar()


def commit_keeping_loaded() -> None:
    """Commit without expiring what the session holds. For a commit whose rows were just read
    back (UPDATE … RETURNING): reading them again would be a wasted round trip."""
    session = db.session()
    expire, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire
