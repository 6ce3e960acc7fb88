"""Live status: `GET /api/batch/status` (a snapshot to poll), the same URL as a WebSocket
(flask-sock), and `GET /api/batch/status/stream` as Server-Sent Events (also served by
/api/batch/status to a client that accepts only text/event-stream).

Workers publish every file status change (and the job's fresh counters) on Redis pub/sub
after it commits (webapp.services.live); each open stream holds one Redis subscription and
one server thread — run the web process with threads (gunicorn -k gthread --threads N)."""

import json
import time
from typing import Optional

from flask import Response, current_app, request, stream_with_context
from flask_sock import Sock
from pydantic import Field
from simple_websocket import ConnectionClosed

from ..extensions import db
from ..services import dashboard, files, jobs, live
from . import bp
from .auth import require
from .errors import ApiError, response
from .input import parse_query
from .registry import operation
from .schemas import Query

TAG = "status"
sock = Sock()


class StreamQuery(Query):
    job_id: Optional[int] = Field(None, ge=1, description="Only changes of this job.")
    folder_id: Optional[int] = Field(None, ge=1, description="Only changes of this folder.")


def snapshot():
    status = dashboard.status()
    return {
        "totals": status["totals"],
        "total_files": status["total_files"],
        "paused": status["paused"],
        "active": status["active"],
        "throughput_per_hour": status["throughput"],
        "jobs": [jobs.view(j) for j in status["jobs"]],
        "recent_errors": [files.summary(r) for r in status["errors"]],
    }


def _wanted(message, query):
    if query.job_id and message.get("job_id") != query.job_id:
        return False
    if query.folder_id and message.get("folder_id") != query.folder_id:
        return False
    return True


def _messages(pubsub, query, seconds):
    """Yield decoded live messages (or None every second, for heartbeats and close checks)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        message = pubsub.get_message(timeout=1.0)
        if message is None or message.get("type") != "message":
            yield None
            continue
        try:
            data = json.loads(message["data"])
        except (TypeError, ValueError):
            continue
        if _wanted(data, query):
            yield data


@operation(bp, "GET", "/batch/status", tag=TAG, summary="Status snapshot (poll), or the live stream", query=StreamQuery)
def get_status(query):
    """Totals by file status, active jobs with progress and ETA, throughput and recent errors.
    The same URL opened as a WebSocket streams live changes; a request that accepts only
    `text/event-stream` gets Server-Sent Events (as /api/batch/status/stream)."""
    if request.accept_mimetypes and request.accept_mimetypes.best == "text/event-stream":
        return _sse(query)
    return snapshot()


@operation(
    bp,
    "GET",
    "/batch/status/stream",
    tag=TAG,
    query=StreamQuery,
    produces="text/event-stream",
    summary="Live status as Server-Sent Events",
)
def status_stream(query):
    """`event: snapshot` first (the GET /api/batch/status document), then `event: file`
    ({file_id, file_name, folder_id, job_id, from, status, error_code, at}) and `event: job`
    ({job_id, status, counters, progress}) as workers change them; a `: keepalive` comment
    every LIVE_HEARTBEAT_SECONDS. The stream ends after LIVE_STREAM_SECONDS; reconnect."""
    return _sse(query)


def _sse(query):
    first = snapshot()
    pubsub = live.subscribe()
    db.session.remove()  # hold no database connection while streaming
    heartbeat = current_app.config.get("LIVE_HEARTBEAT_SECONDS", 15)
    seconds = current_app.config.get("LIVE_STREAM_SECONDS", 3600)

    def events():
        try:
            yield "retry: 2000\n"
            yield f"event: snapshot\ndata: {json.dumps(first)}\n\n"
            quiet_since = time.monotonic()
            for data in _messages(pubsub, query, seconds):
                if data is not None:
                    yield f"event: {data.get('type', 'status')}\ndata: {json.dumps(data)}\n\n"
                    quiet_since = time.monotonic()
                elif time.monotonic() - quiet_since >= heartbeat:
                    yield ": keepalive\n\n"
                    quiet_since = time.monotonic()
        finally:
            pubsub.close()

    return Response(
        stream_with_context(events()),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


# -- WebSocket on the same URL -----------------------------------------------------------------


class _Capture:
    """Receives flask-sock's wrapped view instead of a blueprint, so the API can check the
    caller before the WebSocket handshake."""

    def route(self, path, **kwargs):
        def decorator(view):
            self.view = view
            return view

        return decorator


_capture = _Capture()


@sock.route("/batch/status", bp=_capture)
def _websocket(ws, query):
    """Sends {"type": "snapshot", ...} first, then each live message as JSON text."""
    first = snapshot()
    pubsub = live.subscribe()
    db.session.remove()
    seconds = current_app.config.get("LIVE_STREAM_SECONDS", 3600)
    try:
        ws.send(json.dumps({"type": "snapshot", **first}))
        for data in _messages(pubsub, query, seconds):
            if not ws.connected:
                break
            if data is not None:
                ws.send(json.dumps(data))
    except ConnectionClosed:
        pass
    finally:
        pubsub.close()


def status_websocket():
    try:
        require("viewer")
        query = parse_query(StreamQuery)
    except ApiError as err:
        return response(err)
    return _capture.view(query)


bp.add_url_rule("/batch/status", endpoint="status_websocket", view_func=status_websocket, websocket=True)
