"""Privacy retention: clear what a folder's calls said, and its file history, after N days.

Cleared: the transcript and segments of sales calls processed more than N days ago (their
scores, metrics and metadata stay, so reports keep their figures) and file events older than
N days. Callbatch keeps no audio of its own: a cloud recording is downloaded to a temporary
directory that is removed when its processing ends, and local recordings are the customer's
own files, which Callbatch never deletes.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from .. import audit_log
from ..extensions import db
from ..models import FileEvent, FileProcessingRecord, SalesCall
from ..models.types import utcnow


def _calls(cutoff, folder_id):
    query = sa.select(SalesCall.id).where(SalesCall.created_at < cutoff, SalesCall.transcript != "")
    if folder_id is not None:
        query = query.join(FileProcessingRecord, FileProcessingRecord.id == SalesCall.file_id).where(
            FileProcessingRecord.folder_id == folder_id
        )
    return query


def _events(cutoff, folder_id):
    query = sa.select(FileEvent.id).where(FileEvent.created_at < cutoff)
    if folder_id is not None:
        query = query.join(FileProcessingRecord, FileProcessingRecord.id == FileEvent.file_id).where(
            FileProcessingRecord.folder_id == folder_id
        )
    return query


def purge(
    days: int, folder_id: int | None = None, dry_run: bool = False, actor: str = "system", now: datetime | None = None
) -> dict[str, int]:
    """Returns {"transcripts": n, "events": n} — what was cleared, or would be on a dry run."""
    cutoff = (now or utcnow()) - timedelta(days=days)
    calls, events = _calls(cutoff, folder_id), _events(cutoff, folder_id)
    counts = {
        "transcripts": db.session.scalar(sa.select(sa.func.count()).select_from(calls.subquery())),
        "events": db.session.scalar(sa.select(sa.func.count()).select_from(events.subquery())),
    }
    if dry_run:
        return counts
    db.session.execute(
        sa.update(SalesCall).where(SalesCall.id.in_(calls)).values(transcript="", segments=[], search_text=None),
        execution_options={"synchronize_session": False},
    )
    db.session.execute(
        sa.delete(FileEvent).where(FileEvent.id.in_(events)), execution_options={"synchronize_session": False}
    )
    audit_log.record(
        "retention.purge",
        target=("folder", folder_id) if folder_id is not None else None,
        actor=actor,
        after={"days": days, "cutoff": cutoff.isoformat(), **counts},
    )
    db.session.commit()
    return counts
