"""Emitting events from the processing path, cheaply: a status change only notes a small dict
on the session; after the commit one RQ job is queued that does the rest. Nothing here reads
the database or talks to a channel, and a failure here never reaches the file."""
import logging

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from .. import queues
from ..batch.status import FAILED, RETRYING, SKIPPED
from ..extensions import db
from ..models.types import utcnow
from . import conditions as c

log = logging.getLogger(__name__)

DISPATCH = "dispatch_notifications"
QUEUE = queues.NOTIFICATIONS
PENDING_KEY = "callbatch_notify"
NOTED = (FAILED, SKIPPED, RETRYING)


def file_changed(record, frm, to, details=None):
    """Listens to every status change (batch.signals); keeps only what may notify."""
    if to not in NOTED:
        return
    db.session.info.setdefault(PENDING_KEY, []).append({
        "status": to, "file_id": record.id, "file_name": record.file_name, "folder_id": record.folder_id,
        "job_id": record.job_id, "error_code": (details or {}).get("code") or record.error_code,
        "message": record.error_message or "", "attempts": record.attempts, "at": utcnow().isoformat(),
    })


def job_finished(job_id):
    """Listens to batch.signals.job_finished."""
    db.session.info.setdefault(PENDING_KEY, []).append({"status": "job_finished", "job_id": job_id,
                                                         "at": utcnow().isoformat()})


def emit(events):
    """Queue the dispatch of ready-made events (folder and stall watchers use this)."""
    if not events:
        return
    try:
        queues.queue(QUEUE).enqueue(queues.job(DISPATCH), events, job_timeout=300, result_ttl=60, failure_ttl=86400)
    except Exception:
        log.warning("could not queue %d notification event(s)", len(events), exc_info=True)


def resources_low(folder, worker, directory, free_bytes, needed_bytes, file_name):
    """Listens to batch.signals.disk_short: a worker lacks the disk space for a download."""
    emit([{"condition": c.RESOURCES_LOW, "folder_id": folder.id, "worker": worker, "directory": directory,
           "free_bytes": free_bytes, "needed_bytes": needed_bytes, "file_name": file_name}])


def to_events(noted):
    """The conditions a commit's status changes amount to. A failure with no retry queued in
    the same commit is final: it is also `retries_exhausted`."""
    retried = {n["file_id"] for n in noted if n["status"] == "retrying"}
    events = []
    for n in noted:
        base = {k: v for k, v in n.items() if k != "status"}
        if n["status"] == "failed":
            final = n["file_id"] not in retried
            events.append({**base, "condition": c.FILE_FAILED, "final": final})
            if final:
                events.append({**base, "condition": c.RETRIES_EXHAUSTED, "final": True})
        elif n["status"] == "skipped":
            events.append({**base, "condition": c.FILE_SKIPPED})
        elif n["status"] == "job_finished":
            events.append({**base, "condition": "job_finished"})  # completed or failed: decided on dispatch
    return events


@sa_event.listens_for(Session, "after_commit")
def _after_commit(session):
    noted = session.info.pop(PENDING_KEY, None)
    if noted:
        emit(to_events(noted))


@sa_event.listens_for(Session, "after_rollback")
def _after_rollback(session):
    session.info.pop(PENDING_KEY, None)
