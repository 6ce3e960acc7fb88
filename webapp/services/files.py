"""Files: the filtered list (status, folder, job, error code, date, name search), its
pagination and CSV export, one file's detail, and retry."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, time, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from .. import audit_log
from .. import file_counts as counts
from ..analysis.quality import VERDICTS
from ..batch import actions
from ..batch.status import STATUSES
from ..errors import explain
from ..extensions import db
from ..models import ExternalFolder, FileProcessingRecord, SalesCall, User
from ..models.types import iso
from . import Page, clamp_page
from .spreadsheet import drain, inert

FILTERS = ("status", "folder_id", "job_id", "error_code", "quality", "date_from", "date_to", "q")
CSV_COLUMNS = (
    "id",
    "file_name",
    "file_path",
    "folder",
    "job_id",
    "status",
    "error_code",
    "error_category",
    "error_message",
    "retry_count",
    "attempts",
    "file_size",
    "audio_seconds",
    "created_at",
    "updated_at",
    "finished_at",
    "call_id",
)
FILE_FORMULA_STARTS = ("=", "+", "-", "@")  # a leading tab or carriage return is left as it is here


def parse_filters(args: Mapping[str, Any]) -> dict[str, Any]:
    """Clean filters from a query string (or any mapping): unknown or malformed values are
    dropped, so a bookmarked URL never errors. Dates are YYYY-MM-DD (UTC), inclusive."""
    get = args.get
    filters = {}
    status = (get("status") or "").strip()
    if status in STATUSES:
        filters["status"] = status
    for key in ("folder_id", "job_id"):
        try:
            value = int(get(key) or 0)
        except (TypeError, ValueError):
            value = 0
        if value > 0:
            filters[key] = value
    code = (get("error_code") or "").strip().upper()
    if code:
        filters["error_code"] = code[:40]
    quality = (get("quality") or "").strip()
    if quality in VERDICTS:  # the verdict on the file's call
        filters["quality"] = quality
    for key in ("date_from", "date_to"):
        value = (get(key) or "").strip()
        try:
            filters[key] = datetime.strptime(value, "%Y-%m-%d").date().isoformat() if value else None
        except ValueError:
            filters[key] = None
        if not filters[key]:
            filters.pop(key)
    q = (get("q") or "").strip()
    if q:
        filters["q"] = q[:200]
    return filters


def query(filters: dict[str, Any]) -> sa.Select:
    """The select of records matching `filters` (as parse_filters returns), newest first."""
    FPR = FileProcessingRecord
    stmt = sa.select(FPR)
    if "status" in filters:
        stmt = stmt.where(FPR.status == filters["status"])
    if "folder_id" in filters:
        stmt = stmt.where(FPR.folder_id == filters["folder_id"])
    if "job_id" in filters:
        stmt = stmt.where(FPR.job_id == filters["job_id"])
    if "error_code" in filters:
        stmt = stmt.where(FPR.error_code == filters["error_code"])
    if "quality" in filters:  # files whose call got this verdict
        stmt = stmt.where(FPR.id.in_(sa.select(SalesCall.file_id).where(SalesCall.quality == filters["quality"])))
    if "date_from" in filters:
        start = datetime.combine(datetime.fromisoformat(filters["date_from"]).date(), time.min, timezone.utc)
        stmt = stmt.where(FPR.created_at >= start)
    if "date_to" in filters:
        end = datetime.combine(datetime.fromisoformat(filters["date_to"]).date(), time.min, timezone.utc)
        stmt = stmt.where(FPR.created_at < end + timedelta(days=1))
    if "q" in filters:
        escaped = filters["q"].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(FPR.file_name.ilike(f"%{escaped}%", escape="\\"))
    return stmt.order_by(FPR.id.desc())


def list_files(filters: dict[str, Any], page: object = 1, per_page: object = 50) -> Page:
    """One page of the filtered list, folders loaded with it."""
    page, per_page = clamp_page(page, per_page)
    stmt = query(filters)
    total = counts.total(filters)
    if total is None:
        total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery()))
    # the page's ids first (an index-only scan, however deep the page), then only their rows
    FPR = FileProcessingRecord
    ids = stmt.with_only_columns(FPR.id).limit(per_page).offset((page - 1) * per_page).subquery()
    items = db.session.scalars(
        sa.select(FPR).where(FPR.id.in_(sa.select(ids.c.id))).options(joinedload(FPR.folder)).order_by(FPR.id.desc())
    ).all()
    return Page(items=items, total=total, page=page, per_page=per_page)


def ids_matching(filters: dict[str, Any], limit: int = 10000) -> list[int]:
    return db.session.scalars(query(filters).with_only_columns(FileProcessingRecord.id).limit(limit)).all()


def retryable_count(filters: dict[str, Any]) -> int:
    """How many files matching the filters a "retry all matching" would queue."""
    FPR = FileProcessingRecord
    return db.session.scalar(
        query(filters).order_by(None).where(FPR.status.in_(actions.RETRYABLE)).with_only_columns(sa.func.count(FPR.id))
    )


def csv_chunks(filters: dict[str, Any], batch: int = 2000) -> Iterator[str]:
    """The filtered list as CSV text, yielded a chunk at a time (constant memory: rows are
    read in batches by id, never all at once)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield drain(buffer)
    names = dict(db.session.execute(sa.select(ExternalFolder.id, ExternalFolder.name)).all())
    base = query(filters).order_by(None)
    last_id = None
    while True:
        rows = _csv_rows(base, last_id, batch)
        if not rows:
            break
        for row in rows:
            values = list(row)
            values[3] = names.get(values[3], values[3])
            writer.writerow([_cell(v) for v in values])
        last_id = rows[-1][0]
        yield drain(buffer)
        db.session.expunge_all()
        if len(rows) < batch:
            break


def _csv_rows(base, last_id, batch):
    """The CSV_COLUMNS of the next `batch` records of `base` below id `last_id`, newest first
    (the folder as its id)."""
    FPR = FileProcessingRecord
    stmt = (
        base.with_only_columns(
            FPR.id,
            FPR.file_name,
            FPR.file_path,
            FPR.folder_id,
            FPR.job_id,
            FPR.status,
            FPR.error_code,
            FPR.error_category,
            FPR.error_message,
            FPR.retry_count,
            FPR.attempts,
            FPR.file_size,
            FPR.audio_seconds,
            FPR.created_at,
            FPR.updated_at,
            FPR.finished_at,
            SalesCall.id,
        )
        .outerjoin(SalesCall, SalesCall.file_id == FPR.id)
        .order_by(FPR.id.desc())
        .limit(batch)
    )
    if last_id is not None:
        stmt = stmt.where(FPR.id < last_id)
    return db.session.execute(stmt).all()


def get_file(file_id: int) -> FileProcessingRecord | None:
    return db.session.get(FileProcessingRecord, file_id)


def detail(record: FileProcessingRecord) -> dict[str, Any]:
    """A file with its events, its error explained, and its call, as a page or API shows it."""
    return {
        "id": record.id,
        "file_name": record.file_name,
        "file_path": record.file_path,
        "folder": {"id": record.folder_id, "name": record.folder.name if record.folder else None},
        "job_id": record.job_id,
        "status": record.status,
        "file_size": record.file_size,
        "audio_seconds": record.audio_seconds,
        "content_sha256": record.content_sha256,
        "retry_count": record.retry_count,
        "attempts": record.attempts,
        "worker_name": record.worker_name,
        "error": _error(record) if record.error_code else None,
        "next_retry_at": iso(record.next_retry_at),
        "created_at": iso(record.created_at),
        "started_at": iso(record.started_at),
        "finished_at": iso(record.finished_at),
        "stage_timings": record.stage_timings,
        "call_id": record.sales_call.id if record.sales_call else None,
        "quality": record.sales_call.quality if record.sales_call else None,
        "quality_reasons": (record.sales_call.quality_reasons or []) if record.sales_call else [],
        "can_retry": record.status in actions.RETRYABLE,
        "events": [_event(e) for e in record.events],
    }


def _error(record):
    """A file's error with its explanation and what fixes it."""
    category, explanation, fix = explain(record.error_code)
    return {
        "code": record.error_code,
        "category": record.error_category or category,
        "message": record.error_message,
        "explanation": explanation,
        "fix": fix,
    }


def _event(event):
    return {
        "id": event.id,
        "at": iso(event.created_at),
        "from": event.from_status,
        "to": event.to_status,
        "message": event.message,
        "details": event.details,
    }


def retry(file_ids: Iterable[int | str], user: User | None = None) -> int:
    """Retry the given files (those failed, skipped or cancelled; others are left alone).
    Returns how many were queued. One audit row lists them."""
    ids = [int(i) for i in file_ids][:10000]
    FPR = FileProcessingRecord
    records = db.session.scalars(sa.select(FPR).where(FPR.id.in_(ids))).all() if ids else []
    retryable = [r.id for r in records if r.status in actions.RETRYABLE]
    if not retryable:
        return 0
    audit_log.record(
        "file.retry",
        ("file", retryable[0]) if len(retryable) == 1 else ("files", len(retryable)),
        after={"file_ids": retryable},
        user=user,
    )
    return actions.retry_files([r for r in records if r.id in set(retryable)], _actor(user))


def _actor(user):
    if user is None:
        from flask import has_request_context
        from flask_login import current_user

        if has_request_context() and current_user.is_authenticated:
            return current_user.email
        return "system"
    return getattr(user, "email", str(user))


def _cell(value):
    if isinstance(value, datetime):
        return value.isoformat()
    return "" if value is None else inert(value, FILE_FORMULA_STARTS)


def summary(record: FileProcessingRecord) -> dict[str, Any]:
    """A file as a list shows it (detail() without the events, the call and the timings)."""
    return {
        "id": record.id,
        "file_name": record.file_name,
        "file_path": record.file_path,
        "folder_id": record.folder_id,
        "job_id": record.job_id,
        "status": record.status,
        "file_size": record.file_size,
        "audio_seconds": record.audio_seconds,
        "error_code": record.error_code,
        "error_category": record.error_category,
        "error_message": record.error_message,
        "retry_count": record.retry_count,
        "attempts": record.attempts,
        "next_retry_at": iso(record.next_retry_at),
        "created_at": iso(record.created_at),
        "updated_at": iso(record.updated_at),
        "finished_at": iso(record.finished_at),
    }
