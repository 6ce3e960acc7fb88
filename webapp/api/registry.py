"""A small route registry: each API operation is declared once, with the pydantic models
that validate its query and body. The same declarations register the Flask routes and
generate the OpenAPI 3.1 document, so the document cannot drift from the validation.

    @operation(bp, "POST", "/batch/folders", tag="folders", role="admin", body=FolderCreate,
               status=201, summary="Create a folder")
    def create_folder(body): ...

The view receives `body` (a validated model, or a dict for `body=dict`), `query` (a
validated model) and the path parameters. It returns a JSON-able value, `(value, status)`
or a Response."""

import functools
from dataclasses import dataclass

from flask import Response, jsonify, request
from pydantic import BaseModel

from .auth import require
from .errors import ApiError
from .idempotency import idempotent_call
from .input import parse_body, parse_query

ROUTES = []
MAX_INT = 2**31 - 1


@dataclass
class Operation:
    """One API operation as it is declared: what `operation` takes beside the blueprint."""

    method: str
    rule: str  # Flask rule relative to /api
    endpoint: str
    tag: str
    summary: str
    description: str = ""  # empty: the view's docstring
    role: str | None = "viewer"  # None: no sign-in (receivers check their own secret)
    body: object = None  # pydantic model class, dict (any JSON object) or None
    query: type | None = None
    status: int = 200
    response: object = None  # pydantic model class for the documented 2xx body
    responses: dict | None = None  # extra {status: description}
    idempotent: bool = False
    produces: str = "application/json"
    extra_parameters: list | None = None
    body_doc: dict | None = None  # documented (not validated here) body: receivers read it raw

    def __post_init__(self):
        self.responses = dict(self.responses or {})
        self.extra_parameters = list(self.extra_parameters or [])


def operation(bp, method, rule, **declared):
    """Declare an operation (`declared`: the fields of Operation after `endpoint`, by name;
    `tag` and `summary` are required) and register its route on `bp`."""

    def decorator(fn):
        op = Operation(method, rule, fn.__name__, **declared)
        op.description = op.description or (fn.__doc__ or "").strip()
        view = _view(op, fn)
        bp.add_url_rule(rule, endpoint=fn.__name__, view_func=view, methods=[method], provide_automatic_options=False)
        ROUTES.append(op)
        return fn

    return decorator


def _view(op, fn):
    """The Flask view of `op`: ids in range, the role, the parsed query and body, then `fn`."""

    @functools.wraps(fn)
    def view(**kwargs):
        for name, value in kwargs.items():
            if isinstance(value, int) and value > MAX_INT:
                raise ApiError(404, f"There is no {name.removesuffix('_id')} {value}.")
        if op.role:
            require(op.role)
        if op.query is not None:
            kwargs["query"] = parse_query(op.query)
        if op.body is not None:
            kwargs["body"] = parse_body(op.body)
        if op.idempotent and request.headers.get("Idempotency-Key") is not None:
            return idempotent_call(lambda: _respond(fn(**kwargs), op.status))
        return _respond(fn(**kwargs), op.status)

    return view


def _respond(rv, status):
    if isinstance(rv, Response):
        return rv
    if isinstance(rv, tuple):
        value, status = rv[0], rv[1]
        headers = rv[2] if len(rv) > 2 else {}
    else:
        value, headers = rv, {}
    if value is None and status == 204:
        return Response(status=204, headers=headers)
    resp = jsonify(value.model_dump(mode="json") if isinstance(value, BaseModel) else value)
    resp.status_code = status
    resp.headers.update(headers)
    return resp
