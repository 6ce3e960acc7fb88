"""/api/batch/files: the filtered, paginated list; one file; its log (events) and error
details; retry (one file or many)."""

from flask_login import current_user

from ..batch import actions
from ..services import files as service
from . import bp, page_json
from .errors import ApiError, found
from .registry import operation
from .schemas import FilesQuery, FilesRetry

TAG = "files"


def _file(file_id):
    return found(service.get_file(file_id), "file", file_id)


def filters(query):
    """The services' filter dict from a validated query."""
    found = {}
    for key in ("status", "folder_id", "job_id", "quality", "q"):
        value = getattr(query, key)
        if value not in (None, ""):
            found[key] = value
    if query.error_code:
        found["error_code"] = query.error_code.strip().upper()
    for key in ("date_from", "date_to"):
        if getattr(query, key):
            found[key] = getattr(query, key).isoformat()
    return found


@operation(bp, "GET", "/batch/files", tag=TAG, summary="List files (filters, pagination)", query=FilesQuery)
def list_files(query):
    page = service.list_files(filters(query), query.page, query.per_page)
    return page_json(page, service.summary)


@operation(bp, "GET", "/batch/files/<int:file_id>", tag=TAG, summary="Get a file with its events and error")
def get_file(file_id):
    return service.detail(_file(file_id))


@operation(bp, "GET", "/batch/files/<int:file_id>/logs", tag=TAG, summary="A file's event log")
def file_logs(file_id):
    """Every status change of the file (time, from → to, message, details), oldest first."""
    events = service.detail(_file(file_id))["events"]
    return {"file_id": file_id, "items": events, "total": len(events)}


@operation(bp, "GET", "/batch/files/<int:file_id>/error-details", tag=TAG, summary="A file's error, explained")
def file_error_details(file_id):
    """The error code, its category, the message for this file, a plain explanation and the
    suggested fix; `error` is null when the file has none."""
    data = service.detail(_file(file_id))
    failures = [e for e in data["events"] if e["to"] in ("failed", "skipped", "retrying")]
    return {
        "file_id": file_id,
        "status": data["status"],
        "error": data["error"],
        "can_retry": data["can_retry"],
        "retry_count": data["retry_count"],
        "attempts": data["attempts"],
        "next_retry_at": data["next_retry_at"],
        "failures": failures,
    }


@operation(bp, "POST", "/batch/files/<int:file_id>/retry", tag=TAG, summary="Retry a file", role="manager")
def retry_file(file_id):
    """Queues a failed, skipped or cancelled file again with a fresh retry budget."""
    record = _file(file_id)
    if record.status not in actions.RETRYABLE:
        raise ApiError(
            409, f"File {file_id} is {record.status}; only failed, skipped or cancelled files can be retried."
        )
    queued = service.retry([file_id], user=current_user)
    return {"queued": queued, "file": service.summary(_file(file_id))}


@operation(bp, "POST", "/batch/files/retry", tag=TAG, summary="Retry many files", role="manager", body=FilesRetry)
def retry_files(body):
    """Queues those of the given files that are failed, skipped or cancelled; others are left alone."""
    queued = service.retry(body.file_ids, user=current_user)
    return {"queued": queued, "requested": len(body.file_ids)}
