"""File counts by folder and status, read from file_status_counts (kept by database triggers,
see migration 0016) instead of counting the records; and the check that compares them with
a real count and puts them right."""

import sqlalchemy as sa

from . import audit_log
from .extensions import db
from .models import FileProcessingRecord, FileStatusCount

# Filters whose total the counters can give; any other filter needs a real count.
COUNTED_FILTERS = {"status", "folder_id"}


def by_status():
    """{status: files} over every folder."""
    C = FileStatusCount
    return {
        status: int(files)
        for status, files in db.session.execute(sa.select(C.status, sa.func.sum(C.files)).group_by(C.status))
        if files
    }


def by_folder(folder_ids=None):
    """{folder_id: {status: files}} (statuses with no file left out)."""
    C = FileStatusCount
    query = sa.select(C.folder_id, C.status, C.files).where(C.files != 0)
    if folder_ids is not None:
        query = query.where(C.folder_id.in_(folder_ids))
    counts = {}
    for folder_id, status, files in db.session.execute(query):
        counts.setdefault(folder_id, {})[status] = files
    return counts


def total(filters):
    """The number of records matching `filters` (as files.parse_filters gives them) when the
    counters can tell it, else None."""
    if not set(filters) <= COUNTED_FILTERS:
        return None
    C = FileStatusCount
    query = sa.select(sa.func.coalesce(sa.func.sum(C.files), 0))
    if "status" in filters:
        query = query.where(C.status == filters["status"])
    if "folder_id" in filters:
        query = query.where(C.folder_id == filters["folder_id"])
    return int(db.session.scalar(query))


def recount(fix=True, actor=None):
    """Compare every counter with a real count of the records; with `fix`, set the counters
    to it in the same transaction. Returns [(folder_id, status, counted, real)] for each
    counter that was wrong (empty: all right). The counters' table is locked meanwhile, so
    no status change slips between the count and the fix. A fix leaves an audit row."""
    FPR, C = FileProcessingRecord, FileStatusCount
    if db.engine.dialect.name == "postgresql":
        db.session.execute(sa.text("LOCK TABLE file_status_counts IN EXCLUSIVE MODE"))
    real = {
        (f, s): n
        for f, s, n in db.session.execute(
            sa.select(FPR.folder_id, FPR.status, sa.func.count()).group_by(FPR.folder_id, FPR.status)
        )
    }
    counted = {(f, s): n for f, s, n in db.session.execute(sa.select(C.folder_id, C.status, C.files))}
    wrong = sorted(
        (f, s, counted.get((f, s), 0), real.get((f, s), 0))
        for f, s in set(real) | set(counted)
        if counted.get((f, s), 0) != real.get((f, s), 0)
    )
    if fix and wrong:
        for folder_id, status, _counted, files in wrong:
            db.session.merge(C(folder_id=folder_id, status=status, files=files))
        audit_log.record(
            "files.recount",
            ("file_status_counts", len(wrong)),
            actor=actor,
            before=[{"folder_id": f, "status": s, "files": n} for f, s, n, _ in wrong],
            after=[{"folder_id": f, "status": s, "files": n} for f, s, _, n in wrong],
        )
        db.session.commit()
    else:
        db.session.rollback()
    return wrong
