"""Emitting events from the processing path, cheaply: a status change only notes a small dict
on the session; after the commit one RQ job is queued that does the rest. Nothing here talks
to a channel, and a failure here never reaches the file. The only read is call_filed's look
at whether any config listens for call_completed, so a batch of 10k calls queues no 10k
dispatch jobs for nobody."""

import logging

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from .. import queues
from ..batch.status import FAILED, RETRYING, SKIPPED
from ..extensions import db
from ..models import NotificationConfig
from ..models.types import utcnow
from . import conditions as c

log = logging.getLogger(__name__)

DISPATCH = "dispatch_notifications"
QUEUE = queues.NOTIFICATIONS
PENDING_KEY = "callbatch_notify"
NOTED = (FAILED, SKIPPED, RETRYING)


def file_changed(record, frm, to, details=None):
    """Listens to every status change (batch.signals); keeps only what may notify."""
    details = details or {}
    if to == "completed" and details.get("quality") == "needs_review":
        db.session.info.setdefault(PENDING_KEY, []).append(
            {
                "status": "needs_review",
                "file_id": record.id,
                "file_name": record.file_name,
                "folder_id": record.folder_id,
                "job_id": record.job_id,
                "reasons": details.get("quality_reasons") or [],
                "at": utcnow().isoformat(),
            }
        )
        return
    if to not in NOTED:
        return
    db.session.info.setdefault(PENDING_KEY, []).append(
        {
            "status": to,
            "file_id": record.id,
            "file_name": record.file_name,
            "folder_id": record.folder_id,
            "job_id": record.job_id,
            "error_code": details.get("code") or record.error_code,
            "message": record.error_message or "",
            "attempts": record.attempts,
            "at": utcnow().isoformat(),
        }
    )


def call_filed(call, record, customer=None):
    """A call was filed (call_completed): its scorecard travels with the event, for a CRM."""
    listening = db.session.scalars(sa.select(NotificationConfig.conditions).where(NotificationConfig.enabled)).all()
    if not any(c.CALL_COMPLETED in (conditions or []) for conditions in listening):
        return
    scores = call.scores or {}
    criteria = [
        {"id": crit.get("id"), "label": crit.get("label"), "score": crit.get("score"), "passed": crit.get("passed")}
        for crit in scores.get("criteria") or []
    ]
    db.session.info.setdefault(PENDING_KEY, []).append(
        {
            "status": "call_completed",
            "call_id": call.id,
            "call_uuid": call.call_uuid,
            "agent": call.agent,
            "customer_id": customer.id if customer else None,
            "customer": (customer.name or customer.phone) if customer else None,
            "overall_score": call.overall_score,
            "criteria": criteria,
            "link": c.url(f"/calls/{call.id}"),
            "file_id": record.id,
            "file_name": record.file_name,
            "folder_id": record.folder_id,
            "job_id": record.job_id,
            "at": utcnow().isoformat(),
        }
    )


def job_finished(job_id):
    """Listens to batch.signals.job_finished."""
    db.session.info.setdefault(PENDING_KEY, []).append(
        {"status": "job_finished", "job_id": job_id, "at": utcnow().isoformat()}
    )


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
    emit(
        [
            {
                "condition": c.RESOURCES_LOW,
                "folder_id": folder.id,
                "worker": worker,
                "directory": directory,
                "free_bytes": free_bytes,
                "needed_bytes": needed_bytes,
                "file_name": file_name,
            }
        ]
    )


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
        elif n["status"] == "call_completed":
            events.append({**base, "condition": c.CALL_COMPLETED})
        elif n["status"] == "needs_review":
            events.append({**base, "condition": c.NEEDS_REVIEW})
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
