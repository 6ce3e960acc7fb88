"""Putting work on the queues. A job carries only a record or folder id; the job functions
live in webapp.tasks, above this layer, and come from the registry in webapp.queues."""

import uuid
from collections.abc import Iterable
from datetime import timedelta

from flask import current_app
from redis import Redis
from rq import Queue
from rq.job import Job

from .. import queues
from ..logging_setup import job_meta
from ..models.types import utcnow

PROCESS_FILE = "process_file"
SCAN_FOLDER = "scan_folder"


def redis() -> Redis:
    return queues.connection()


def key(*parts: object) -> str:
    return queues.redis_key(*parts)


def new_job_id() -> str:
    return f"file-{uuid.uuid4().hex}"


def file(record_id: int, delay: float | None = None, job_id: str | None = None) -> str:
    """Queue one file (after `delay` seconds, through RQ's scheduler). Returns the job id,
    which the caller stores on the record when it did not choose it beforehand."""
    job_id = job_id or new_job_id()
    q = queues.queue(queues.FILES)
    options = dict(
        job_id=job_id,
        job_timeout=current_app.config["FILE_JOB_TIMEOUT"],
        result_ttl=600,
        failure_ttl=86400,
        meta=job_meta(),
    )
    if delay:
        q.enqueue_in(timedelta(seconds=delay), queues.job(PROCESS_FILE), record_id, **options)
    else:
        q.enqueue(queues.job(PROCESS_FILE), record_id, **options)
    return job_id


def files(pairs: Iterable[tuple[int, str]]) -> None:
    """Queue many (record_id, job_id) pairs in one Redis pipeline."""
    q = queues.queue(queues.FILES)
    timeout = current_app.config["FILE_JOB_TIMEOUT"]
    process_file = queues.job(PROCESS_FILE)
    for chunk in _chunks(list(pairs), 500):
        q.enqueue_many(
            [
                Queue.prepare_data(
                    process_file,
                    (record_id,),
                    job_id=job_id,
                    timeout=timeout,
                    result_ttl=600,
                    failure_ttl=86400,
                    meta=job_meta(),
                )
                for record_id, job_id in chunk
            ]
        )


def scan(folder_id: int, trigger: str, user_id: int | None = None) -> Job:
    """Queue a scan of a folder; at most one waits per folder at a time."""
    q = queues.queue(queues.SCANS)
    return q.enqueue(
        queues.job(SCAN_FOLDER),
        folder_id,
        trigger,
        user_id,
        job_timeout=3600,
        result_ttl=600,
        job_id=f"scan-{folder_id}-{uuid.uuid4().hex[:8]}",
        meta=job_meta(),
    )


def live_job_ids(job_ids: Iterable[str | None]) -> set[str]:
    """The subset of RQ job ids still on their way through a worker: waiting in the files
    queue's list, or started by a worker that still beats (rq's worker heartbeat, fresher
    than CALLBATCH_STALE_AFTER_SECONDS; webapp.worker.Worker beats while a job runs). Any
    other job is lost: gone with a flushed Redis; marked queued but in no queue's list (taken
    by a worker killed before it started it); started by a worker killed before it claimed
    the record (RQ would keep it started until its timeout); finished or failed; or still
    in RQ's scheduled registry (the reaper only asks about files already due, and a due job
    still scheduled means no scheduler is releasing it: a killed worker keeps RQ's scheduler
    lock for up to two minutes)."""
    from rq.job import JobStatus

    connection = redis()
    ids = [j for j in job_ids if j]
    if not ids:
        return set()
    # The list is read before the jobs: a job taken off it meanwhile is started by then.
    listed = set(queues.queue(queues.FILES).get_job_ids())
    jobs = [job for chunk in _chunks(ids, 1000) for job in Job.fetch_many(chunk, connection=connection) if job]
    started = [job for job in jobs if job.get_status(refresh=False) == JobStatus.STARTED]
    beating = _beating_workers(connection, {job.worker_name for job in started})
    return {job.id for job in jobs if job.get_status(refresh=False) == JobStatus.QUEUED and job.id in listed} | {
        job.id for job in started if job.worker_name in beating
    }


def _beating_workers(connection, names):
    """Of these RQ worker names, those whose last heartbeat is recent."""
    from rq import Worker
    from rq.utils import utcparse

    names = sorted(n for n in names if n)
    with connection.pipeline() as pipeline:
        for name in names:
            pipeline.hget(Worker.redis_worker_namespace_prefix + name, "last_heartbeat")
        beats = pipeline.execute() if names else []
    cutoff = utcnow() - timedelta(seconds=current_app.config["STALE_AFTER_SECONDS"])
    return {name for name, beat in zip(names, beats, strict=True) if beat and utcparse(beat.decode()) >= cutoff}


def _chunks(items, size):
    for i in range(0, len(items), size):
        yield items[i : i + size]
