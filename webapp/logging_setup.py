"""Logging: plain lines by default, one JSON object per line with LOG_FORMAT=json.

Every record carries what is known about the work it belongs to (request id, user, folder,
batch job, RQ job, file), kept in a context variable: a web request binds its request id
(X-Request-ID, or a new one) and user; the jobs it enqueues carry the request id in their RQ
meta, and the worker binds it again for each job, the job functions their own ids
(webapp/worker.py, webapp/tasks/)."""

import contextlib
import json
import logging
import os
import re
import sys
import uuid
from contextvars import ContextVar
from datetime import datetime, timezone
from types import MappingProxyType

from . import redaction

_context = ContextVar("callbatch_log_context", default=MappingProxyType({}))
FIELDS = ("request_id", "user", "folder", "job", "rq_job", "file")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def redact(text):
    """Log text scrubbed of secrets by the app's one redaction (webapp/redaction.py masks every
    record's message already; this covers formatted tracebacks too)."""
    return redaction.redact(str(text))


def bind(**fields):
    """Add fields to the log context; returns a token for `unbind`."""
    return _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})


def unbind(token):
    _context.reset(token)


@contextlib.contextmanager
def bound(**fields):
    """The log context with `fields` added, for the duration of a `with` block."""
    token = bind(**fields)
    try:
        yield
    finally:
        unbind(token)


def current():
    return dict(_context.get())


def job_meta():
    """RQ job meta carrying the current request id to the job (empty outside a request's work)."""
    request_id = _context.get().get("request_id")
    return {"request_id": request_id} if request_id else {}


class JsonFormatter(logging.Formatter):
    def format(self, record):
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        entry.update({k: v for k, v in _context.get().items() if k in FIELDS})
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class PlainFormatter(logging.Formatter):
    def format(self, record):
        return redact(super().format(record))


def configure(app):
    """The root handler (once per process) and the request hooks that bind the request id."""
    _add_root_handler()
    app.before_request(_bind_request)
    app.after_request(_echo_request_id)
    app.teardown_request(_unbind_request)


def _add_root_handler():
    root = logging.getLogger()
    root.setLevel(os.environ.get("LOG_LEVEL", "INFO"))
    if not any(getattr(h, "callbatch", False) for h in root.handlers) and (
        not root.handlers or os.environ.get("LOG_FORMAT") == "json"
    ):
        handler = logging.StreamHandler(sys.stderr)
        json_format = os.environ.get("LOG_FORMAT", "").lower() == "json"
        handler.setFormatter(JsonFormatter() if json_format else PlainFormatter(PLAIN_FORMAT))
        handler.callbatch = True
        root.addHandler(handler)


def _bind_request():
    from flask import g, request
    from flask_login import current_user

    given = request.headers.get("X-Request-ID", "")
    g.request_id = given if REQUEST_ID.match(given) else uuid.uuid4().hex
    user = current_user.get_id() if current_user and current_user.is_authenticated else None
    g.log_token = bind(request_id=g.request_id, user=user)


def _echo_request_id(response):
    from flask import g

    if "request_id" in g:
        response.headers["X-Request-ID"] = g.request_id
    return response


def _unbind_request(_exc):
    from flask import g

    token = g.pop("log_token", None)
    if token is not None:
        try:
            unbind(token)
        except ValueError:  # reset in another context (streamed responses): nothing to undo
            pass
