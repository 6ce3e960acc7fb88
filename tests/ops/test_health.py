"""/healthz and /readyz: the process answers; readiness follows the database, its migration,
Redis and (on request) a live worker."""

import socket
import subprocess

import pytest
import sqlalchemy as sa

from tests.support.env import ROOT
from tests.support.helpers import wait_for
from webapp import create_app
from webapp.extensions import db


def test_healthz_answers_without_sign_in_or_database(app):
    response = app.test_client().get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_readyz_checks_database_and_redis(app):
    response = app.test_client().get("/readyz")
    assert response.status_code == 200, response.json
    assert response.json == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}, "failed": []}


def test_readyz_refuses_a_database_behind_the_migrations(app):
    with app.app_context():
        current = db.session.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
        db.session.execute(sa.text("UPDATE alembic_version SET version_num = '0001'"))
        db.session.commit()
    try:
        response = app.test_client().get("/readyz")
    finally:
        with app.app_context():
            db.session.execute(sa.text("DELETE FROM alembic_version"))
            for revision in current:
                db.session.execute(sa.text("INSERT INTO alembic_version VALUES (:v)"), {"v": revision})
            db.session.commit()
    assert response.status_code == 503
    assert response.json["failed"] == ["database"]
    assert "flask db upgrade" in response.json["checks"]["database"]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def own_redis():
    """A redis-server of this test's own, which the test may stop."""
    port = _free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    import redis

    wait_for(lambda: _pings(redis.Redis.from_url(url)), timeout=10, message="redis-server to start")
    yield proc, url
    proc.kill()
    proc.wait(10)


def _pings(client):
    try:
        return client.ping()
    except Exception:
        return False


def test_readyz_flips_when_redis_stops(_schema, own_redis):
    proc, url = own_redis
    client = create_app({"TESTING": True, "REDIS_URL": url}).test_client()
    assert client.get("/readyz").status_code == 200
    proc.kill()
    proc.wait(10)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["failed"] == ["redis"]
    assert response.json["checks"]["database"] == "ok"
    assert response.json["checks"]["redis"].startswith("unreachable")
    assert client.get("/healthz").status_code == 200  # the process itself still answers


def test_readyz_worker_check_needs_a_live_worker(app, workers):
    client = app.test_client()
    response = client.get("/readyz?worker=1")
    assert response.status_code == 503 and response.json["failed"] == ["workers"]
    workers(1)
    wait_for(lambda: client.get("/readyz?worker=1").status_code == 200, timeout=30, message="a worker heartbeat")
    assert client.get("/readyz?worker=1").json["checks"]["workers"] == "ok"


def test_dockerfile_healthcheck_asks_healthz():
    import os
    import shlex

    text = open(os.path.join(ROOT, "Dockerfile")).read().replace("\\\n", " ")
    line = next(row for row in text.splitlines() if row.startswith("HEALTHCHECK"))
    command = shlex.split(line.split(" CMD ", 1)[1])
    assert command[:2] == ["python", "-c"] and "/healthz" in command[2]
    compile(command[2], "healthcheck", "exec")  # the probe is valid Python
