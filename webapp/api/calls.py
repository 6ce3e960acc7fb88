"""/api/batch/calls: the filed sales calls (filtered list, CSV/JSON export, transcript with
search hits, segments, scorecard) and assigning a call to a customer."""

from flask import Response, stream_with_context
from flask_login import current_user

from ..services import call_export, search, trackers
from ..services import calls as service
from . import bp, page_json
from .errors import checked, found
from .registry import operation
from .schemas import CallAssign, CallQuery, CallsExportQuery, CallsQuery

TAG = "calls"


def _call(call_id):
    return found(service.get_call(call_id), "call", call_id)


def summary(call):
    data = service.view(call)
    for heavy in ("transcript", "segments", "scores", "metrics"):
        data.pop(heavy, None)
    return data


@operation(bp, "GET", "/batch/calls", tag=TAG, summary="List sales calls", query=CallsQuery)
def list_calls(query):
    """Newest call first; every filter given must hold."""
    page = service.list_calls(query.page, query.per_page, **query.filters())
    return page_json(page, summary)


@operation(
    bp,
    "GET",
    "/batch/calls/export",
    tag=TAG,
    summary="Export the filtered calls as CSV or JSON",
    role="manager",
    query=CallsExportQuery,
    produces="text/csv",
)
def export_calls(query):
    """The same filters as the list. One row per call: its facts, `criteria.<id>` (the points of each scorecard
    criterion) and `metrics.<key>` (talk metrics, nested ones as `metrics.talk_share.agent`); in JSON each call is
    an object with `criteria` and `metrics`. Streamed; CSV in UTF-8 with a BOM, formula-like cells prefixed with
    an apostrophe. Each export leaves an audit row."""
    filters = query.filters()
    call_export.record(query.format, filters)
    if query.format == "csv":
        response = Response(stream_with_context(call_export.csv_chunks(filters)), mimetype="text/csv; charset=utf-8")
    else:
        response = Response(
            stream_with_context(call_export.json_chunks(filters)), mimetype="application/json; charset=utf-8"
        )
    response.headers["Content-Disposition"] = f"attachment; filename=callbatch-calls.{query.format}"
    return response


@operation(
    bp,
    "GET",
    "/batch/calls/<int:call_id>",
    tag=TAG,
    summary="Get a call: transcript, segments, scores",
    query=CallQuery,
)
def get_call(call_id, query):
    """With `q`, `hits` lists the segments that say its words (start, end, speaker, text, matched words)."""
    call = _call(call_id)
    data = {**service.view(call), "scorecard": service.scorecard(call), "trackers": trackers.hits_for_call(call)}
    if query.q:
        data["hits"] = [
            {
                "start": h["start"],
                "end": h["end"],
                "speaker": h["speaker"],
                "text": "".join(piece for piece, _matched in h["pieces"]),
                "matched": [piece for piece, matched in h["pieces"] if matched],
            }
            for h in search.hits(call, query.q)
        ]
    return data


@operation(
    bp,
    "POST",
    "/batch/calls/<int:call_id>/assign",
    tag=TAG,
    summary="Assign a call to a customer",
    role="manager",
    body=CallAssign,
)
def assign_call(call_id, body):
    """To an existing customer (`customer_id`), a new one (`new_customer`), or nobody (neither)."""
    new = body.new_customer.model_dump() if body.new_customer else None
    call = checked(service.assign(_call(call_id), customer_id=body.customer_id, new_customer=new, user=current_user))
    return service.view(call)
