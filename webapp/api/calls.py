"""/api/batch/calls: the filed sales calls (transcript, segments, scorecard) and assigning a
call to a customer."""
from flask_login import current_user

from ..services import calls as service
from ..services import trackers
from . import bp, page_json
from .errors import invalid, not_found
from .registry import operation
from .schemas import CallAssign, CallsQuery

TAG = "calls"


def _call(call_id):
    call = service.get_call(call_id)
    if call is None:
        raise not_found("call", call_id)
    return call


def summary(call):
    data = service.view(call)
    for heavy in ("transcript", "segments", "scores", "metrics"):
        data.pop(heavy, None)
    return data


@operation(bp, "GET", "/batch/calls", tag=TAG, summary="List sales calls", query=CallsQuery)
def list_calls(query):
    page = service.list_calls(query.q, query.customer_id, query.unassigned, query.job_id, query.page,
                              query.per_page, tracker=query.tracker, quality=query.quality)
    return page_json(page, summary)


@operation(bp, "GET", "/batch/calls/<int:call_id>", tag=TAG, summary="Get a call: transcript, segments, scores")
def get_call(call_id):
    call = _call(call_id)
    return {**service.view(call), "scorecard": service.scorecard(call), "trackers": trackers.hits_for_call(call)}


@operation(bp, "POST", "/batch/calls/<int:call_id>/assign", tag=TAG, summary="Assign a call to a customer",
           role="manager", body=CallAssign)
def assign_call(call_id, body):
    """To an existing customer (`customer_id`), a new one (`new_customer`), or nobody (neither)."""
    new = body.new_customer.model_dump() if body.new_customer else None
    call, errors = service.assign(_call(call_id), customer_id=body.customer_id, new_customer=new,
                                  user=current_user)
    if errors:
        raise invalid(errors)
    return service.view(call)
