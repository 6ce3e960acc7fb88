"""Live status: file and job status changes, published on Redis pub/sub after they commit.

`file_changed` listens to each status change (webapp.batch.signals), and `job_counted` to
each job row its counter UPDATE returned; that only notes small dicts on the session. After the commit
the notes are published on one channel (a job once, as its last UPDATE in the transaction
left it: the row lock makes those counters exact as of the commit); the JSON API streams
the channel to SSE and WebSocket clients. Like notifications, nothing here can fail a file:
a publish error is logged and forgotten (the database stays the truth; clients can always
poll the snapshot)."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from flask import has_app_context
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from .. import queues
from ..extensions import db
from ..models import BatchJob, FileProcessingRecord
from ..models.types import utcnow

if TYPE_CHECKING:
    from redis.client import PubSub

log = logging.getLogger(__name__)

PENDING_KEY = "callbatch_live"
CHANNEL = "live"


def channel() -> str:
    return queues.redis_key(CHANNEL)


def file_changed(record: FileProcessingRecord, frm: str | None, to: str, details: dict[str, Any] | None = None) -> None:
    """Note a file's status change on the session; published after the commit."""
    db.session.info.setdefault(PENDING_KEY, []).append(
        {
            "type": "file",
            "file_id": record.id,
            "file_name": record.file_name,
            "folder_id": record.folder_id,
            "job_id": record.job_id,
            "from": frm,
            "status": to,
            "error_code": record.error_code,
            "at": utcnow().isoformat(),
        }
    )


def job_counted(job: BatchJob) -> None:
    """Note a job as the status machine's UPDATE … RETURNING gave it back."""
    db.session.info.setdefault(PENDING_KEY, []).append(job_view(job))


def job_view(job: BatchJob) -> dict[str, Any]:
    return {
        "type": "job",
        "job_id": job.id,
        "folder_id": job.folder_id,
        "status": job.status,
        "total_files": job.total_files,
        "processed_files": job.processed_files,
        "failed_files": job.failed_files,
        "skipped_files": job.skipped_files,
        "cancelled_files": job.cancelled_files,
        "progress": job.progress,
        "at": utcnow().isoformat(),
    }


def publish(messages: list[dict[str, Any]]) -> None:
    """Publish ready-made messages on the live channel (one PUBLISH per message, pipelined)."""
    if not messages:
        return
    pipe = queues.connection().pipeline(transaction=False)
    name = channel()
    for message in messages:
        pipe.publish(name, json.dumps(message, default=str))
    pipe.execute()


@sa_event.listens_for(Session, "after_commit")
def _after_commit(session):
    noted = session.info.pop(PENDING_KEY, None)
    if not noted or not has_app_context():
        return
    try:
        jobs = {n["job_id"]: n for n in noted if n["type"] == "job"}  # the last view of each job
        publish([n for n in noted if n["type"] == "file"] + list(jobs.values()))
    except Exception:  # never let live status disturb the work
        log.warning("could not publish %d live status change(s)", len(noted), exc_info=True)


@sa_event.listens_for(Session, "after_rollback")
def _after_rollback(session):
    session.info.pop(PENDING_KEY, None)


def subscribe() -> PubSub:
    """A Redis PubSub subscribed to the live channel (the caller closes it)."""
    pubsub = queues.connection().pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(channel())
    return pubsub
