"""Probes for load balancers and process managers, without sign-in.

/metrics (Prometheus, token or admin) lives here too, for the same audience.

/healthz: the process answers (nothing else is touched, so a slow database never gets a
healthy web process restarted). /readyz: the database answers and is at the latest
migration, Redis answers and, with ?worker=1 (or CALLBATCH_READY_REQUIRES_WORKER), at least
one worker is alive. 503 with the failed checks named when not ready."""

import functools

import redis
import sqlalchemy as sa
from flask import Blueprint, current_app, request

from .. import queues
from ..extensions import db

bp = Blueprint("health", __name__)

PROBE_TIMEOUT_SECONDS = 2


@bp.get("/healthz")
def healthz():
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    checks = {"database": _database, "redis": _redis}
    if request.args.get("worker") == "1" or current_app.config["READY_REQUIRES_WORKER"]:
        checks["workers"] = _workers
    results = {name: _run(check) for name, check in checks.items()}
    failed = {name: message for name, message in results.items() if message != "ok"}
    body = {"status": "unavailable" if failed else "ok", "checks": results, "failed": sorted(failed)}
    return body, 503 if failed else 200


def _run(check):
    try:
        return check()
    except Exception as err:  # a probe names the failure; the class is enough, no connection details
        return f"unreachable ({type(err).__name__})"


def _database():
    try:
        current = set(db.session.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())
    finally:
        db.session.rollback()
    missing = migration_heads() - current
    if missing:
        return "not at the latest migration (run `flask db upgrade`): missing " + ", ".join(sorted(missing))
    return "ok"


def _redis():
    probe_connection().ping()
    return "ok"


def _workers():
    from rq import Queue, Worker

    files = Queue(queues.queue(queues.FILES).name, connection=probe_connection())
    live = Worker.all(queue=files)
    return "ok" if live else "no worker is alive (no heartbeat in Redis)"


def probe_connection():
    """Redis with short timeouts, so a hung server fails the probe instead of hanging it."""
    url = current_app.config["REDIS_URL"]
    if not url:
        return queues.connection()  # embedded: the in-process stand-in
    ext = current_app.extensions
    if "callbatch_probe_redis" not in ext:
        ext["callbatch_probe_redis"] = redis.Redis.from_url(
            url, socket_timeout=PROBE_TIMEOUT_SECONDS, socket_connect_timeout=PROBE_TIMEOUT_SECONDS
        )
    return ext["callbatch_probe_redis"]


@functools.lru_cache(maxsize=None)
def _heads(directory):
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", directory)
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def migration_heads():
    """The head revision(s) of the migrations directory this code ships."""
    return set(_heads(current_app.extensions["migrate"].directory))


@bp.get("/metrics")
def metrics():
    """Prometheus text format, for `Authorization: Bearer <CALLBATCH_METRICS_TOKEN>` or a
    signed-in admin."""
    from flask import Response
    from flask_login import current_user

    from .. import metrics as exporter
    from ..auth import has_role

    if not _metrics_token_given() and not has_role(current_user, "admin"):
        if current_user.is_authenticated:
            return {"error": "Metrics are for admins or the metrics token."}, 403
        return {"error": "Send the metrics token as `Authorization: Bearer <token>`, or sign in as an admin."}, 401
    return Response(exporter.exposition(), mimetype="text/plain; version=0.0.4; charset=utf-8")


def _metrics_token_given():
    import hmac

    expected = current_app.config["METRICS_TOKEN"]
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return bool(expected) and scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), expected)
