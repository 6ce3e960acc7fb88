"""The dashboard's figures: totals by status, folders, active jobs with ETA, throughput,
recent problems, and whether anything is running (which keeps the page polling)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from .. import file_counts, timetable
from ..batch.status import DISCOVERED, PROCESSING, QUEUED, RETRYING, STATUSES
from ..errors import explain
from ..extensions import db
from ..models import ExternalFolder, FileProcessingRecord
from ..models.types import iso, utcnow
from . import folders, jobs


def status() -> dict[str, Any]:
    FPR = FileProcessingRecord
    counts = file_counts.by_status()
    totals = {s: counts.get(s, 0) for s in STATUSES}
    active = jobs.active_jobs()
    errors = db.session.scalars(
        sa.select(FPR)
        .options(joinedload(FPR.folder))
        .where(FPR.error_code.is_not(None))
        .order_by(FPR.updated_at.desc())
        .limit(10)
    ).all()
    busy = bool(active) or any(totals[s] for s in (QUEUED, PROCESSING, RETRYING)) or _scans_waiting()
    return {
        "totals": totals,
        "total_files": sum(totals.values()),
        "jobs": active,
        "timings": {j.id: jobs.timing(j) for j in active},
        "errors": errors,
        "explain": explain,
        "throughput": jobs.throughput(),
        "paused": jobs.is_paused(),
        "active": busy,
    }


def _scans_waiting():
    """A scan queued or running (no job yet) counts as activity: the page starts polling."""
    from .. import queues

    try:
        scans = queues.queue(queues.SCANS)
        return scans.count > 0 or scans.started_job_registry.count > 0
    except Exception:  # Redis unreachable: the page still renders, from the database alone
        return False


def waiting(now: datetime | None = None) -> list[dict[str, Any]]:
    """Files waiting to be processed, by folder: how many, in which jobs, and when they start
    by themselves (None: when someone starts them)."""
    now = now or utcnow()
    FPR = FileProcessingRecord
    rows = db.session.execute(
        sa.select(FPR.folder_id, FPR.job_id, sa.func.count())
        .where(FPR.status == DISCOVERED)
        .group_by(FPR.folder_id, FPR.job_id)
        .order_by(FPR.folder_id, FPR.job_id)
    ).all()
    by_folder = {}
    for folder_id, job_id, count in rows:
        entry = by_folder.setdefault(folder_id, {"files": 0, "job_ids": []})
        entry["files"] += count
        entry["job_ids"].append(job_id)
    folders = {f.id: f for f in db.session.scalars(sa.select(ExternalFolder).where(ExternalFolder.id.in_(by_folder)))}
    tz = timetable.zone()
    shown = []
    for folder_id, entry in by_folder.items():
        folder = folders.get(folder_id)
        starts = timetable.starts_at(folder, now) if folder is not None else None
        shown.append(
            {
                "folder": folder,
                **entry,
                "starts_at": starts.astimezone(tz).strftime("%a %Y-%m-%d %H:%M") if starts else None,
                "starts_iso": iso(starts),
                "timezone": str(tz),
            }
        )
    return shown


def folder_rows() -> list[ExternalFolder]:
    return folders.list_folders()
