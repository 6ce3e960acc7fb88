"""One error shape for the whole API: {"error": {"code", "message", "details"}}.

`details` is a list of {"field", "reason"} for input errors (422) and otherwise an object or
null. Bad input is always a 4xx; an unexpected failure is a 500 in the same shape (and
logged), never an HTML page."""

import logging

from flask import jsonify, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from ..extensions import db

log = logging.getLogger(__name__)

CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "VALIDATION_ERROR",
    429: "TOO_MANY_REQUESTS",
    500: "INTERNAL_ERROR",
    502: "BAD_GATEWAY",
    503: "SERVICE_UNAVAILABLE",
}


class ApiError(Exception):
    """Raise anywhere in a view to answer with the error shape."""

    def __init__(self, status, message, code=None, details=None, headers=None):
        super().__init__(message)
        self.status, self.message = status, message
        self.code = code or CODES.get(status, "ERROR")
        self.details = details
        self.headers = headers or {}


def not_found(what, ident):
    return ApiError(404, f"There is no {what} {ident}.")


def found(item, what, ident):
    """`item` as a service found it, or the API's 404 when it found none."""
    if item is None:
        raise not_found(what, ident)
    return item


def invalid(errors, message="The request has invalid fields."):
    """A 422 from a service's [{"field", "message"}] list."""
    return ApiError(
        422,
        message,
        details=[{"field": e.get("field") or "body", "reason": e.get("message") or e.get("reason")} for e in errors],
    )


def checked(result):
    """The record of a service's (record, errors) answer, or the API's 422 for its errors."""
    record, errors = result
    if errors:
        raise invalid(errors)
    return record


def from_pydantic(exc: ValidationError, where="body"):
    details = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or where
        reason = err["msg"]
        if err["type"] == "extra_forbidden":
            reason = "Unknown field."
        details.append({"field": loc, "reason": reason})
    return ApiError(422, f"The request {where} has invalid fields.", details=details)


def response(err: ApiError):
    resp = jsonify({"error": {"code": err.code, "message": err.message, "details": err.details}})
    resp.status_code = err.status
    for key, value in err.headers.items():
        resp.headers[key] = value
    return resp


def is_api_request():
    return request.path == "/api" or request.path.startswith("/api/")


def register_blueprint_handlers(bp):
    """The blueprint's own handlers (once, at import: a blueprint cannot change after it is
    registered on an app)."""

    @bp.errorhandler(ApiError)
    def _api_error(err):
        db.session.rollback()
        return response(err)

    @bp.errorhandler(ValidationError)
    def _validation(exc):
        db.session.rollback()
        return response(from_pydantic(exc))

    @bp.errorhandler(Exception)
    def _unexpected(exc):
        if isinstance(exc, HTTPException):
            return http_error(exc)
        log.exception("API request %s %s failed", request.method, request.path)
        db.session.rollback()
        return response(ApiError(500, "An unexpected error occurred; it has been logged."))

    @bp.route("/<path:_rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def _unknown(_rest):
        allowed = _other_methods()
        if allowed:
            raise ApiError(
                405,
                f"{request.method} is not allowed here; use {', '.join(allowed)}.",
                headers={"Allow": ", ".join(allowed)},
            )
        raise ApiError(404, f"There is no API endpoint {request.path}; see /api/openapi.json.")


def _other_methods():
    """Methods another (real) route of this path accepts: the catch-all must not hide a 405."""
    from flask import current_app
    from werkzeug.exceptions import HTTPException as RoutingError

    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = []
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        if method == request.method:
            continue
        try:
            endpoint, _args = adapter.match(method=method)
        except RoutingError:
            continue
        except Exception:
            continue
        if endpoint != "api._unknown":
            allowed.append(method)
    return allowed


def http_error(exc):
    from flask import current_app

    db.session.rollback()
    message = exc.description or exc.name
    if exc.code == 413:
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        message = f"The request body is larger than the limit of {limit} bytes."
    err = ApiError(exc.code or 500, message)
    if exc.code == 405 and getattr(exc, "valid_methods", None):
        err.headers["Allow"] = ", ".join(exc.valid_methods)
    return response(err)


def register(app):
    """App-level: errors raised before a blueprint is chosen (405, 404 of the API root) on
    /api paths answer in the API's shape."""

    @app.errorhandler(HTTPException)
    def _http(exc):
        if not is_api_request():
            return exc
        return http_error(exc)

    @app.errorhandler(405)
    def _method_not_allowed(exc):
        if not is_api_request():
            return exc
        return http_error(exc)
