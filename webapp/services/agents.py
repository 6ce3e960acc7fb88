"""The per-agent report: for each agent, the calls in a date range, the average overall score
and per criterion, the agent's share of the talking (metrics.talk_share["agent"], from
speaker-labelled transcripts) and the trend against the period just before of the same
length. The same table as a page, a CSV download and the API."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from ..extensions import db
from ..models import FileProcessingRecord, SalesCall
from . import reports
from .spreadsheet import inert

DEFAULT_DAYS = 28
NO_AGENT = ""  # calls whose metadata named no agent


def parse_filters(args: Mapping[str, Any], today: date | None = None) -> dict[str, Any]:
    """The reports' date range and folder; without dates, the last DEFAULT_DAYS days."""
    filters = reports.parse_filters(args, today)
    if reports._date(args.get("date_from")) is None:
        filters["date_from"] = filters["date_to"] - timedelta(days=DEFAULT_DAYS - 1)
    return filters


def previous(filters: dict[str, Any]) -> dict[str, Any]:
    """The period of the same length just before `filters`."""
    days = (filters["date_to"] - filters["date_from"]).days + 1
    return {
        **filters,
        "date_from": filters["date_from"] - timedelta(days=days),
        "date_to": filters["date_from"] - timedelta(days=1),
    }


def _calls(filters):
    start, end = reports._window(filters)
    when = sa.func.coalesce(SalesCall.called_at, SalesCall.created_at)
    query = sa.select(SalesCall.agent, SalesCall.overall_score, SalesCall.scores, SalesCall.metrics).where(
        when >= start, when < end
    )
    if filters.get("folder_id"):
        query = query.join(FileProcessingRecord, FileProcessingRecord.id == SalesCall.file_id).where(
            FileProcessingRecord.folder_id == filters["folder_id"]
        )
    return db.session.execute(query).all()


def _mean(values):
    values = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return round(sum(values) / len(values), 1) if values else None


def report(filters: dict[str, Any]) -> dict[str, Any]:
    """{"criteria": [(id, label)], "rows": [{agent, calls, average, criteria: {id: avg}, talk_share,
    previous_average, change}], "period", "previous"}: agents by number of calls."""
    before = previous(filters)
    earlier = {}
    for agent, score, _scores, _metrics in _calls(before):
        earlier.setdefault(agent or NO_AGENT, []).append(score)
    groups, labels = {}, {}
    for agent, score, scores, metrics in _calls(filters):
        group = groups.setdefault(agent or NO_AGENT, {"scores": [], "criteria": {}, "talk": []})
        group["scores"].append(score)
        for crit in (scores or {}).get("criteria") or []:
            if crit.get("id"):
                labels.setdefault(crit["id"], crit.get("label") or crit["id"])
                group["criteria"].setdefault(crit["id"], []).append(crit.get("score"))
        share = ((metrics or {}).get("talk_share") or {}).get("agent")
        if share is not None:
            group["talk"].append(share * 100)
    rows = []
    for agent, group in groups.items():
        average, past = _mean(group["scores"]), _mean(earlier.get(agent, []))
        rows.append(
            {
                "agent": agent,
                "calls": len(group["scores"]),
                "average": average,
                "criteria": {cid: _mean(values) for cid, values in group["criteria"].items()},
                "talk_share": _mean(group["talk"]),
                "previous_average": past,
                "change": round(average - past, 1) if average is not None and past is not None else None,
            }
        )
    rows.sort(key=lambda r: (-r["calls"], r["agent"]))
    return {"criteria": list(labels.items()), "rows": rows, "period": filters, "previous": before}


def view(data: dict[str, Any]) -> dict[str, Any]:
    """The report as the API returns it (dates as text)."""

    def period(f):
        return {"date_from": f["date_from"].isoformat(), "date_to": f["date_to"].isoformat()}

    return {
        "period": period(data["period"]),
        "previous_period": period(data["previous"]),
        "criteria": [{"id": cid, "label": label} for cid, label in data["criteria"]],
        "agents": [{**row, "agent": row["agent"] or None} for row in data["rows"]],
    }


def csv_text(data: dict[str, Any], headings: list[str]) -> str:
    """The table as CSV: a UTF-8 BOM (spreadsheets then read Hebrew right), and no cell a
    spreadsheet would run as a formula. `headings`: the fixed columns' titles, in the reader's language."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([*headings, *(label for _cid, label in data["criteria"])])
    for row in data["rows"]:
        writer.writerow(
            [
                _cell(v)
                for v in (
                    row["agent"],
                    row["calls"],
                    row["average"],
                    row["talk_share"],
                    row["previous_average"],
                    row["change"],
                    *(row["criteria"].get(cid) for cid, _label in data["criteria"]),
                )
            ]
        )
    return "\ufeff" + buffer.getvalue()


def _cell(value):
    return "" if value is None else inert(value)
