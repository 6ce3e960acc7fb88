"""Batch jobs: list and detail with progress, counts, timing and ETA; start, cancel, retry
failed, rollback; pause and resume processing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from .. import audit_log
from ..batch import actions, batch_config, discovery
from ..batch.status import COMPLETED, DISCOVERED, FAILED, STATUSES
from ..extensions import db
from ..models import BatchJob, ExternalFolder, FileProcessingRecord, SalesCall, User
from ..models import job as job_status
from ..models.types import iso, utcnow
from . import Page, paginate

JOB_STATUSES = job_status.STATUSES


def list_jobs(status: str | None = None, folder_id: int | None = None, page: object = 1, per_page: object = 50) -> Page:
    query = sa.select(BatchJob).options(joinedload(BatchJob.folder)).order_by(BatchJob.id.desc())
    if status in JOB_STATUSES:
        query = query.where(BatchJob.status == status)
    if folder_id:
        query = query.where(BatchJob.folder_id == folder_id)
    return paginate(query, page, per_page)


def active_jobs(limit: int = 20) -> list[BatchJob]:
    return db.session.scalars(
        sa.select(BatchJob)
        .options(joinedload(BatchJob.folder))
        .where(BatchJob.status.in_(job_status.ACTIVE_STATUSES))
        .order_by(BatchJob.id.desc())
        .limit(limit)
    ).all()


def get_job(job_id: int) -> BatchJob | None:
    return db.session.get(BatchJob, job_id)


def timing(job: BatchJob, now: datetime | None = None) -> dict[str, Any]:
    """Elapsed seconds, files per hour so far and the ETA (seconds) of a job, where known."""
    now = now or utcnow()
    start = job.started_at or job.created_at
    end = job.completed_at or now
    elapsed = max(0.0, (end - start).total_seconds()) if start else None
    done = job.finished_files - job.skipped_files  # skips are instant: they say nothing of speed
    rate = done / elapsed * 3600 if elapsed and done > 0 else None
    remaining = max(0, job.total_files - job.finished_files)
    eta = None
    if job.status == job_status.RUNNING and remaining and rate:
        eta = remaining / rate * 3600
    return {
        "elapsed_seconds": elapsed,
        "files_per_hour": round(rate, 1) if rate else None,
        "eta_seconds": round(eta) if eta is not None else None,
        "remaining": remaining,
    }


def view(job: BatchJob) -> dict[str, Any]:
    return {
        "id": job.id,
        "folder": {"id": job.folder_id, "name": job.folder.name if job.folder else None},
        "status": job.status,
        "trigger": job.trigger,
        "total_files": job.total_files,
        "processed_files": job.processed_files,
        "failed_files": job.failed_files,
        "skipped_files": job.skipped_files,
        "cancelled_files": job.cancelled_files,
        "finished_files": job.finished_files,
        "progress": job.progress,
        "error_message": job.error_message,
        "created_at": iso(job.created_at),
        "started_at": iso(job.started_at),
        "completed_at": iso(job.completed_at),
        **timing(job),
    }


def status_counts(job: BatchJob) -> dict[str, int]:
    FPR = FileProcessingRecord
    counts = dict(
        db.session.execute(
            sa.select(FPR.status, sa.func.count()).where(FPR.job_id == job.id).group_by(FPR.status)
        ).all()
    )
    return {s: counts.get(s, 0) for s in STATUSES}


def calls_count(job: BatchJob) -> int:
    return db.session.scalar(sa.select(sa.func.count()).where(SalesCall.job_id == job.id))


def waiting_files(job: BatchJob) -> int:
    FPR = FileProcessingRecord
    return db.session.scalar(sa.select(sa.func.count()).where(FPR.job_id == job.id, FPR.status == DISCOVERED))


def start_estimate(job: BatchJob) -> dict[str, Any]:
    """What starting a job's waiting files means: how many, and how long they take at the
    current throughput (files completed in the last hour; None when none were)."""
    files = waiting_files(job)
    rate = throughput()
    return {"files": files, "files_per_hour": rate or None, "seconds": round(files / rate * 3600) if rate else None}


class NotPending(Exception):
    """Only a job with waiting files can be started: a held (pending) one, or one whose files
    wait for their processing window."""

    def __init__(self, job: BatchJob) -> None:
        self.job_id, self.status = job.id, job.status
        super().__init__(f"Job {job.id} is {job.status}; only a job whose files are waiting can be started.")


def start(job: BatchJob, user: User | None = None) -> int:
    """Queue the waiting files of a held (pending) job, or of one whose files wait for their
    processing window. Returns how many were queued; raises NotPending for a job with none."""
    if job.status not in job_status.ACTIVE_STATUSES or not waiting_files(job):
        raise NotPending(job)
    count = discovery.start_job(job)
    audit_log.record("job.start", job, after={"queued": count}, user=user)
    db.session.commit()
    return count


def cancel(job: BatchJob, user: User | None = None) -> int:
    """Cancel the job's waiting files (files being processed finish). Returns how many."""
    before = {"status": job.status}
    count = actions.cancel_job(job, _actor(user))
    audit_log.record(
        "job.cancel", job, before=before, after={"status": job.status, "cancelled_files": count}, user=user
    )
    db.session.commit()
    return count


def retry_failed(job: BatchJob, user: User | None = None) -> int:
    FPR = FileProcessingRecord
    failed = db.session.scalar(sa.select(sa.func.count()).where(FPR.job_id == job.id, FPR.status == FAILED))
    if not failed:
        return 0
    audit_log.record("job.retry_failed", job, after={"failed_files": failed}, user=user)
    return actions.retry_failed_in_job(job, _actor(user))


def rollback(job: BatchJob, user: User | None = None, requeue: bool = True) -> dict[str, int]:
    """Remove the calls the job created and re-open its completed files (queued again, or left
    cancelled for a later retry when `requeue` is false). Returns {"calls_removed",
    "files_reopened"}."""
    before = view(job)
    calls, files = actions.rollback_job(job, _actor(user), requeue=requeue)
    db.session.refresh(job)
    audit_log.record(
        "job.rollback",
        job,
        before=before,
        after={"calls_removed": calls, "files_reopened": files, "requeue": requeue, "status": job.status},
        user=user,
    )
    db.session.commit()
    return {"calls_removed": calls, "files_reopened": files}


def is_paused() -> bool:
    return batch_config.load().processing.paused


def set_paused(paused: bool, user: User | None = None) -> int:
    """Pause or resume processing for every folder. Returns how many files were re-queued."""
    before = is_paused()
    audit_log.record(
        "processing.pause" if paused else "processing.resume",
        ("settings", 1),
        before={"paused": before},
        after={"paused": bool(paused)},
        user=user,
    )
    return actions.set_paused(paused, _actor(user))


def throughput(hours: float = 1) -> float:
    """Files finished (completed) per hour over the last `hours` hours."""
    FPR = FileProcessingRecord
    since = utcnow() - timedelta(hours=hours)
    done = db.session.scalar(sa.select(sa.func.count()).where(FPR.status == COMPLETED, FPR.finished_at >= since))
    return round(done / hours, 1)


def _actor(user):
    from .files import _actor as actor

    return actor(user)


def create(folder: ExternalFolder, user: User | None = None, trigger: str = "api") -> discovery.ScanResult:
    """Open a batch job for a folder now: scan it in this process. Returns discovery's
    ScanResult: `job_id` is None when nothing new was found, `busy` when another scan holds
    the folder. Raises CallbatchError when the folder cannot be listed."""
    result = discovery.scan(folder, trigger=trigger, user_id=getattr(user, "id", None))
    if result.job_id:
        audit_log.record(
            "job.create",
            ("batch_job", result.job_id),
            after={"folder_id": folder.id, "queued": result.queued, "held": result.held, "skipped": result.skipped},
            user=user,
        )
        db.session.commit()
    return result
