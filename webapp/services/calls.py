"""Sales calls: the filtered list (words said, agent, customer, score, a criterion failed,
day), detail (transcript segments, scorecard with evidence), the audio file to stream, and
assigning a call to a customer."""

from __future__ import annotations

import mimetypes
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import joinedload

from .. import audit_log
from ..analysis import customers as customer_links
from ..analysis.quality import VERDICTS
from ..analysis.scorers.rubric import load_rubric
from ..batch.discovery import storage_for
from ..errors import CallbatchError, FileAccessError
from ..extensions import db
from ..models import CallTrackerHit, Customer, SalesCall, User
from ..models.types import iso
from ..params import number
from . import Page, error, paginate, search

AUDIO_TYPES = {".mp3": "audio/mpeg", ".wav": "audio/wav", ".m4a": "audio/mp4", ".aac": "audio/aac", ".ogg": "audio/ogg"}


CALL_ID_START = re.compile(r"(?=.*[a-fA-F-])[0-9a-fA-F-]{8,36}")
FILTERS = (
    "q",
    "agent",
    "customer",
    "customer_id",
    "unassigned",
    "job_id",
    "score_min",
    "score_max",
    "criterion_failed",
    "date_from",
    "date_to",
    "tracker",
    "quality",
)


def parse_filters(args: Mapping[str, Any]) -> dict[str, Any]:
    """Clean filters from a page's query string (or any mapping), for list_calls: blank or
    malformed values are dropped, so a bookmarked URL never errors (ids and dates were checked
    by webapp.params already)."""
    get = args.get
    filters = {}
    for key in ("q", "agent", "customer", "criterion_failed"):
        text = (get(key) or "").strip()
        if text:
            filters[key] = text[:200]
    for key in ("customer_id", "job_id", "tracker"):
        text = str(get(key) or "").strip()
        if text.isdigit() and int(text) > 0:
            filters[key] = int(text)
    if get("quality") in VERDICTS:
        filters["quality"] = get("quality")
    if str(get("unassigned") or "").lower() in ("1", "true", "on"):
        filters["unassigned"] = True
    for key in ("score_min", "score_max"):
        value = number(get(key)) if get(key) not in (None, "") else None
        if value is not None:
            filters[key] = value
    for key in ("date_from", "date_to"):
        try:
            filters[key] = date.fromisoformat(str(get(key) or "").strip())
        except ValueError:
            pass
    return filters


def list_calls(page: object = 1, per_page: object = 50, **filters: Any) -> Page:
    """One page of the calls matching `filters` (calls_query's), newest call first."""
    query = (
        calls_query(**filters)
        .options(joinedload(SalesCall.customer))
        .order_by(SalesCall.called_at.desc().nulls_last(), SalesCall.id.desc())
    )
    return paginate(query, page, per_page)


def calls_query(
    q: str | None = None,
    agent: str | None = None,
    customer: str | None = None,
    customer_id: int | None = None,
    unassigned: bool = False,
    job_id: int | None = None,
    score_min: float | None = None,
    score_max: float | None = None,
    criterion_failed: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    tracker: int | None = None,
    quality: str | None = None,
) -> sa.Select:
    """The select of calls matching every filter given: `q` words said in the call (or a call
    id), `agent` and `customer` (name, phone or external id) containing text, the overall score
    from `score_min` to `score_max`, a criterion (`criterion_failed`, its id) whose points were
    not earned, the call's day (UTC) from `date_from` to `date_to`, inclusive, a `tracker` (id)
    heard in the call, and the transcript's `quality` verdict. No joins:
    each filter is one condition, so the export can select what it needs around them."""
    query = sa.select(SalesCall)
    if q:
        query = query.where(_said_or_id(q.strip()))
    if agent:
        query = query.where(SalesCall.agent.ilike("%" + _like(agent.strip()) + "%", escape="\\"))
    if customer:
        query = query.where(SalesCall.customer_id.in_(_customers_like(customer.strip())))
    if customer_id:
        query = query.where(SalesCall.customer_id == customer_id)
    if unassigned:
        query = query.where(SalesCall.customer_id.is_(None))
    if job_id:
        query = query.where(SalesCall.job_id == job_id)
    if tracker:  # calls in which the tracker's phrases were heard
        heard = sa.select(CallTrackerHit.call_id).where(CallTrackerHit.tracker_id == tracker)
        query = query.where(SalesCall.id.in_(heard))
    if quality in VERDICTS:
        query = query.where(SalesCall.quality == quality)
    if score_min is not None:
        query = query.where(SalesCall.overall_score >= score_min)
    if score_max is not None:
        query = query.where(SalesCall.overall_score <= score_max)
    if criterion_failed:
        query = query.where(_failed(criterion_failed))
    if date_from:
        query = query.where(SalesCall.called_at >= datetime.combine(date_from, time.min, timezone.utc))
    if date_to:
        query = query.where(SalesCall.called_at < datetime.combine(date_to, time.min, timezone.utc) + timedelta(days=1))
    return query


def _customers_like(text):
    """The ids of the customers whose name, phone or external id contains `text`."""
    like = "%" + _like(text) + "%"
    return sa.select(Customer.id).where(
        sa.or_(
            Customer.name.ilike(like, escape="\\"),
            Customer.phone.ilike(like, escape="\\"),
            Customer.external_id.ilike(like, escape="\\"),
        )
    )


def _said_or_id(q):
    """The beginning of a call id (8 or more of its characters), else words said in the call.
    Never both: an OR with the id would keep PostgreSQL from using the search indexes."""
    if CALL_ID_START.fullmatch(q):
        return SalesCall.call_uuid.ilike(_like(q) + "%", escape="\\")
    said = search.condition(q)
    return said if said is not None else sa.false()


def _failed(criterion_id):
    """The call's scorecard has criterion `criterion_id`, applicable and not passed."""
    if db.engine.dialect.name == "postgresql":
        wanted = sa.literal([{"id": criterion_id, "passed": False}], JSONB)
        return SalesCall.scores["criteria"].op("@>")(wanted)
    item = sa.func.json_each(SalesCall.scores, "$.criteria").table_valued("value").alias("criterion")
    return sa.exists(
        sa.select(1)
        .select_from(item)
        .where(
            sa.func.json_extract(item.c.value, "$.id") == criterion_id,
            sa.func.json_extract(item.c.value, "$.passed") == 0,
        )
    )


def criteria_choices() -> list[tuple[str, str]]:
    """[(id, label)] of the scorecard in use, for the filter and the export's column order."""
    from .settings import rubric

    document = rubric().get("document") or load_rubric({})
    return [(c["id"], c.get("label") or c["id"]) for c in document.get("criteria") or []]


def _like(text):
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def get_call(call_id: int) -> SalesCall | None:
    return db.session.get(SalesCall, call_id)


def scorecard(call: SalesCall) -> dict[str, Any]:
    """The scores document in a shape a page can draw: overall, pass mark, summary and each
    criterion with its evidence quotes (text, time) and what was missing."""
    scores = call.scores or {}
    criteria = []
    for crit in scores.get("criteria") or []:
        criteria.append({**crit, "evidence": sorted(crit.get("evidence") or [], key=lambda e: e.get("start") or 0)})
    return {
        "overall": scores.get("overall", call.overall_score),
        "pass_mark": scores.get("pass_mark"),
        "summary": scores.get("summary"),
        "scorer": scores.get("scorer"),
        "rubric": scores.get("rubric"),
        "criteria": criteria,
        "empty": scores.get("empty", not criteria),
    }


def view(call: SalesCall) -> dict[str, Any]:
    return {
        "id": call.id,
        "call_uuid": call.call_uuid,
        "file_id": call.file_id,
        "job_id": call.job_id,
        "customer": None
        if not call.customer
        else {"id": call.customer.id, "name": call.customer.name, "phone": call.customer.phone},
        "agent": call.agent,
        "called_at": iso(call.called_at),
        "duration_seconds": call.duration_seconds,
        "language": call.language,
        "transcript": call.transcript,
        "segments": call.segments or [],
        "engine": call.engine,
        "model": call.model,
        "overall_score": call.overall_score,
        "quality": call.quality,
        "quality_reasons": call.quality_reasons or [],
        "scores": call.scores,
        "metrics": call.metrics,
        "created_at": iso(call.created_at),
    }


def audio(call: SalesCall) -> tuple[str, str]:
    """(local path, mimetype) of the call's recording, for streaming with range requests.
    Local folders are read in place; cloud recordings are downloaded once into the instance's
    audio cache. Raises CallbatchError when the recording cannot be had."""
    record = call.file
    if record is None or record.folder is None:
        raise FileAccessError("The recording's file record or folder was removed.", code="FILE_NOT_FOUND")
    ext = os.path.splitext(record.file_name)[1].lower()
    mimetype = AUDIO_TYPES.get(ext) or mimetypes.guess_type(record.file_name)[0] or "application/octet-stream"
    path = _original(call, record, ext)
    if call.redacted_spans and (record.folder.analysis_config or {}).get("redact"):
        return _silenced(call, path), "audio/wav"
    return path, mimetype


def _original(call, record, ext):
    storage = storage_for(record.folder)
    if record.folder.storage_type == "local":
        return storage.local_path(record.file_path)
    cache_dir = os.path.join(current_app.instance_path, "audio-cache")
    os.makedirs(cache_dir, exist_ok=True)
    cached = os.path.join(cache_dir, f"{call.content_sha256}{ext}")
    if not os.path.exists(cached):
        with storage.download_file(record.file_path) as path:
            fd, partial = tempfile.mkstemp(dir=cache_dir, suffix=".part")
            os.close(fd)
            shutil.copyfile(path, partial)
            os.replace(partial, cached)
    return cached


def _silenced(call, original):
    """The recording with the moments that held personal data silenced (a WAV made once with
    ffmpeg into the instance's redacted-audio folder): what viewers of a redacting folder hear."""
    folder = os.path.join(current_app.instance_path, "audio-redacted")
    os.makedirs(folder, exist_ok=True)
    silenced = os.path.join(folder, f"{call.content_sha256}.wav")
    if os.path.exists(silenced):
        return silenced
    quiet = "+".join(f"between(t,{start:.2f},{end:.2f})" for start, end in call.redacted_spans)
    fd, partial = tempfile.mkstemp(dir=folder, suffix=".wav")
    os.close(fd)
    try:
        subprocess.run(
            [
                "ffmpeg",
                "-nostdin",
                "-loglevel",
                "error",
                "-y",
                "-i",
                original,
                "-af",
                f"volume=enable='{quiet}':volume=0",
                partial,
            ],
            check=True,
            capture_output=True,
            timeout=600,
        )
        os.replace(partial, silenced)
    except (OSError, subprocess.SubprocessError) as err:
        if os.path.exists(partial):
            os.remove(partial)
        raise FileAccessError(
            "The recording with its personal data silenced could not be made, so it is not played.",
            details={"error": type(err).__name__},
        ) from err
    return silenced


def assign(
    call: SalesCall,
    customer_id: int | str | None = None,
    new_customer: dict[str, Any] | None = None,
    user: User | None = None,
) -> tuple[SalesCall, list[dict[str, str]]]:
    """Assign a call to an existing customer (`customer_id`), to a new one (`new_customer` =
    {"name", "phone", "external_id"}), or unassign it (neither). Returns (call, errors)."""
    before = {"customer_id": call.customer_id}
    customer = None
    if customer_id:
        customer = db.session.get(Customer, int(customer_id))
        if customer is None:
            return call, [error("customer_id", f"There is no customer {customer_id}.")]
    elif new_customer:
        from .customers import create_customer

        customer, errors = create_customer(new_customer, user=user, commit=False)
        if errors:
            db.session.rollback()
            return call, errors
    try:
        customer_links.assign(call, customer)
    except CallbatchError as err:
        db.session.rollback()
        return call, [error("customer_id", err.message)]
    audit_log.record("call.assign", call, before=before, after={"customer_id": call.customer_id}, user=user)
    db.session.commit()
    return call, []
