"""Calls: the filtered calls list and its CSV/JSON export, the call page (audio streamed with
range requests, the transcript right-to-left with timestamps that seek the player, the scorecard
with evidence) and assigning a call to a customer. The customer pages (views/customers.py) add
their routes to this same blueprint, so their endpoints stay calls.*."""

from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _

from ..auth import role_required
from ..errors import CallbatchError
from ..services import call_export, search
from ..services import calls as service
from ..services import customers as customer_service
from ..services import trackers as tracker_service
from . import require_login

bp = Blueprint("calls", __name__)
EXPORT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json; charset=utf-8"}
require_login(bp)


@bp.get("/calls/")
def index():
    filters = service.parse_filters(request.args)
    page = service.list_calls(request.args.get("page"), **filters)
    return render_template(
        "calls/index.html",
        page=page,
        filters=filters,
        q=filters.get("q", ""),
        unassigned=filters.get("unassigned", False),
        criteria=service.criteria_choices(),
        tracker=filters.get("tracker"),
        trackers=tracker_service.list_trackers(),
        quality=filters.get("quality", ""),
        query=urlencode(filters),
    )


@bp.get("/calls/export.<any(csv, json):fmt>")
@role_required("manager")
def export(fmt):
    """The filtered list, streamed (an audit row says who exported what)."""
    filters = service.parse_filters(request.args)
    call_export.record(fmt, filters)
    chunks = call_export.csv_chunks(filters) if fmt == "csv" else call_export.json_chunks(filters)
    response = Response(stream_with_context(chunks), mimetype=EXPORT_TYPES[fmt])
    response.headers["Content-Disposition"] = f"attachment; filename=callbatch-calls.{fmt}"
    return response


@bp.get("/calls/<id:call_id>")
def detail(call_id):
    call = service.get_call(call_id) or abort(404)
    q = request.args.get("customer_q", "").strip()
    matches = customer_service.search(q) if q else []
    said = request.args.get("q", "").strip()[:200]
    return render_template(
        "calls/detail.html",
        call=call,
        card=service.scorecard(call),
        customer_q=q,
        matches=matches,
        errors=[],
        said=said,
        hits=search.hits(call, said),
        tracker_hits=tracker_service.hits_for_call(call),
    )


@bp.get("/calls/<id:call_id>/audio")
def audio(call_id):
    call = service.get_call(call_id) or abort(404)
    try:
        path, mimetype = service.audio(call)
    except CallbatchError as err:
        return err.message, 404
    # conditional=True answers Range requests with 206 Partial Content (and If-Modified-Since).
    return send_file(path, mimetype=mimetype, conditional=True, max_age=0)


@bp.post("/calls/<id:call_id>/assign")
@role_required("manager")
def assign(call_id):
    call = service.get_call(call_id) or abort(404)
    new = {k: request.form.get(f"new_{k}", "") for k in ("name", "phone", "external_id")}
    customer_id = request.form.get("customer_id", type=int)
    if request.form.get("unassign") == "1":
        _call, errors = service.assign(call)
    else:
        _call, errors = service.assign(
            call, customer_id=customer_id, new_customer=new if not customer_id and any(new.values()) else None
        )
        if not customer_id and not any(new.values()):
            errors = [{"field": "customer_id", "message": _("Choose a customer or enter a new one.")}]
    if errors:
        return render_template(
            "calls/detail.html",
            call=call,
            card=service.scorecard(call),
            customer_q="",
            matches=[],
            errors=errors,
            said="",
            hits=[],
        ), 422
    flash(_("Call assigned.") if call.customer_id else _("Call unassigned."))
    return redirect(url_for("calls.detail", call_id=call_id))
