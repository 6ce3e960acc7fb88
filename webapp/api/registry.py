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
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa
from flask import Response, g, jsonify, request
from flask_login import current_user
from pydantic import BaseModel, ValidationError

from ..auth import has_role
from ..extensions import db
from ..models import IdempotencyKey
from ..models.types import utcnow
from .errors import ApiError, from_pydantic

ROUTES = []
MAX_INT = 2 ** 31 - 1
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
IDEMPOTENCY_HOURS = 24


@dataclass
class Operation:
    method: str
    rule: str                 # Flask rule relative to /api
    endpoint: str
    tag: str
    summary: str
    description: str = ""
    role: str | None = "viewer"     # None: no sign-in (receivers check their own secret)
    body: object = None             # pydantic model class, dict (any JSON object) or None
    query: type | None = None
    status: int = 200
    response: object = None         # pydantic model class for the documented 2xx body
    responses: dict = field(default_factory=dict)   # extra {status: description}
    idempotent: bool = False
    produces: str = "application/json"
    extra_parameters: list = field(default_factory=list)
    body_doc: dict | None = None    # documented (not validated here) body: receivers read it raw


def operation(bp, method, rule, *, tag, summary, role="viewer", body=None, query=None, status=200, response=None,
              responses=None, idempotent=False, description="", produces="application/json",
              extra_parameters=None, body_doc=None):
    def decorator(fn):
        op = Operation(method, rule, fn.__name__, tag, summary, description or (fn.__doc__ or "").strip(), role,
                       body, query, status, response, dict(responses or {}), idempotent, produces,
                       list(extra_parameters or []), body_doc)

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

        bp.add_url_rule(rule, endpoint=fn.__name__, view_func=view, methods=[method],
                        provide_automatic_options=False)
        ROUTES.append(op)
        return fn

    return decorator


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


# -- who is asking -------------------------------------------------------------------------

def require(role):
    """401 without a user, 403 below `role`; CSRF for a browser session's changes."""
    if not current_user.is_authenticated:
        message = g.get("api_token_error") or (
            "Sign in, or send a personal API token as 'Authorization: Bearer <token>'.")
        raise ApiError(401, message, headers={"WWW-Authenticate": 'Bearer realm="callbatch"'})
    if not has_role(current_user, role):
        raise ApiError(403, f"This needs the {role} role (you are {current_user.role}).")
    if request.method not in SAFE_METHODS and g.get("api_token") is None:
        check_csrf()


def check_csrf():
    """A browser session changing something must send its CSRF token (X-CSRFToken header),
    exactly as the pages' htmx requests do."""
    from flask import current_app

    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    from flask_wtf.csrf import validate_csrf
    from wtforms.validators import ValidationError as CsrfError

    token = request.headers.get("X-CSRFToken") or request.headers.get("X-CSRF-Token")
    try:
        validate_csrf(token)
    except CsrfError as exc:
        raise ApiError(403, f"CSRF check failed: {exc}. Send the page's CSRF token as X-CSRFToken, or use an "
                            "API token.", code="CSRF_FAILED") from None


# -- input -----------------------------------------------------------------------------------

def _reject_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def _float(text):
    value = float(text)
    if math.isinf(value):
        raise ValueError("number out of range")
    return value


def read_json(required=True):
    """The request body as JSON: 400 for malformed JSON (with line and column), 413 past
    MAX_CONTENT_LENGTH. Text with NUL characters is refused (PostgreSQL cannot store it)."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if required:
            raise ApiError(400, "The request body is empty; send a JSON object.",
                           details=[{"field": "body", "reason": "empty"}])
        return None
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant, parse_float=_float)
    except UnicodeDecodeError:
        raise ApiError(400, "The request body is not UTF-8 text.",
                       details=[{"field": "body", "reason": "not UTF-8"}]) from None
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, f"The request body is not valid JSON: {exc}.",
                       details=[{"field": "body", "reason": str(exc)}]) from None
    bad = _nul_path(data, "")
    if bad is not None:
        raise ApiError(422, "Text may not contain NUL characters.",
                       details=[{"field": bad or "body", "reason": "contains a NUL character"}])
    return data


def _nul_path(value, path):
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            sub = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return sub
            found = _nul_path(item, sub)
            if found is not None:
                return found
    if isinstance(value, list):
        for n, item in enumerate(value):
            found = _nul_path(item, f"{path}.{n}" if path else str(n))
            if found is not None:
                return found
    return None


def parse_body(model):
    data = read_json()
    if model is dict:
        if not isinstance(data, dict):
            raise ApiError(422, "The request body must be a JSON object.",
                           details=[{"field": "body", "reason": "must be an object"}])
        return data
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_pydantic(exc) from None


def parse_query(model):
    values = {}
    for key in request.args:
        items = request.args.getlist(key)
        values[key] = items if len(items) > 1 else items[0]
    bad = _nul_path(values, "")
    if bad is not None:
        raise ApiError(422, "Query parameters may not contain NUL characters.",
                       details=[{"field": bad, "reason": "contains a NUL character"}])
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise from_pydantic(exc, where="query") from None


# -- Idempotency-Key -------------------------------------------------------------------------

def idempotent_call(call):
    """Run a job-creating request once per (user, Idempotency-Key): a repeat gets the first
    answer (with `Idempotent-Replayed: true`); the same key with another request is a 422;
    a repeat while the first still runs is a 409. Only successful answers are kept (24 h)."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key or len(key) > 200 or not re.fullmatch(r"[\x21-\x7e]+", key):
        raise ApiError(422, "Idempotency-Key must be 1–200 visible ASCII characters.",
                       details=[{"field": "Idempotency-Key", "reason": "1-200 visible ASCII characters"}])
    endpoint = f"{request.method} {request.path}"[:200]
    body_hash = hashlib.sha256(request.get_data(cache=True)).hexdigest()
    user_id = current_user.id
    IK = IdempotencyKey
    db.session.execute(sa.delete(IK).where(IK.user_id == user_id,
                                           IK.created_at < utcnow() - timedelta(hours=IDEMPOTENCY_HOURS)))
    row = IK(user_id=user_id, key=key, endpoint=endpoint, request_hash=body_hash)
    db.session.add(row)
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()
        first = db.session.scalar(sa.select(IK).where(IK.user_id == user_id, IK.key == key))
        if first is None:
            raise ApiError(409, "A request with this Idempotency-Key is being processed; retry shortly.") from None
        if first.endpoint != endpoint or first.request_hash != body_hash:
            raise ApiError(422, "This Idempotency-Key was already used for a different request.",
                           code="IDEMPOTENCY_KEY_REUSED",
                           details=[{"field": "Idempotency-Key", "reason": "used for a different request"}]) from None
        if first.status_code is None:
            raise ApiError(409, "A request with this Idempotency-Key is still being processed; retry shortly.") \
                from None
        resp = jsonify(first.response)
        resp.status_code = first.status_code
        resp.headers["Idempotent-Replayed"] = "true"
        return resp
    row_id = row.id
    try:
        resp = call()
    except BaseException:
        db.session.rollback()
        db.session.execute(sa.delete(IK).where(IK.id == row_id))
        db.session.commit()
        raise
    if 200 <= resp.status_code < 300 and resp.is_json:
        db.session.execute(sa.update(IK).where(IK.id == row_id).values(status_code=resp.status_code,
                                                                        response=resp.get_json()))
    else:
        db.session.execute(sa.delete(IK).where(IK.id == row_id))
    db.session.commit()
    return resp


# -- OpenAPI ---------------------------------------------------------------------------------

def _flask_to_openapi(rule):
    params = []

    def sub(match):
        converter, name = match.group(1), match.group(2)
        params.append((name, converter))
        return "{" + name + "}"

    path = re.sub(r"<(?:(\w+):)?(\w+)>", sub, rule)
    return path, params


def openapi(title, version, description, servers=None):
    components = {"Error": _error_schema()}

    def ref(model):
        if model is None:
            return {"type": "object"}
        if model is dict:
            return {"type": "object", "additionalProperties": True}
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in schema.pop("$defs", {}).items():
            components.setdefault(name, sub)
        components.setdefault(model.__name__, schema)
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    paths = {}
    for op in ROUTES:
        path, path_params = _flask_to_openapi("/api" + op.rule)
        parameters = _parameters(op, path_params, components)
        responses = _responses(op, ref)
        entry = {"operationId": op.endpoint, "tags": [op.tag], "summary": op.summary, "responses": responses}
        if op.description:
            entry["description"] = op.description
        if parameters:
            entry["parameters"] = parameters
        if op.body is not None:
            entry["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref(op.body)}}}
        elif op.body_doc is not None:
            entry["requestBody"] = {"required": True, "content": {"application/json": {"schema": op.body_doc}}}
        if op.role:
            entry["description"] = (entry.get("description", "") + f"\n\nRequires the **{op.role}** role.").strip()
            entry["security"] = [{"bearerAuth": []}, {"cookieAuth": []}]
        else:
            entry["security"] = []
        paths.setdefault(path, {})[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": description},
        "servers": servers or [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer",
                               "description": "A personal API token (profile page, or POST /api/tokens)."},
                "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "session",
                               "description": "A signed-in browser session; changes need the X-CSRFToken header."},
            },
        },
        "security": [{"bearerAuth": []}, {"cookieAuth": []}],
    }


def _parameters(op, path_params, components):
    """An operation's path, query and header parameters (the query model's shared schemas go
    to `components`)."""
    parameters = []
    for name, converter in path_params:
        schema = ({"type": "integer", "minimum": 1, "maximum": MAX_INT} if converter == "int"
                  else {"type": "string", "minLength": 1})
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    if op.query is not None:
        qschema = op.query.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in qschema.pop("$defs", {}).items():
            components.setdefault(name, sub)
        required = set(qschema.get("required", []))
        for name, prop in qschema.get("properties", {}).items():
            description = prop.pop("description", None)
            prop.pop("title", None)
            param = {"name": name, "in": "query", "required": name in required, "schema": prop}
            if description:
                param["description"] = description
            parameters.append(param)
    if op.idempotent:
        parameters.append({"name": "Idempotency-Key", "in": "header", "required": False,
                           "description": "Repeat a request safely: the same key returns the first answer "
                                          "(for 24 hours).",
                           "schema": {"type": "string", "minLength": 1, "maxLength": 200,
                                      "pattern": "^[!-~]+$"}})
    return parameters + op.extra_parameters


def _responses(op, ref):
    """An operation's success answer and the error answers it can give."""
    success = {"description": "OK" if op.status != 201 else "Created"}
    if op.status != 204:
        success["content"] = {op.produces: {"schema": ref(op.response) if op.produces == "application/json"
                                            else {"type": "string"}}}
    responses = {str(op.status): success}
    errors = {400: "Malformed request (not JSON, empty body)", 404: "Unknown id",
              422: "Invalid fields: details lists each field and the reason"}
    if op.role:
        errors.update({401: "Not signed in / no valid API token", 403: "Your role does not allow this"})
    if op.body is not None or op.body_doc is not None:
        errors[413] = "Body larger than the limit"
    if op.idempotent:
        errors[409] = "A request with the same Idempotency-Key is still running"
    errors.update(op.responses)
    for code, text in sorted(errors.items()):
        responses.setdefault(str(code), {"description": text, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Error"}}}})
    return responses


def _error_schema():
    return {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message", "details"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                       "details": {"anyOf": [{"type": "array", "items": {
                           "type": "object", "properties": {"field": {"type": "string"},
                                                            "reason": {"type": "string"}}}},
                           {"type": "object"}, {"type": "null"}]}}}}}
