"""What every benchmark needs: a PostgreSQL database and a Redis database of its own, set in
the environment the app reads (and passes to the worker processes it starts), all removed
at the end; and percentiles.

Environment: BENCH_PG_ADMIN (postgresql://postgres@127.0.0.1:5432/postgres), BENCH_REDIS
(redis://127.0.0.1:6379; a free database number 1-15 is claimed the way the test suite
claims one, so a concurrent test run and a benchmark leave each other alone)."""
import contextlib
import os
import shutil
import tempfile
import uuid

import psycopg
import redis

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_BASE = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379")
CLAIM_KEY = "callbatch-test-run"  # the test suite's claim on a Redis database: honoured both ways


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
        DATABASE_URL=f"{server}/{database}", REDIS_URL=redis_url, SECRET_KEY="bench",
        INSTANCE_PATH=os.path.join(workdir, "instance"), LOG_LEVEL="WARNING", CALLBATCH_LOCAL_ROOTS=workdir,
        CALLBATCH_QUEUE_PREFIX=f"bench-{database}", FLASK_APP="wsgi.py",
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


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))] if values else float("nan")
