"""The file status machine. Every status change goes through `transition` (or `claim`),
which writes a FileEvent and moves the job's counters in the same transaction."""
import sqlalchemy as sa

from ..extensions import commit_without_waiting_for_disk, db
from ..models import BatchJob, FileEvent, FileProcessingRecord
from ..models import job as job_status
from ..models.types import utcnow
from ..notifications import events as notify
from ..services import live

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
    QUEUED: {PROCESSING, CANCELLED},
    PROCESSING: {COMPLETED, FAILED, SKIPPED},
    FAILED: {RETRYING, QUEUED},             # automatic retry, or a person's retry
    RETRYING: {PROCESSING, QUEUED, CANCELLED},
    SKIPPED: {QUEUED},                      # a person's retry after fixing the file
    CANCELLED: {QUEUED},
    COMPLETED: {QUEUED},                    # a job's rollback re-opens its files
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


def transition(record, to, message="", details=None, **fields):
    """Move `record` to status `to`; the caller commits."""
    frm = record.status
    if to not in ALLOWED.get(frm, ()):
        raise InvalidTransition(f"file {record.id}: {frm} → {to} is not allowed")
    record.status = to
    for name, value in fields.items():
        setattr(record, name, value)
    db.session.add(FileEvent(file_id=record.id, from_status=frm, to_status=to, message=message, details=details))
    move_counters(record.job_id, frm, to)
    notify.file_changed(record, to, details)
    live.file_changed(record, frm, to)


def move_counters(job_id, frm, to):
    changes = {}
    if COUNTER.get(frm):
        changes[COUNTER[frm]] = getattr(BatchJob, COUNTER[frm]) - 1
    if COUNTER.get(to):
        changes[COUNTER[to]] = getattr(BatchJob, COUNTER[to]) + 1
    if job_id and changes:
        db.session.execute(sa.update(BatchJob).where(BatchJob.id == job_id).values(**changes))
    if job_id and to in TERMINAL:
        finish_job_if_done(job_id)
    elif job_id and frm in TERMINAL:
        reopen_job(job_id)


def finish_job_if_done(job_id):
    finished = (
        BatchJob.processed_files + BatchJob.failed_files + BatchJob.skipped_files + BatchJob.cancelled_files
    )
    finished_now = db.session.execute(
        sa.update(BatchJob)
        .where(BatchJob.id == job_id, BatchJob.status == job_status.RUNNING, finished >= BatchJob.total_files)
        .values(
            status=sa.case(
                (BatchJob.failed_files > 0, job_status.COMPLETED_WITH_ERRORS), else_=job_status.COMPLETED
            ),
            completed_at=utcnow(),
        )
    )
    if finished_now.rowcount:
        notify.job_finished(job_id)


def reopen_job(job_id):
    db.session.execute(
        sa.update(BatchJob)
        .where(BatchJob.id == job_id, BatchJob.status.in_(
            (job_status.COMPLETED, job_status.COMPLETED_WITH_ERRORS, job_status.CANCELLED)))
        .values(status=job_status.RUNNING, completed_at=None)
    )


def claim(record_id, worker_name, rq_job_id):
    """Take a record for processing with one conditional UPDATE; None if someone else has it
    (or it is no longer waiting). Commits."""
    record = db.session.get(FileProcessingRecord, record_id, populate_existing=True)
    if record is not None and record.status == PROCESSING and (record.worker_name, record.rq_job_id) == (
            worker_name, rq_job_id):
        return record  # claimed by this very job: the answer to its commit was lost, and it is asked again
    if record is None or record.status not in CLAIMABLE:
        db.session.rollback()
        return None
    seen = record.status
    now = utcnow()
    commit_without_waiting_for_disk(db.session)  # a claim lost in a crash is redone
    result = db.session.execute(
        sa.update(FileProcessingRecord)
        .where(FileProcessingRecord.id == record_id, FileProcessingRecord.status == seen)
        .values(status=PROCESSING, attempts=FileProcessingRecord.attempts + 1, heartbeat_at=now,
                started_at=now, finished_at=None, worker_name=worker_name, rq_job_id=rq_job_id,
                next_retry_at=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        return None
    db.session.add(FileEvent(file_id=record_id, from_status=seen, to_status=PROCESSING,
                             message=f"Picked up by {worker_name}"))
    live.file_changed(record, seen, PROCESSING)
    db.session.commit()
    return record  # expired by the commit: its next read loads the claimed state
