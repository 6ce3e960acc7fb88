"""The filtered calls list as CSV or JSON: each call's facts, its points per scorecard
criterion (`criteria.<id>`) and its talk metrics flattened (`metrics.talk_share.agent`).

Both are streamed: the rows come from one query read `BATCH` at a time (a server-side cursor
on PostgreSQL), so 100,000 calls are never held in memory. The CSV starts with a UTF-8 BOM
(Excel then shows Hebrew) and a text cell that a spreadsheet would run as a formula gets a
leading apostrophe. Every export leaves an audit row naming its format and filters."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from .. import audit_log
from ..extensions import db
from ..models import Customer, SalesCall, User
from .calls import calls_query, criteria_choices
from .spreadsheet import drain, inert

FORMATS = ("csv", "json")
BATCH = 1000
BASE_COLUMNS = (
    "id",
    "call_uuid",
    "called_at",
    "agent",
    "customer_id",
    "customer",
    "duration_seconds",
    "language",
    "engine",
    "model",
    "overall_score",
)


def record(fmt: str, filters: dict[str, Any], user: User | None = None) -> int:
    """The audit row of an export (committed before the first byte is sent)."""
    count = db.session.scalar(sa.select(sa.func.count()).select_from(calls_query(**filters).subquery()))
    audit_log.record("calls.export", after={"format": fmt, "filters": _plain(filters), "calls": count}, user=user)
    db.session.commit()
    return count


def csv_chunks(filters: dict[str, Any]) -> Iterator[str]:
    """The CSV text, a chunk of BATCH rows at a time."""
    criteria, metrics = criterion_columns(filters), metric_columns(filters)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(list(BASE_COLUMNS) + [f"criteria.{c}" for c in criteria] + [f"metrics.{m}" for m in metrics])
    yield "\ufeff" + drain(buffer)
    for n, row in enumerate(_rows(filters), 1):
        writer.writerow(
            [_cell(row[c]) for c in BASE_COLUMNS]
            + [_cell(row["criteria"].get(c)) for c in criteria]
            + [_cell(row["metrics"].get(m)) for m in metrics]
        )
        if n % BATCH == 0:
            yield drain(buffer)
    yield drain(buffer)


def json_chunks(filters: dict[str, Any]) -> Iterator[str]:
    """A JSON array of call objects (`criteria`: {id: points}, `metrics`: flattened)."""
    yield "["
    for n, row in enumerate(_rows(filters)):
        yield ("," if n else "") + "\n" + json.dumps(row, ensure_ascii=False, default=_iso)
    yield "\n]\n"


def _rows(filters):
    ids = calls_query(**filters).with_only_columns(SalesCall.id)
    stmt = (
        sa.select(
            SalesCall.id,
            SalesCall.call_uuid,
            SalesCall.called_at,
            SalesCall.agent,
            SalesCall.customer_id,
            sa.func.coalesce(Customer.name, Customer.phone, Customer.external_id).label("customer"),
            SalesCall.duration_seconds,
            SalesCall.language,
            SalesCall.engine,
            SalesCall.model,
            SalesCall.overall_score,
            SalesCall.scores,
            SalesCall.metrics,
        )
        .outerjoin(Customer, Customer.id == SalesCall.customer_id)
        .where(SalesCall.id.in_(ids))
        .order_by(SalesCall.called_at.desc().nulls_last(), SalesCall.id.desc())
        .execution_options(yield_per=BATCH)
    )
    for row in db.session.execute(stmt):
        data = {c: getattr(row, c) for c in BASE_COLUMNS}
        data["called_at"] = _iso(row.called_at)
        data["criteria"] = {
            c.get("id"): c.get("score") for c in (row.scores or {}).get("criteria") or [] if isinstance(c, dict)
        }
        data["metrics"] = flatten(row.metrics or {})
        yield data


def flatten(metrics: dict[str, Any]) -> dict[str, Any]:
    """{"talk_share": {"agent": 0.6}} → {"talk_share.agent": 0.6}, one level deep (what the
    metrics hold); anything deeper stays a value."""
    flat = {}
    for key, value in metrics.items():
        if isinstance(value, dict):
            flat.update({f"{key}.{sub}": item for sub, item in value.items()})
        else:
            flat[key] = value
    return flat


def criterion_columns(filters: dict[str, Any]) -> list[str]:
    """The criterion ids of the exported calls: the scorecard's order first, then any other
    (a folder's own scorecard) alphabetically. Found by the database, not by reading the rows."""
    pg = _postgresql()
    if pg:
        criteria = SalesCall.scores["criteria"]
        array = sa.case((sa.func.jsonb_typeof(criteria) == "array", criteria), else_=_empty("[]"))
        item = _each(sa.func.jsonb_array_elements(array), "value", name="criterion")
        criterion_id = item.c.value.op("->>")("id")
    else:
        item = _each(sa.func.json_each(SalesCall.scores, "$.criteria"), "value", name="criterion")
        criterion_id = sa.func.json_extract(item.c.value, "$.id")
    stmt = _beside(sa.select(criterion_id).distinct(), item).where(SalesCall.id.in_(_ids(filters)))
    found = set(db.session.scalars(stmt).all()) - {None}
    known = [c for c, _label in criteria_choices() if c in found]
    return known + sorted(found - set(known))


def metric_columns(filters: dict[str, Any]) -> list[str]:
    """The flattened metric keys of the exported calls, alphabetically (found by the database)."""
    if _postgresql():
        metrics = sa.case((sa.func.jsonb_typeof(SalesCall.metrics) == "object", SalesCall.metrics), else_=_empty("{}"))
        top = _each(sa.func.jsonb_each(metrics), sa.column("key", sa.Text), "value", name="metric")
        is_object = sa.func.jsonb_typeof(top.c.value) == "object"
        inner = sa.func.jsonb_each(sa.case((is_object, top.c.value), else_=_empty("{}")))
    else:
        top = _each(sa.func.json_each(SalesCall.metrics), sa.column("key", sa.Text), "value", "type", name="metric")
        is_object = top.c.type == "object"
        inner = sa.func.json_each(sa.case((is_object, top.c.value), else_="{}"))
    sub = _each(inner, sa.column("key", sa.Text), name="part")
    ids = _ids(filters)
    plain = _beside(sa.select(top.c.key).distinct(), top).where(SalesCall.id.in_(ids), sa.not_(is_object))
    nested = _beside(sa.select(top.c.key.concat(".").concat(sub.c.key)).distinct(), top, sub).where(
        SalesCall.id.in_(ids), is_object
    )
    return sorted(set(db.session.scalars(plain)) | set(db.session.scalars(nested)))


def _ids(filters):
    return calls_query(**filters).with_only_columns(SalesCall.id)


def _postgresql():
    return db.engine.dialect.name == "postgresql"


def _empty(text):
    return sa.cast(text, SalesCall.metrics.type)


def _each(function, *columns, name):
    """A JSON table function over each call's row: LATERAL on PostgreSQL; SQLite's table
    functions see the row beside them by themselves."""
    item = function.table_valued(*columns)
    return item.lateral(name) if _postgresql() else item.alias(name)


def _beside(stmt, *items):
    stmt = stmt.select_from(SalesCall)
    for item in items:
        stmt = stmt.join(item, sa.true())
    return stmt


def _cell(value):
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else inert(value)


def _iso(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value if value is None else str(value)


def _plain(filters):
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in filters.items()}
