"""Fixtures: a PostgreSQL database and a Redis database of this test run's own, an app
bound to them, helpers to make recordings and to run real worker processes."""

import os
import signal
import subprocess
import sys
import threading
import uuid

import psycopg
import pytest
import redis as redis_lib
import sqlalchemy as sa

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_BASE = "redis://127.0.0.1:6379"
RUN_ID = uuid.uuid4().hex[:10]

pytest_plugins = ["plugins_cloud", "plugins_asr", "plugins_notify", "plugins_api", "plugins_web", "plugins_netns"]


@pytest.fixture(scope="session")
def database_url():
    """A database created for this run and dropped after it, so runs never collide."""
    name = f"callbatch_test_{RUN_ID}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def redis_url():
    """An empty Redis database number claimed for this run (the tests flush it)."""
    for number in range(1, 16):
        client = redis_lib.Redis.from_url(f"{REDIS_BASE}/{number}")
        if client.set("callbatch-test-run", RUN_ID, nx=True, ex=3600):
            if client.dbsize() != 1:
                client.delete("callbatch-test-run")  # unclaimed but in use: leave it as it was
                continue
            yield f"{REDIS_BASE}/{number}"
            client.flushdb()
            return
    pytest.fail("No free Redis database (1-15) for this test run.")


@pytest.fixture(scope="session")
def service_env(database_url, redis_url, tmp_path_factory):
    """Environment for the app and for worker processes started by tests."""
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": "test-secret-key",
        "INSTANCE_PATH": str(tmp_path_factory.mktemp("instance")),
        "CALLBATCH_LOCAL_ROOTS": str(tmp_path_factory.getbasetemp()),  # where the tests' folders are made
        "CALLBATCH_QUEUE_PREFIX": f"cbtest-{RUN_ID}",
        "CALLBATCH_HEARTBEAT_SECONDS": "1",
        "CALLBATCH_STALE_AFTER_SECONDS": "4",
        "CALLBATCH_TICK_SECONDS": "1",
        "LOG_LEVEL": "WARNING",
        "FLASK_APP": "wsgi.py",
        # Every stand-in (moto, Azurite, the GCS emulator, HTTP and SMTP servers) listens on
        # 127.0.0.1; tests of the outbound guard turn this off, or run in a loopback-only namespace.
        "CALLBATCH_ALLOW_PRIVATE_TARGETS": "1",
        "HF_ENDPOINT": "http://127.0.0.1:1",  # a model hub that is not there, on loopback (see test_speech_default)
    }
    os.environ.update(env)
    return env


@pytest.fixture(scope="session")
def _schema(service_env):
    """The schema is built by the migrations themselves, so every run tests them."""
    from flask_migrate import upgrade

    from webapp import create_app

    app = create_app({"TESTING": True})
    with app.app_context():
        upgrade(revision="heads")
    return app


@pytest.fixture
def app(_schema, service_env):
    from webapp import queues
    from webapp.extensions import db

    app = _schema
    yield app
    with app.app_context():
        db.session.remove()
        tables = ", ".join(t.name for t in db.metadata.sorted_tables)
        with db.engine.begin() as conn:
            conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        queues.connection().flushdb()
        queues.connection().set("callbatch-test-run", RUN_ID, ex=3600)


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app
        from webapp.extensions import db

        db.session.remove()


@pytest.fixture
def cli(app):
    return app.test_cli_runner()


@pytest.fixture
def live_server(app):
    """The app served by werkzeug (threaded) on 127.0.0.1:<free port>; yields its base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)


@pytest.fixture
def workers(service_env, tmp_path):
    """Start real `flask worker` processes; all are stopped at the end of the test. Their
    output goes to worker-N.log in the test's tmp_path."""
    started = []

    def start(count=1, burst=False):
        procs = []
        for _ in range(count):
            name = f"w{len(started)}-{uuid.uuid4().hex[:6]}"
            proc = subprocess.Popen(
                [sys.executable, "-m", "flask", "worker", "--name", name] + (["--burst"] if burst else []),
                cwd=ROOT,
                env={**os.environ, **service_env},
                stdout=subprocess.DEVNULL,
                stderr=open(tmp_path / f"worker-{len(started)}.log", "w"),
                start_new_session=True,
            )
            proc.worker_name = name
            started.append(proc)
            procs.append(proc)
        return procs

    yield start
    # Each worker leads its own process group (RQ forks a scheduler child that outlives a
    # worker killed with SIGKILL), so the whole group is stopped.
    for proc in started:
        _signal_group(proc, signal.SIGTERM)
    for proc in started:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        _signal_group(proc, signal.SIGKILL)


def _signal_group(proc, sig):
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass
