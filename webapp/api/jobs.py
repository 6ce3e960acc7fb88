"""/api/batch/jobs: list, create (scan a folder now), detail, start, cancel, retry failed,
rollback; and pausing / resuming all processing."""

from dataclasses import asdict

from flask_login import current_user

from ..errors import CallbatchError, explain
from ..models import job as job_status
from ..services import folders as folder_service
from ..services import jobs as service
from . import bp, page_json
from .errors import ApiError, found
from .registry import operation
from .schemas import JobCreate, JobRollback, JobsQuery

TAG = "jobs"


def _job(job_id):
    return found(service.get_job(job_id), "job", job_id)


def detail(job):
    return {**service.view(job), "file_statuses": service.status_counts(job), "calls": service.calls_count(job)}


@operation(bp, "GET", "/batch/jobs", tag=TAG, summary="List batch jobs", query=JobsQuery)
def list_jobs(query):
    page = service.list_jobs(query.status, query.folder_id, query.page, query.per_page)
    return page_json(page, service.view)


@operation(
    bp,
    "POST",
    "/batch/jobs",
    tag=TAG,
    summary="Create a batch job (scan a folder now)",
    role="manager",
    body=JobCreate,
    status=201,
    idempotent=True,
    responses={
        200: "Nothing new in the folder: no job was created (job is null)",
        409: "Another scan holds the folder, or the folder is disabled or unreachable",
    },
)
def create_job(body):
    """Scans the folder now; its new files become one batch job (queued at once, or held
    as `pending` when immediate processing is off — then POST /start). Send an
    Idempotency-Key: repeating the request returns the first answer instead of scanning again."""
    folder = folder_service.get_folder(body.folder_id)
    if folder is None:
        raise ApiError(
            404, f"There is no folder {body.folder_id}.", details=[{"field": "folder_id", "reason": "unknown folder"}]
        )
    if not folder.enabled:
        raise ApiError(409, f"Folder {folder.id} is disabled; enable it first.")
    try:
        result = service.create(folder, user=current_user)
    except CallbatchError as err:
        category, _explanation, fix = explain(err.code)
        raise ApiError(409, err.message, code=err.code, details={"category": category, "fix": fix}) from None
    if result.busy:
        raise ApiError(409, "A scan of this folder is already running; try again when it ends.", code="BUSY")
    scan = asdict(result)
    if result.job_id is None:
        return {"job": None, "scan": scan}, 200
    return {"job": detail(_job(result.job_id)), "scan": scan}, 201


@operation(bp, "GET", "/batch/jobs/<int:job_id>", tag=TAG, summary="Get a job with progress, counts and ETA")
def get_job(job_id):
    return detail(_job(job_id))


@operation(
    bp,
    "POST",
    "/batch/jobs/<int:job_id>/start",
    tag=TAG,
    summary="Start a job's waiting files (a held job, or one waiting for its window)",
    role="manager",
)
def start_job(job_id):
    try:
        queued = service.start(_job(job_id), user=current_user)
    except service.NotPending as err:
        raise ApiError(409, str(err)) from None
    return {"queued": queued, "job": detail(_job(job_id))}


@operation(bp, "POST", "/batch/jobs/<int:job_id>/cancel", tag=TAG, summary="Cancel a job", role="manager")
def cancel_job(job_id):
    """Cancels every file of the job not yet started; files being processed finish."""
    job = _job(job_id)
    if job.status not in job_status.ACTIVE_STATUSES:
        raise ApiError(409, f"Job {job.id} is already {job.status}.")
    cancelled = service.cancel(job, user=current_user)
    return {"cancelled_files": cancelled, "job": detail(_job(job_id))}


@operation(
    bp,
    "PUT",
    "/batch/jobs/<int:job_id>/cancel",
    tag=TAG,
    summary="Cancel a job (PUT, as the spec writes it)",
    role="manager",
)
def put_cancel_job(job_id):
    """The same as POST: cancels every file of the job not yet started."""
    return cancel_job(job_id)


@operation(
    bp,
    "POST",
    "/batch/jobs/<int:job_id>/retry",
    tag=TAG,
    summary="Retry the failed files of a job",
    role="manager",
    idempotent=True,
)
def retry_job(job_id):
    job = _job(job_id)
    queued = service.retry_failed(job, user=current_user)
    return {"queued": queued, "job": detail(_job(job_id))}


@operation(
    bp,
    "POST",
    "/batch/jobs/<int:job_id>/rollback",
    tag=TAG,
    summary="Roll back a job's results",
    role="manager",
    body=JobRollback,
)
def rollback_job(job_id, body):
    """Removes the calls the job created and re-opens its completed files."""
    result = service.rollback(_job(job_id), user=current_user, requeue=body.requeue)
    return {**result, "job": detail(_job(job_id))}


@operation(bp, "GET", "/batch/processing", tag=TAG, summary="Whether processing is paused")
def processing_state():
    return {"paused": service.is_paused()}


@operation(bp, "POST", "/batch/processing/pause", tag=TAG, summary="Pause all processing", role="manager")
def pause_processing():
    """Workers take no new files; files being processed finish."""
    service.set_paused(True, user=current_user)
    return {"paused": True, "requeued": 0}


@operation(bp, "POST", "/batch/processing/resume", tag=TAG, summary="Resume processing", role="manager")
def resume_processing():
    requeued = service.set_paused(False, user=current_user)
    return {"paused": False, "requeued": requeued}
