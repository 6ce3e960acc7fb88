"""What every benchmark needs: a PostgreSQL database and a Redis database of its own, set in
the environment the app reads (and passes to the worker processes it starts), all removed
at the end; the app on that database, set to queue files at once; burst worker processes;
a web client signed in through the login form; the peak RSS of this process while a block
runs; and percentiles.

Environment: BENCH_PG_ADMIN (postgresql://postgres@127.0.0.1:5432/postgres), BENCH_REDIS
(redis://127.0.0.1:6379; a free database number 1-15 is claimed the way the test suite
claims one, so a concurrent test run and a benchmark leave each other alone)."""

import contextlib
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import uuid
import wave

import psutil
import psycopg
import redis

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_BASE = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379")
CLAIM_KEY = "callbatch-test-run"  # the test suite's claim on a Redis database: honoured both ways
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@contextlib.contextmanager
def own_services(name):
    """Create the run's database, claim a Redis database and make a working folder; set
    them in os.environ; yield the working folder; remove all three afterwards."""
    database = f"callbatch_bench_{name}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    redis_url = _claim_redis(database)
    workdir = tempfile.mkdtemp(prefix=f"callbatch-bench-{name}-")
    server = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    os.environ.update(
        DATABASE_URL=f"{server}/{database}",
        REDIS_URL=redis_url,
        SECRET_KEY="bench",
        INSTANCE_PATH=os.path.join(workdir, "instance"),
        LOG_LEVEL="WARNING",
        CALLBATCH_LOCAL_ROOTS=workdir,
        CALLBATCH_QUEUE_PREFIX=f"bench-{database}",
        FLASK_APP="wsgi.py",
    )
    try:
        yield workdir
    finally:
        redis.Redis.from_url(redis_url).flushdb()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        shutil.rmtree(workdir, ignore_errors=True)


def _claim_redis(owner):
    for number in range(15, 0, -1):
        client = redis.Redis.from_url(f"{REDIS_BASE}/{number}")
        if client.set(CLAIM_KEY, owner, nx=True, ex=3600):
            if client.dbsize() == 1:
                return f"{REDIS_BASE}/{number}"
            client.delete(CLAIM_KEY)  # unclaimed but in use: leave it as it was
    raise SystemExit("No free Redis database (1-15) for this benchmark.")


def migrated_app():
    """The app on the run's database, its schema migrated to the newest revision."""
    from flask_migrate import upgrade

    from webapp import create_app

    app = create_app()
    with app.app_context():
        upgrade(revision="heads")
    return app


def configure_batch(transcriber=None):
    """A batch configuration that queues a file as soon as it is found and runs 20 at once
    (with `transcriber`, if given). In an app context."""
    from webapp.batch import batch_config

    document = batch_config.load().model_dump()
    document["scanning"]["fileSettleSeconds"] = 0
    document["processing"]["maxConcurrentFiles"] = 20
    if transcriber:
        document["analysis"]["transcriber"] = transcriber
    config, errors = batch_config.validate(document)
    assert not errors, errors
    batch_config.save(config)


def worker_process(*options, env=None):
    """A `flask worker` process started from the repository root, its output discarded."""
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "worker", *options],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def burst_workers(count):
    """`count` workers that end when the queues are empty (no scheduler)."""
    return [worker_process("--burst", "--without-scheduler") for _ in range(count)]


def completed_spans():
    """Milliseconds from claim to completion of every completed file."""
    import sqlalchemy as sa

    from webapp.extensions import db
    from webapp.models import FileProcessingRecord as FPR

    finished = db.session.execute(sa.select(FPR.started_at, FPR.finished_at).where(FPR.status == "completed"))
    return [(f - s).total_seconds() * 1000 for s, f in finished]


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))] if values else float("nan")


def signed_in_client(app, email, password):
    """A Flask test client signed in through the login form, as a browser is (its CSRF token
    read from the page)."""
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    response = client.post("/login", data={"email": email, "password": password}, headers={"X-CSRFToken": token})
    assert response.status_code == 302, (response.status_code, response.get_data(as_text=True)[:500])
    return client


class PeakRss:
    """`with PeakRss() as peak:` samples this process's resident memory every 10 ms while
    the block runs; `peak.peak` is the highest, in bytes."""

    def __init__(self):
        self.peak = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        proc = psutil.Process()
        while True:
            self.peak = max(self.peak, proc.memory_info().rss)
            if self._done.wait(0.01):
                return

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join()


CALL_LINES = [
    "שלום, מדברת נועה מחברת הסלולר, יש לך דקה?",
    "כן, בבקשה.",
    "מה חשוב לך בחבילה?",
    "גלישה ומחיר.",
    "אני מציעה לך חבילה ב-49 שקלים לחודש.",
    "יקר לי.",
    "אפשר הנחה לשנה הראשונה.",
    "בסדר, נסגור.",
    "מעולה, תודה רבה ויום טוב.",
]


def write_recordings(folder, count):
    """`count` half-second WAV recordings, each with its own content, and a .txt transcript
    beside each (one utterance per line), as a phone system delivers them."""
    os.makedirs(folder, exist_ok=True)
    rng = random.Random(count)
    for _ in range(count):
        stem = str(uuid.uuid4())
        with wave.open(os.path.join(folder, stem + ".wav"), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes(bytes(rng.getrandbits(8) for _ in range(8000)))
        with open(os.path.join(folder, stem + ".txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(CALL_LINES))
