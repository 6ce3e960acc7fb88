"""/api/batch/calls: the filed sales calls (transcript, segments, scorecard) and assigning a
call to a customer."""
from flask_login import current_user

from ..services import calls as service
from . import bp, page_json
from .errors import found, invalid
from .registry import operation
from .schemas import CallAssign, CallsQuery

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
    page = service.list_calls(query.q, query.customer_id, query.unassigned, query.job_id, query.page,
                              query.per_page)
    return page_json(page, summary)


@operation(bp, "GET", "/batch/calls/<int:call_id>", tag=TAG, summary="Get a call: transcript, segments, scores")
def get_call(call_id):
    call = _call(call_id)
    return {**service.view(call), "scorecard": service.scorecard(call)}


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
