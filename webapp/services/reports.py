"""Reports: processing performance (files/hour, average and p95 time per stage, success
rate), error analysis (counts by code and category over time), the score distribution and
the talk metrics per agent (calls whose speakers are known).

Every query runs on PostgreSQL and SQLite alike: time buckets use a per-dialect expression
(`_bucket`), and percentiles are computed in Python over the rows of the window (at most
TIMING_SAMPLE of the latest), so no database-specific percentile function is needed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import sqlalchemy as sa

from ..batch.status import CANCELLED, COMPLETED, FAILED, SKIPPED
from ..extensions import db
from ..models import FileProcessingRecord, SalesCall

DEFAULT_DAYS = 7
MAX_DAYS = 366
TIMING_SAMPLE = 20000  # stage timings read to compute averages and percentiles
SCORE_BINS = [(i, i + 10) for i in range(0, 100, 10)]
STAGE_ORDER = ("download_ms", "probe_ms", "model_load_ms", "asr_ms", "scoring_ms", "db_ms")


def parse_filters(args: Mapping[str, Any], today: date | None = None) -> dict[str, Any]:
    """Date range (YYYY-MM-DD, inclusive, UTC) and folder from a query string. Missing or
    malformed dates fall back to the last DEFAULT_DAYS days; the range is at most MAX_DAYS."""
    today = today or datetime.now(timezone.utc).date()
    date_to = _date(args.get("date_to")) or today
    date_from = _date(args.get("date_from")) or date_to - timedelta(days=DEFAULT_DAYS - 1)
    if date_from > date_to:
        date_from, date_to = date_to, date_from
    if (date_to - date_from).days >= MAX_DAYS:
        date_from = date_to - timedelta(days=MAX_DAYS - 1)
    try:
        folder_id = max(0, int(args.get("folder_id") or 0)) or None
    except (TypeError, ValueError):
        folder_id = None
    return {"date_from": date_from, "date_to": date_to, "folder_id": folder_id}


def _date(value):
    try:
        return datetime.strptime((value or "").strip(), "%Y-%m-%d").date()
    except ValueError:
        return None


def _window(filters):
    start = datetime.combine(filters["date_from"], time.min, tzinfo=timezone.utc)
    end = datetime.combine(filters["date_to"] + timedelta(days=1), time.min, tzinfo=timezone.utc)
    return start, end


def _unit(filters):
    """Hourly buckets for a range of up to two days, daily beyond."""
    return "hour" if (filters["date_to"] - filters["date_from"]).days < 2 else "day"


def _bucket(column, unit):
    """A text label of `column`'s UTC hour or day ('2024-05-01' / '2024-05-01 13:00')."""
    if db.engine.dialect.name == "postgresql":
        fmt = "YYYY-MM-DD HH24:00" if unit == "hour" else "YYYY-MM-DD"
        return sa.func.to_char(sa.func.timezone("UTC", column), fmt)
    # SQLite keeps datetimes as ISO text ('YYYY-MM-DD HH:MM:SS...') in UTC
    if unit == "hour":
        return sa.func.substr(column, 1, 13).concat(":00")
    return sa.func.substr(column, 1, 10)


def _labels(filters, unit):
    start, end = _window(filters)
    step = timedelta(hours=1) if unit == "hour" else timedelta(days=1)
    labels, moment = [], start
    while moment < end:
        labels.append(moment.strftime("%Y-%m-%d %H:00" if unit == "hour" else "%Y-%m-%d"))
        moment += step
    return labels


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile of `values` (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))  # ceil(n * pct / 100)
    return ordered[int(rank) - 1]


def _records(filters, column):
    FPR = FileProcessingRecord
    start, end = _window(filters)
    conditions = [column >= start, column < end]
    if filters.get("folder_id"):
        conditions.append(FPR.folder_id == filters["folder_id"])
    return conditions


def performance(filters: dict[str, Any]) -> dict[str, Any]:
    """Files/hour, outcome counts, success rate, a files-per-bucket series, and per-stage
    average/p95 times (ms) for the files finished in the window."""
    FPR = FileProcessingRecord
    where = _records(filters, FPR.finished_at)
    outcomes = dict(db.session.execute(sa.select(FPR.status, sa.func.count()).where(*where).group_by(FPR.status)).all())
    completed, failed = outcomes.get(COMPLETED, 0), outcomes.get(FAILED, 0)
    start, end = _window(filters)
    now = datetime.now(timezone.utc)
    hours = max((min(end, now) - start).total_seconds() / 3600, 1 / 60)
    unit = _unit(filters)
    label = _bucket(FPR.finished_at, unit).label("bucket")
    per_bucket = dict(
        db.session.execute(
            sa.select(label, sa.func.count()).where(*where, FPR.status == COMPLETED).group_by(label)
        ).all()
    )
    series = [(name, per_bucket.get(name, 0)) for name in _labels(filters, unit)]
    timings = db.session.scalars(
        sa.select(FPR.stage_timings)
        .where(*where, FPR.status == COMPLETED, FPR.stage_timings.is_not(None))
        .order_by(FPR.finished_at.desc())
        .limit(TIMING_SAMPLE)
    ).all()
    stages = stage_stats(timings)
    return {
        "completed": completed,
        "failed": failed,
        "skipped": outcomes.get(SKIPPED, 0),
        "cancelled": outcomes.get(CANCELLED, 0),
        "files_per_hour": round(completed / hours, 1),
        "success_rate": round(100.0 * completed / (completed + failed), 1) if completed + failed else None,
        "unit": unit,
        "series": series,
        "stages": stages,
        "sampled": len(timings),
        "stage_series": [(row["stage"], row["p95_ms"]) for row in stages if row["stage"] != "total"],
    }


def stage_stats(timings: Iterable[object]) -> list[dict[str, Any]]:
    """[{stage, count, avg_ms, p95_ms}] for each stage in the stage_timings dicts (the `_ms`
    entries; others, such as the model load count, are not times), plus the total."""
    values = {}
    for entry in timings:
        if not isinstance(entry, dict):
            continue
        total = 0.0
        for key, value in entry.items():
            if key.endswith("_ms") and isinstance(value, (int, float)) and not isinstance(value, bool):
                values.setdefault(key, []).append(float(value))
                total += float(value)
        values.setdefault("total", []).append(total)
    order = [s for s in STAGE_ORDER if s in values] + sorted(set(values) - set(STAGE_ORDER) - {"total"})
    rows = []
    for key in order + (["total"] if "total" in values else []):
        data = values[key]
        rows.append(
            {
                "stage": key.removesuffix("_ms"),
                "count": len(data),
                "avg_ms": round(sum(data) / len(data), 1),
                "p95_ms": round(percentile(data, 95), 1),
            }
        )
    return rows


def errors(filters: dict[str, Any]) -> dict[str, Any]:
    """Problem files (an error code set) updated in the window: totals by code (with its
    category) and by category, and a per-bucket series by category."""
    FPR = FileProcessingRecord
    where = _records(filters, FPR.updated_at) + [FPR.error_code.is_not(None)]
    category = sa.func.coalesce(FPR.error_category, "validation")
    by_code = [
        {"code": code, "category": cat, "count": count}
        for code, cat, count in db.session.execute(
            sa.select(FPR.error_code, category, sa.func.count())
            .where(*where)
            .group_by(FPR.error_code, category)
            .order_by(sa.func.count().desc(), FPR.error_code)
        ).all()
    ]
    by_category = {}
    for row in by_code:
        by_category[row["category"]] = by_category.get(row["category"], 0) + row["count"]
    unit = _unit(filters)
    label = _bucket(FPR.updated_at, unit).label("bucket")
    cells = {}
    for bucket, cat, count in db.session.execute(
        sa.select(label, category, sa.func.count()).where(*where).group_by(label, category)
    ).all():
        cells[(bucket, cat)] = count
    categories = sorted(by_category, key=lambda c: -by_category[c])
    series = [(name, [cells.get((name, cat), 0) for cat in categories]) for name in _labels(filters, unit)]
    return {
        "by_code": by_code,
        "by_category": sorted(by_category.items(), key=lambda kv: -kv[1]),
        "categories": categories,
        "series": series,
        "unit": unit,
        "total": sum(by_category.values()),
    }


def scores(filters: dict[str, Any]) -> dict[str, Any]:
    """Calls created in the window, counted per 10-point score band (0–100), with the mean."""
    FPR = FileProcessingRecord
    start, end = _window(filters)
    where = [SalesCall.created_at >= start, SalesCall.created_at < end, SalesCall.overall_score.is_not(None)]
    query = sa.select(SalesCall.overall_score)
    if filters.get("folder_id"):
        query = query.join(FPR, FPR.id == SalesCall.file_id)
        where.append(FPR.folder_id == filters["folder_id"])
    score = SalesCall.overall_score
    band = sa.case(*[(score < high, low) for low, high in SCORE_BINS[:-1]], else_=SCORE_BINS[-1][0])
    counts = dict(
        db.session.execute(
            query.with_only_columns(band.label("band"), sa.func.count()).where(*where).group_by(band)
        ).all()
    )
    mean = db.session.scalar(query.with_only_columns(sa.func.avg(score)).where(*where))
    bins = [(f"{low}–{high}", counts.get(low, 0)) for low, high in SCORE_BINS]
    review = [SalesCall.created_at >= start, SalesCall.created_at < end, SalesCall.quality == "needs_review"]
    if filters.get("folder_id"):
        review.append(FPR.folder_id == filters["folder_id"])
    needs_review = db.session.scalar(query.with_only_columns(sa.func.count()).where(*review))
    return {
        "bins": bins,
        "count": sum(c for _label, c in bins),
        "needs_review": needs_review,
        "mean": round(float(mean), 1) if mean is not None else None,
    }


def talk(filters: dict[str, Any]) -> list[dict[str, Any]]:
    """Per agent (the name delivered with the call; "" when none), over the calls created in
    the window whose speakers are known: [{agent, calls, talk_ratio, patience_seconds,
    interruptions}], the averages per call (patience over the calls where the agent answered)."""
    FPR = FileProcessingRecord
    start, end = _window(filters)
    query = (
        sa.select(SalesCall.agent, SalesCall.metrics)
        .where(SalesCall.created_at >= start, SalesCall.created_at < end)
        .order_by(SalesCall.id.desc())
        .limit(TIMING_SAMPLE)
    )
    if filters.get("folder_id"):
        query = query.join(FPR, FPR.id == SalesCall.file_id).where(FPR.folder_id == filters["folder_id"])
    by_agent = {}
    for agent, metrics in db.session.execute(query):
        if not metrics or metrics.get("talk_ratio") is None:
            continue
        by_agent.setdefault(agent or "", []).append(metrics)
    rows = []
    for agent, calls in sorted(by_agent.items()):
        patience = [m["patience_seconds"] for m in calls if m.get("patience_seconds") is not None]
        rows.append(
            {
                "agent": agent,
                "calls": len(calls),
                "talk_ratio": round(sum(m["talk_ratio"] for m in calls) / len(calls), 3),
                "patience_seconds": round(sum(patience) / len(patience), 2) if patience else None,
                "interruptions": round(sum(m.get("interruptions", 0) for m in calls) / len(calls), 1),
            }
        )
    return rows


def report(filters: dict[str, Any]) -> dict[str, Any]:
    return {
        "performance": performance(filters),
        "errors": errors(filters),
        "scores": scores(filters),
        "talk": talk(filters),
    }
