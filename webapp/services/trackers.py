"""Trackers: named phrase lists (competitors, cancellation, price) counted in every call with
the rubric's Hebrew matching (webapp.analysis.hebrew: prefixes, final letters, endings).
Counted when a call is filed, and recounted for every call when a tracker changes, in an RQ
job (or `flask trackers recount`), never in the web request."""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Iterable, Mapping
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from .. import audit_log, queues
from ..analysis import hebrew
from ..extensions import db
from ..models import CallTrackerHit, FileProcessingRecord, SalesCall, Tracker, User
from ..models.types import iso
from ..params import CONTROL
from . import add_created, error, name_taken, reports

log = logging.getLogger(__name__)

RECOUNT_BATCH = 500  # calls per commit while recounting
MAX_PHRASES = 100
MAX_PHRASE_LENGTH = 100
MAX_TIMES = 50  # hit times kept per call and tracker


def list_trackers() -> list[Tracker]:
    return db.session.scalars(sa.select(Tracker).order_by(Tracker.name)).all()


def get_tracker(tracker_id: int) -> Tracker | None:
    return db.session.get(Tracker, tracker_id)


def view(tracker: Tracker) -> dict[str, Any]:
    return {
        "id": tracker.id,
        "name": tracker.name,
        "phrases": list(tracker.phrases or []),
        "created_at": iso(tracker.created_at),
        "updated_at": iso(tracker.updated_at),
    }


def parse_phrases(text: str | None) -> list[str]:
    """Phrases typed one per line or separated by commas ("בזק, פרטנר")."""
    return [p.strip() for p in re.split(r"[,\n،]", text or "") if p.strip()]


def validate(data: Mapping[str, Any], tracker: Tracker | None = None) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """(cleaned, errors) for {"name", "phrases"} (phrases a list, or text to split)."""
    errors = []
    name = data.get("name")
    name = name.strip() if isinstance(name, str) else ""
    if not name or len(name) > 100 or CONTROL.search(name):
        errors.append(error("name", _("Give the tracker a name of 1 to 100 characters.")))
    elif name_taken(Tracker, name, tracker):
        errors.append(error("name", _("A tracker named “%(name)s” already exists.", name=name)))
    phrases = data.get("phrases")
    if isinstance(phrases, str):
        phrases = parse_phrases(phrases)
    if not isinstance(phrases, list) or not all(isinstance(p, str) for p in phrases):
        phrases = []
    phrases = list(dict.fromkeys(p.strip() for p in phrases if p.strip()))
    if not phrases or len(phrases) > MAX_PHRASES:
        errors.append(error("phrases", _("List 1 to %(num)d words or phrases to listen for.", num=MAX_PHRASES)))
    elif any(len(p) > MAX_PHRASE_LENGTH or CONTROL.search(p) or not hebrew.normalize(p) for p in phrases):
        errors.append(
            error(
                "phrases", _("Each phrase needs letters or digits, at most %(num)d characters.", num=MAX_PHRASE_LENGTH)
            )
        )
    return {"name": name, "phrases": phrases}, errors


def create(data: Mapping[str, Any], user: User | None = None) -> tuple[Tracker | None, list[dict[str, str]]]:
    cleaned, errors = validate(data)
    if errors:
        return None, errors
    tracker = add_created(Tracker(**cleaned), "tracker.create", view, user)
    queue_recount(tracker.id)
    return tracker, []


def update(tracker: Tracker, data: Mapping[str, Any], user: User | None = None) -> tuple[Tracker, list[dict[str, str]]]:
    merged = {"name": tracker.name, "phrases": tracker.phrases, **data}
    cleaned, errors = validate(merged, tracker)
    if errors:
        return tracker, errors
    before = view(tracker)
    changed = cleaned["phrases"] != list(tracker.phrases or [])
    tracker.name, tracker.phrases = cleaned["name"], cleaned["phrases"]
    db.session.flush()
    audit_log.record("tracker.update", tracker, before=before, after=view(tracker), user=user)
    db.session.commit()
    if changed:
        queue_recount(tracker.id)
    return tracker, []


def delete(tracker: Tracker, user: User | None = None) -> None:
    audit_log.record("tracker.delete", tracker, before=view(tracker), user=user)
    db.session.execute(sa.delete(CallTrackerHit).where(CallTrackerHit.tracker_id == tracker.id))
    db.session.delete(tracker)
    db.session.commit()


# -- counting -------------------------------------------------------------------------------


def count(
    phrases: Iterable[str], segments: list[dict[str, Any]] | None, text: str | None = ""
) -> tuple[int, list[float]]:
    """(hits, times) of `phrases` in a call: every match in every segment, and the start
    times of the segments they were said in (the transcript text when there are no segments)."""
    return _count([hebrew.phrase_pattern(p) for p in phrases], _pieces(segments, text))


def _pieces(segments, text):
    """A call's words as [(segment start, normalized text)], normalized once for every tracker."""
    pieces = [(s.get("start"), s.get("text") or "") for s in segments or []] or [(None, text or "")]
    return [(start, hebrew.normalize(words)) for start, words in pieces]


def _count(patterns, pieces):
    hits, times = 0, []
    for start, normalized in pieces:
        found = sum(len(rx.findall(normalized)) for rx in patterns)
        hits += found
        if found and start is not None and len(times) < MAX_TIMES:
            times.append(round(float(start), 2))
    return hits, times


def call_filed(call: SalesCall, **_: Any) -> None:
    """Listens to batch.signals.call_filed: a new call's trackers are counted as it is filed."""
    count_call(call)


def count_call(call: SalesCall, trackers: list[Tracker] | None = None) -> None:
    """Count every tracker (or the given ones) in one call: its hit rows replaced, in the caller's transaction."""
    trackers = list_trackers() if trackers is None else trackers
    if trackers:
        _store([(call.id, call.segments, call.transcript)], _compiled(trackers))


def _compiled(trackers):
    return [(t.id, [hebrew.phrase_pattern(p) for p in t.phrases or []]) for t in trackers]


def _store(calls, trackers):
    """Replace the hit rows of `calls` [(id, segments, transcript)] for `trackers` [(id, patterns)],
    with two plain statements (a recount of 10k calls keeps nothing in the session)."""
    db.session.execute(
        sa.delete(CallTrackerHit).where(
            CallTrackerHit.call_id.in_([c[0] for c in calls]), CallTrackerHit.tracker_id.in_([t[0] for t in trackers])
        )
    )
    rows = []
    for call_id, segments, transcript in calls:
        pieces = _pieces(segments, transcript)
        for tracker_id, patterns in trackers:
            hits, times = _count(patterns, pieces)
            if hits:
                rows.append({"call_id": call_id, "tracker_id": tracker_id, "count": hits, "times": times})
    if rows:
        db.session.execute(sa.insert(CallTrackerHit), rows)


def recount(tracker_ids: Collection[int] | None = None, batch: int = RECOUNT_BATCH) -> int:
    """Count the trackers (all, or `tracker_ids`) again in every call, committing each batch of
    calls. Returns how many calls were read."""
    trackers = _compiled(t for t in list_trackers() if not tracker_ids or t.id in tracker_ids)
    if not trackers:
        return 0
    done, last_id = 0, 0
    while True:
        calls = db.session.execute(
            sa.select(SalesCall.id, SalesCall.segments, SalesCall.transcript)
            .where(SalesCall.id > last_id)
            .order_by(SalesCall.id)
            .limit(batch)
        ).all()
        if not calls:
            return done
        _store(calls, trackers)
        last_id = calls[-1][0]
        done += len(calls)
        db.session.commit()


def queue_recount(tracker_id: int | None = None) -> None:
    """Recount in a worker (scans queue: ahead of the recordings). A failure to queue is logged:
    `flask trackers recount` does the same by hand."""
    try:
        queues.queue(queues.SCANS).enqueue(
            queues.job("recount_trackers"),
            [tracker_id] if tracker_id else None,
            job_timeout=3600,
            result_ttl=60,
            failure_ttl=86400,
        )
    except Exception:
        log.warning("could not queue the recount of tracker %s", tracker_id, exc_info=True)


def hits_for_call(call: SalesCall) -> list[dict[str, Any]]:
    """[{tracker, count, times}] of a call, by tracker name."""
    rows = db.session.execute(
        sa.select(Tracker, CallTrackerHit)
        .join(CallTrackerHit, CallTrackerHit.tracker_id == Tracker.id)
        .where(CallTrackerHit.call_id == call.id)
        .order_by(Tracker.name)
    ).all()
    return [{"tracker": view(tracker), "count": hit.count, "times": list(hit.times or [])} for tracker, hit in rows]


def chart(filters: dict[str, Any]) -> dict[str, Any]:
    """Calls mentioning each tracker per day (per week, from Monday, beyond 31 days) in the
    reports' date range: {"unit", "trackers": [names], "series": [(label, [calls per tracker])]}."""
    start, end = reports._window(filters)
    when = sa.func.coalesce(SalesCall.called_at, SalesCall.created_at)
    day = reports._bucket(when, "day").label("day")
    query = (
        sa.select(day, CallTrackerHit.tracker_id, sa.func.count())
        .join(SalesCall, SalesCall.id == CallTrackerHit.call_id)
        .where(when >= start, when < end)
        .group_by(day, CallTrackerHit.tracker_id)
    )
    if filters.get("folder_id"):
        query = query.join(FileProcessingRecord, FileProcessingRecord.id == SalesCall.file_id).where(
            FileProcessingRecord.folder_id == filters["folder_id"]
        )
    cells = {(d, tracker_id): n for d, tracker_id, n in db.session.execute(query).all()}
    tracked = list_trackers()
    days = reports._labels(filters, "day")
    weekly = len(days) > 31
    series = {}
    for label in days:
        bucket = _week_of(label) if weekly else label
        row = series.setdefault(bucket, [0] * len(tracked))
        for n, tracker in enumerate(tracked):
            row[n] += cells.get((label, tracker.id), 0)
    return {
        "unit": "week" if weekly else "day",
        "trackers": [t.name for t in tracked],
        "ids": [t.id for t in tracked],
        "series": list(series.items()),
        "total": sum(cells.values()),
    }


def _week_of(day_label):
    day = date.fromisoformat(day_label)
    return (day - timedelta(days=day.weekday())).isoformat()
