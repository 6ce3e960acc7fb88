"""The dashboard's figures: totals by status, folders, active jobs with ETA, throughput,
recent problems, and whether anything is running (which keeps the page polling)."""
import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..batch.status import PROCESSING, QUEUED, RETRYING, STATUSES
from ..errors import explain
from ..extensions import db
from ..models import FileProcessingRecord
from . import folders, jobs


def status():
    FPR = FileProcessingRecord
    counts = dict(db.session.execute(sa.select(FPR.status, sa.func.count()).group_by(FPR.status)).all())
    totals = {s: counts.get(s, 0) for s in STATUSES}
    active = jobs.active_jobs()
    errors = db.session.scalars(
        sa.select(FPR).options(joinedload(FPR.folder)).where(FPR.error_code.is_not(None))
        .order_by(FPR.updated_at.desc()).limit(10)).all()
    busy = bool(active) or any(totals[s] for s in (QUEUED, PROCESSING, RETRYING)) or _scans_waiting()
    return {"totals": totals, "total_files": sum(totals.values()), "jobs": active,
            "timings": {j.id: jobs.timing(j) for j in active}, "errors": errors, "explain": explain,
            "throughput": jobs.throughput(), "paused": jobs.is_paused(), "active": busy}


def _scans_waiting():
    """A scan queued or running (no job yet) counts as activity: the page starts polling."""
    from .. import queues

    try:
        scans = queues.queue(queues.SCANS)
        return scans.count > 0 or scans.started_job_registry.count > 0
    except Exception:  # Redis unreachable: the page still renders, from the database alone
        return False


def folder_rows():
    return folders.list_folders()
