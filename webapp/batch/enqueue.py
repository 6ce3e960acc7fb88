"""Putting work on the queues. A job carries only a record or folder id; the job functions
live in workers.tasks and are named here by path so this package never imports RQ workers."""
import uuid
from datetime import timedelta

from flask import current_app
from rq import Queue

from .. import queues
from ..logging_setup import job_meta

PROCESS_FILE = "workers.tasks.process_file"
SCAN_FOLDER = "workers.tasks.scan_folder"


def redis():
    return queues.connection()


def key(*parts):
    return queues.redis_key(*parts)


def new_job_id():
    return f"file-{uuid.uuid4().hex}"


def file(record_id, delay=None, job_id=None):
    """Queue one file (after `delay` seconds, through RQ's scheduler). Returns the job id,
    which the caller stores on the record when it did not choose it beforehand."""
    job_id = job_id or new_job_id()
    q = queues.queue(queues.FILES)
    options = dict(job_id=job_id, job_timeout=current_app.config["FILE_JOB_TIMEOUT"], result_ttl=600,
                   failure_ttl=86400, meta=job_meta())
    if delay:
        q.enqueue_in(timedelta(seconds=delay), PROCESS_FILE, record_id, **options)
    else:
        q.enqueue(PROCESS_FILE, record_id, **options)
    return job_id


def files(pairs):
    """Queue many (record_id, job_id) pairs in one Redis pipeline."""
    q = queues.queue(queues.FILES)
    timeout = current_app.config["FILE_JOB_TIMEOUT"]
    for chunk in _chunks(list(pairs), 500):
        q.enqueue_many([
            Queue.prepare_data(PROCESS_FILE, (record_id,), job_id=job_id, timeout=timeout, result_ttl=600,
                               failure_ttl=86400, meta=job_meta())
            for record_id, job_id in chunk
        ])


def scan(folder_id, trigger, user_id=None):
    """Queue a scan of a folder; at most one waits per folder at a time."""
    q = queues.queue(queues.SCANS)
    return q.enqueue(SCAN_FOLDER, folder_id, trigger, user_id, job_timeout=3600, result_ttl=600,
                     job_id=f"scan-{folder_id}-{uuid.uuid4().hex[:8]}", meta=job_meta())


def live_job_ids(job_ids):
    """The subset of RQ job ids that exist and are queued or running. A job still waiting in
    RQ's scheduled registry does not count: the reaper only asks about files already due, and
    a due job still scheduled means no scheduler is releasing it (one that was killed keeps
    RQ's scheduler lock for up to two minutes)."""
    from rq.job import Job, JobStatus

    live_states = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED}
    ids = [j for j in job_ids if j]
    jobs = Job.fetch_many(ids, connection=redis()) if ids else []
    return {job.id for job in jobs if job is not None and job.get_status(refresh=False) in live_states}


def _chunks(items, size):
    for i in range(0, len(items), size):
        yield items[i:i + size]
