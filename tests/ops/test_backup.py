"""Backups: a real mid-batch state backed up, restored into a fresh database, and finished
there by the reaper and a real worker; the portable format on the embedded SQLite default;
an upload to S3 (moto); the scheduled daily backup with its retention."""

import json
import os
import sqlite3
import subprocess
import sys
import tarfile
import uuid
from datetime import datetime, timezone

import psycopg
import pytest
import sqlalchemy as sa

from tests.support.cloud import aws_client
from tests.support.env import PG_ADMIN, ROOT, RUN_ID
from tests.support.helpers import configure, embedded_env, run_flask, wait_for
from tests.support.pipeline import scan
from tests.support.recordings import write_calls
from webapp.batch import reaper, schedule, status
from webapp.extensions import db
from webapp.models import AuditLog, BatchJob, FileEvent, FileProcessingRecord, SalesCall
from webapp.services import backup

FPR = FileProcessingRecord
FLASK = [sys.executable, "-m", "flask"]


def table_counts(engine):
    with engine.connect() as conn:
        return {
            t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar() for t in db.metadata.sorted_tables
        }


@pytest.fixture
def fresh_database(database_url):
    name = f"callbatch_restore_{RUN_ID}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield database_url.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.slow
def test_a_mid_batch_backup_restores_into_a_fresh_database_and_the_batch_completes_once(
    ctx, cli, workers, tmp_path, service_env, fresh_database
):
    from webapp import create_app, queues

    configure(scanning={"fileSettleSeconds": 0}, retryPolicy={"delaySeconds": 1})
    calls = tmp_path / "calls"
    calls.mkdir()
    write_calls(calls, 3)
    first = scan(calls)
    (proc,) = workers(1, burst=True)
    assert proc.wait(60) == 0
    write_calls(calls, 4)
    second = scan(calls)  # these stay queued: no worker runs...
    assert first.queued == 3 and second.queued == 4
    # ...but for one, taken by a worker that then went away in the middle of it.
    victim = db.session.scalar(sa.select(FPR).where(FPR.status == status.QUEUED).order_by(FPR.id))
    victim_id = victim.id
    assert status.claim(victim_id, "gone-worker", victim.rq_job_id)
    db.session.rollback()
    by_status = dict(db.session.execute(sa.select(FPR.status, sa.func.count()).group_by(FPR.status)).all())
    assert by_status == {status.COMPLETED: 3, status.QUEUED: 3, status.PROCESSING: 1}
    before = table_counts(db.engine)

    result = cli.invoke(args=["backup", "create", "--to", str(tmp_path / "backups")])
    assert result.exit_code == 0, result.output
    (path,) = (tmp_path / "backups").iterdir()
    manifest = backup.verify(str(path))
    assert manifest["format"] == "pg_dump" and manifest["tables"] == before
    assert manifest["revision"] and manifest["tables"]["sales_calls"] == 3
    assert manifest["tables"]["file_processing_records"] == 7

    # The old Redis is gone with the old servers: the queued files' RQ jobs no longer exist.
    queues.connection().flushdb()
    queues.connection().set("callbatch-test-run", RUN_ID, ex=3600)
    env = {**os.environ, **service_env, "DATABASE_URL": fresh_database}
    restore = subprocess.run(
        FLASK + ["backup", "restore", str(path)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert restore.returncode == 0, restore.stderr[-2000:]
    assert "Restored" in restore.stdout

    restored_app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": fresh_database})
    with restored_app.app_context():
        after = table_counts(db.engine)
        assert after == {**before, "audit_log": before["audit_log"] + 1}  # + the restore's own audit row
        assert db.session.scalar(sa.select(AuditLog.action).order_by(AuditLog.id.desc())) == "backup.restore"
        again = subprocess.run(
            FLASK + ["backup", "restore", str(path)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert again.returncode == 1 and "only into an empty database" in again.stderr

        # The processing file has no heartbeat: failed over to a retry. The queued ones have
        # no RQ job in this Redis: queued again, as is the retry once it is due.
        reaped = [0, 0]

        def reap():
            stale, lost = reaper.reap()
            reaped[0] += stale
            reaped[1] += lost
            return reaped == [1, 4]

        wait_for(reap, timeout=30, interval=0.5, message="the reaper to pick up every file in flight")
        worker = subprocess.run(
            FLASK + ["worker", "--burst", "--name", f"restored-{RUN_ID}"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert worker.returncode == 0, worker.stderr[-2000:]
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(FPR).where(FPR.status == status.COMPLETED)) == 7
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SalesCall)) == 7
        completions = db.session.execute(
            sa.select(FileEvent.file_id, sa.func.count())
            .where(FileEvent.to_status == status.COMPLETED)
            .group_by(FileEvent.file_id)
        ).all()
        assert len(completions) == 7 and all(n == 1 for _, n in completions)
        reasons = db.session.scalars(
            sa.select(FileEvent.message).where(FileEvent.file_id == victim_id, FileEvent.to_status == status.FAILED)
        ).all()
        assert len(reasons) == 1 and "No sign of life from gone-worker" in reasons[0]
        assert db.session.get(BatchJob, second.job_id).status == "completed"
        # New rows get ids past the restored ones: the sequences were restored too.
        assert max(e for (e,) in db.session.execute(sa.select(FileEvent.id))) > before["file_events"]
        db.session.remove()
        db.engine.dispose()


def test_a_portable_backup_of_postgresql_restores_with_its_ids_and_sequences(
    ctx, tmp_path, service_env, fresh_database
):
    from webapp import create_app

    configure(scanning={"fileSettleSeconds": 0})
    (tmp_path / "calls").mkdir()
    write_calls(tmp_path / "calls", 2)
    scan(tmp_path / "calls")
    before = table_counts(db.engine)
    where, manifest = backup.create(str(tmp_path / "b"), portable=True)
    assert manifest["format"] == "portable" and manifest["database"] == "postgresql"
    assert manifest["tables"] == before and before["file_processing_records"] == 2
    source = db.session.execute(sa.select(FPR.id, FPR.file_name, FPR.created_at).order_by(FPR.id)).all()
    last_event = db.session.scalar(sa.select(sa.func.max(FileEvent.id)))

    # In its own process: the migrations' logging setup would silence this one's loggers.
    restore = subprocess.run(
        FLASK + ["backup", "restore", where],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **service_env, "DATABASE_URL": fresh_database},
        timeout=120,
    )
    assert restore.returncode == 0, restore.stderr[-2000:]
    restored_app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": fresh_database})
    with restored_app.app_context():
        assert table_counts(db.engine) == {**before, "audit_log": before["audit_log"] + 1}
        assert db.session.scalar(sa.text("SELECT version_num FROM alembic_version")) == manifest["revision"]
        assert db.session.execute(sa.select(FPR.id, FPR.file_name, FPR.created_at).order_by(FPR.id)).all() == source
        event = FileEvent(file_id=source[0].id, message="after the restore")
        db.session.add(event)
        db.session.commit()
        assert event.id > last_event
        db.session.remove()
        db.engine.dispose()


@pytest.mark.slow
def test_the_portable_format_round_trips_on_the_embedded_sqlite_default(tmp_path):
    source, target = embedded_env(tmp_path / "source"), embedded_env(tmp_path / "target")
    assert run_flask(source, "samples", "make", str(tmp_path / "calls"), "--count", "2").returncode == 0
    run = run_flask(source, "batch", "run", str(tmp_path / "calls"), "--json")
    assert run.returncode == 0, run.stderr[-2000:]
    created = run_flask(source, "backup", "create", "--to", str(tmp_path / "backups"))
    assert created.returncode == 0, created.stderr[-2000:]
    (path,) = (tmp_path / "backups").iterdir()
    verified = run_flask(source, "backup", "verify", str(path), "--json")
    assert verified.returncode == 0, verified.stderr
    manifest = json.loads(verified.stdout)
    assert manifest["format"] == "portable" and manifest["database"] == "sqlite"
    assert manifest["tables"]["sales_calls"] == 2 and manifest["tables"]["file_processing_records"] == 2

    restored = run_flask(target, "backup", "restore", str(path))
    assert restored.returncode == 0, restored.stderr[-2000:]

    def counts(instance):
        with sqlite3.connect(instance / "callbatch.sqlite3") as conn:
            return {
                t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in manifest["tables"]
            }, conn.execute("SELECT transcript, called_at FROM sales_calls ORDER BY id").fetchall()

    source_counts, source_calls = counts(tmp_path / "source")
    target_counts, target_calls = counts(tmp_path / "target")
    assert target_counts == {**manifest["tables"], "audit_log": manifest["tables"]["audit_log"] + 1}
    assert source_calls == target_calls and all(text for text, _ in target_calls)
    again = run_flask(target, "backup", "restore", str(path))
    assert again.returncode == 1 and "only into an empty database" in again.stderr

    # A damaged payload is caught by its checksum, a foreign file by its missing manifest.
    damaged = tmp_path / "damaged.tar"
    with tarfile.open(path) as src, tarfile.open(damaged, "w") as out:
        for member in src.getmembers():
            data = src.extractfile(member).read()
            if member.name == "tables/sales_calls.jsonl":
                data = data.replace(b'"transcript": "', b'"transcript": "X')
                member.size = len(data)
            out.addfile(member, __import__("io").BytesIO(data))
    bad = run_flask(source, "backup", "verify", str(damaged))
    assert bad.returncode == 1 and "does not match its checksum" in bad.stderr
    (tmp_path / "notes.txt").write_text("hello")
    foreign = run_flask(source, "backup", "verify", str(tmp_path / "notes.txt"))
    assert foreign.returncode == 1 and "not a readable backup" in foreign.stderr


def test_a_backup_uploads_to_s3(ctx, cli, moto_server):
    configure(scanning={"fileSettleSeconds": 0})
    client = aws_client("s3", moto_server)
    bucket = f"backups-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=bucket)
    env = {
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    result = cli.invoke(args=["backup", "create", "--to", f"s3://{bucket}/nightly"], env=env)
    assert result.exit_code == 0, result.output
    (obj,) = client.list_objects_v2(Bucket=bucket, Prefix="nightly/")["Contents"]
    assert obj["Key"].startswith("nightly/callbatch-") and obj["Key"].endswith(backup.SUFFIX)
    assert f"s3://{bucket}/{obj['Key']}" in result.output
    body = client.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
    local = os.path.join(ctx.instance_path, "downloaded" + backup.SUFFIX)
    with open(local, "wb") as f:
        f.write(body)
    assert backup.verify(local)["tables"]["batch_settings"] == 1
    os.remove(local)

    # The daily backup keeps the newest N in the bucket too.
    configure(backup={"enabled": True, "hour": 0, "destination": f"s3://{bucket}/daily", "keep": 1})
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        first = backup.run_scheduled(datetime(2026, 3, 1, 1, tzinfo=timezone.utc))
        second = backup.run_scheduled(datetime(2026, 3, 2, 1, tzinfo=timezone.utc))
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key)
            else:
                os.environ[key] = value
    keys = sorted(o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"])
    assert first != second and keys == sorted([obj["Key"], second.removeprefix(f"s3://{bucket}/")])


def test_the_daily_backup_runs_once_a_day_after_its_hour_and_keeps_the_newest(ctx, tmp_path):
    configure(backup={"enabled": True, "hour": 2, "destination": str(tmp_path), "keep": 2})
    ctx.config["TIMEZONE"] = "Asia/Jerusalem"  # UTC+2 in March
    try:
        at = lambda day, hour, minute=0: datetime(2026, 3, day, hour, minute, tzinfo=timezone.utc)  # noqa: E731
        assert backup.tick(at(1, 23, 30)) is None  # 01:30 local on the 2nd: not yet
        first = backup.tick(at(2, 0, 30))  # 02:30 local
        assert first and os.path.exists(first)
        assert backup.tick(at(2, 6)) is None  # once a day
        second = backup.tick(at(3, 0, 5))
        third = backup.tick(at(4, 1))
        assert second and third
        kept = sorted(os.listdir(tmp_path))
        assert kept == sorted([os.path.basename(second), os.path.basename(third)])
        rows = db.session.scalars(
            sa.select(AuditLog).where(AuditLog.action == "backup.scheduled").order_by(AuditLog.id)
        ).all()
        assert len(rows) == 3 and rows[-1].after["removed"] == [os.path.basename(first)]
    finally:
        ctx.config["TIMEZONE"] = "UTC"


def test_the_periodic_tick_makes_the_daily_backup_only_when_enabled(ctx, tmp_path):
    schedule.tick()
    assert not tmp_path.exists() or not os.listdir(tmp_path)
    configure(backup={"enabled": True, "hour": 0, "destination": str(tmp_path / "daily"), "keep": 3})
    schedule.tick()
    schedule.tick()
    (made,) = os.listdir(tmp_path / "daily")
    assert backup.verify(str(tmp_path / "daily" / made))["format"] == "pg_dump"
