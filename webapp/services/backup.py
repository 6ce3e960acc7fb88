"""Backups of the processing state: create, verify, restore, and the daily scheduled one.

A backup is one tar file holding `manifest.json` and its payload:
- "pg_dump": `database.pgdump`, pg_dump's custom format (one snapshot of every table);
- "portable": `tables/<name>.jsonl`, every table's rows as JSON lines, read in one
  transaction (REPEATABLE READ on PostgreSQL), for SQLite or a server without a usable pg_dump.
The manifest names the format, the migration revision, when it was made, the row count of
every table and the SHA-256 of every payload file.
"""

from __future__ import annotations

import glob
import hashlib
import io
import json
import logging
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app

from .. import audit_log
from ..errors import CallbatchError
from ..extensions import db
from ..models import AuditLog
from ..models.types import UTCDateTime, utcnow

PG_DUMP, PORTABLE = "pg_dump", "portable"
MANIFEST = "manifest.json"
DUMP_MEMBER = "database.pgdump"
SUFFIX = ".callbatch-backup.tar"
SCHEDULED_ACTION = "backup.scheduled"

log = logging.getLogger(__name__)


def _error(message):
    return CallbatchError(message, code="BACKUP_FAILED")


# ---- create -------------------------------------------------------------------------------


def create(destination: str | None = None, portable: bool = False) -> tuple[str, dict[str, Any]]:
    """Write a backup to `destination` (a directory or s3://bucket/prefix; default: the
    instance folder's backups/); `portable` asks for JSON lines even where pg_dump could
    run (to move between PostgreSQL and SQLite). Returns (where it was written, manifest)."""
    destination = destination or default_directory()
    name = f"callbatch-{utcnow():%Y%m%dT%H%M%S%fZ}{SUFFIX}"
    with tempfile.TemporaryDirectory(prefix="callbatch-backup-") as work:
        manifest, payload = _snapshot(work, portable)
        local = os.path.join(work, name)
        _write_tar(local, manifest, payload)
        if destination.startswith("s3://"):
            where = _upload(local, destination, name)
        else:
            os.makedirs(destination, exist_ok=True)
            where = os.path.join(destination, name)
            shutil.move(local, where)
    return where, manifest


def backup_id(location: str) -> str:
    """The audit log's short name of a backup: its time stamp."""
    return os.path.basename(location).removeprefix("callbatch-").removesuffix(SUFFIX)[:40]


def default_directory() -> str:
    return os.path.join(current_app.instance_path, "backups")


def _snapshot(work, portable):
    engine = db.engine
    pg_dump = _usable_pg_dump(engine) if engine.dialect.name == "postgresql" and not portable else None
    if pg_dump:
        return _pg_dump_snapshot(engine, pg_dump, work)
    return _portable_snapshot(engine, work)


def _usable_pg_dump(engine):
    """pg_dump on PATH or under /usr/lib/postgresql/*/bin whose version is at least the
    server's (an older pg_dump refuses a newer server); None when there is none."""
    with engine.connect() as conn:
        server = int(conn.execute(sa.text("SHOW server_version_num")).scalar()) // 10000
    candidates = [shutil.which("pg_dump")] + sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_dump"), reverse=True)
    for path in filter(None, candidates):
        if _major_version(path) >= server and _pg_restore_beside(path):
            return path
    return None


def _pg_restore_beside(pg_dump):
    return shutil.which("pg_restore", path=os.path.dirname(pg_dump))


def _major_version(binary):
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"\)\s*(\d+)", out).group(1))  # "pg_dump (PostgreSQL) 15.20 (Debian ...)"


def _libpq(engine):
    """The database URL for pg_dump/pg_restore and the environment that carries its password
    (kept out of the command line, which any local user can read)."""
    url = engine.url.set(drivername="postgresql")
    env = {**os.environ, "PGPASSWORD": url.password} if url.password else None
    return url.set(password=None).render_as_string(hide_password=False), env


def _run(name, command, env):
    """Run pg_dump or pg_restore (`name`); a failure raises with the end of what it said."""
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode:
        raise _error(f"{name} failed: {result.stderr.strip()[-500:]}")


def _pg_dump_snapshot(engine, pg_dump, work):
    """pg_dump reads the snapshot this transaction exported, so the manifest's counts are
    exactly the dump's."""
    path = os.path.join(work, DUMP_MEMBER)
    url, env = _libpq(engine)
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            snapshot = conn.execute(sa.text("SELECT pg_export_snapshot()")).scalar()
            counts = _counts(conn)
            revision = _revision(conn)
            _run(
                "pg_dump",
                [
                    pg_dump,
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    f"--snapshot={snapshot}",
                    f"--file={path}",
                    url,
                ],
                env,
            )
    return _manifest(PG_DUMP, revision, counts, {DUMP_MEMBER: path}), {DUMP_MEMBER: path}


def _portable_snapshot(engine, work):
    payload, counts = {}, {}
    os.makedirs(os.path.join(work, "tables"))
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            revision = _revision(conn)
            for table in db.metadata.sorted_tables:
                member = f"tables/{table.name}.jsonl"
                path = os.path.join(work, member)
                count = 0
                with open(path, "w", encoding="utf-8") as out:
                    rows = conn.execute(sa.select(table).order_by(*table.primary_key.columns))
                    for row in rows.mappings():
                        out.write(json.dumps(dict(row), default=_json_value, ensure_ascii=False) + "\n")
                        count += 1
                counts[table.name] = count
                payload[member] = path
    return _manifest(PORTABLE, revision, counts, payload), payload


def _json_value(value):
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} in a portable backup")


def _counts(conn, names=None):
    return {
        t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
        for t in db.metadata.sorted_tables
        if names is None or t.name in names
    }


def _revision(conn):
    return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def _manifest(fmt, revision, counts, payload):
    return {
        "format": fmt,
        "revision": revision,
        "created_at": utcnow().isoformat(),
        "database": db.engine.dialect.name,
        "tables": counts,
        "files": {member: _sha256(path) for member, path in payload.items()},
    }


def _sha256(path_or_file):
    digest = hashlib.sha256()
    f = open(path_or_file, "rb") if isinstance(path_or_file, str) else path_or_file
    with f:
        for chunk in iter(lambda: f.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _write_tar(path, manifest, payload):
    with tarfile.open(path, "w") as tar:
        data = json.dumps(manifest, indent=2).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mtime = len(data), int(utcnow().timestamp())
        tar.addfile(info, io.BytesIO(data))
        for member, file_path in payload.items():
            tar.add(file_path, arcname=member)


def _s3_parts(url):
    bucket, _, prefix = url[len("s3://") :].partition("/")
    if not bucket:
        raise _error(f"{url} names no bucket; write it as s3://bucket/prefix.")
    return bucket, prefix.strip("/")


def _s3_client():
    import boto3

    return boto3.session.Session().client("s3")  # credentials and endpoint from the AWS_* environment


def _upload(local, url, name):
    bucket, prefix = _s3_parts(url)
    key = f"{prefix}/{name}" if prefix else name
    try:
        _s3_client().upload_file(local, bucket, key)
    except Exception as exc:  # botocore's errors carry no secrets, only the service's answer
        raise _error(f"Uploading the backup to s3://{bucket}/{key} failed: {exc}") from exc
    return f"s3://{bucket}/{key}"


# ---- verify -------------------------------------------------------------------------------


def verify(path: str) -> dict[str, Any]:
    """Check the manifest and every payload checksum (and, for portable dumps, the row
    counts). Returns the manifest; raises CallbatchError naming the first problem."""
    if not os.path.isfile(path):
        raise _error(f"{path} is not a file.")
    try:
        with tarfile.open(path, "r") as tar:
            manifest = _read_manifest(tar, path)
            names = set(tar.getnames()) - {MANIFEST}
            if names != set(manifest["files"]):
                raise _error(f"{path} holds {sorted(names)} but its manifest lists {sorted(manifest['files'])}.")
            for member, expected in manifest["files"].items():
                if _sha256(tar.extractfile(member)) != expected:
                    raise _error(f"{member} in {path} does not match its checksum: the backup is damaged.")
            if manifest["format"] == PORTABLE:
                for table, expected in manifest["tables"].items():
                    lines = sum(1 for _ in tar.extractfile(f"tables/{table}.jsonl"))
                    if lines != expected:
                        raise _error(f"Table {table} has {lines} rows in {path}, its manifest says {expected}.")
    except tarfile.TarError as exc:
        raise _error(f"{path} is not a readable backup ({exc}).") from exc
    return manifest


def _read_manifest(tar, path):
    try:
        manifest = json.load(tar.extractfile(MANIFEST))
    except (KeyError, ValueError) as exc:
        raise _error(f"{path} has no readable {MANIFEST}; it is not a Callbatch backup.") from exc
    missing = {"format", "revision", "created_at", "tables", "files"} - set(manifest)
    if missing or manifest["format"] not in (PG_DUMP, PORTABLE):
        raise _error(f"The manifest of {path} is incomplete (missing {sorted(missing)}) or of an unknown format.")
    return manifest


# ---- restore ------------------------------------------------------------------------------


def restore(path: str) -> dict[str, Any]:
    """Restore a verified backup into this app's database, which must be empty."""
    manifest = verify(path)
    engine = db.engine
    tables = sa.inspect(engine).get_table_names()
    if tables:
        raise _error(
            f"The database is not empty (it has {len(tables)} tables); a backup is restored "
            "only into an empty database. Create a new database and point DATABASE_URL at it."
        )
    with tempfile.TemporaryDirectory(prefix="callbatch-restore-") as work:
        with tarfile.open(path, "r") as tar:
            tar.extractall(work, filter="data")
        if manifest["format"] == PG_DUMP:
            _pg_restore(engine, os.path.join(work, DUMP_MEMBER))
        else:
            _portable_restore(engine, manifest, work)
    with engine.connect() as conn:
        counts = _counts(conn, manifest["tables"])
    if counts != manifest["tables"]:
        raise _error(f"After the restore the row counts {counts} differ from the backup's {manifest['tables']}.")
    return manifest


def _pg_restore(engine, dump):
    if engine.dialect.name != "postgresql":
        raise _error("This backup was made by pg_dump; restore it into a PostgreSQL database.")
    pg_dump = _usable_pg_dump(engine)
    pg_restore = pg_dump and _pg_restore_beside(pg_dump)
    if not pg_restore:
        raise _error(
            "pg_restore (at least the server's version) was not found on PATH or under /usr/lib/postgresql/*/bin."
        )
    url, env = _libpq(engine)
    _run(
        "pg_restore",
        [
            pg_restore,
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={url}",
            dump,
        ],
        env,
    )


# Rows the database's triggers write as the records are inserted (migration 0016): restored
# after the records, over what the triggers counted.
COUNTED_BY_TRIGGERS = {"file_status_counts"}


def _portable_restore(engine, manifest, work):
    from flask_migrate import upgrade

    try:
        upgrade(revision=manifest["revision"])
    except Exception as exc:
        raise _error(f"Could not build the schema at migration {manifest['revision']}: {exc}") from exc
    with engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):  # rows a migration seeded (the starter trackers)
            if table.name in manifest["tables"]:  # give way to the backup's own
                conn.execute(table.delete())
        tables = db.metadata.sorted_tables
        for table in [t for t in tables if t.name not in COUNTED_BY_TRIGGERS] + [
            t for t in tables if t.name in COUNTED_BY_TRIGGERS
        ]:
            if table.name not in manifest["tables"]:
                continue
            if table.name in COUNTED_BY_TRIGGERS:
                conn.execute(table.delete())  # what the triggers counted, replaced by the same figures saved
            with open(os.path.join(work, "tables", f"{table.name}.jsonl"), encoding="utf-8") as f:
                batch = []
                for line in f:
                    batch.append(_row(table, json.loads(line)))
                    if len(batch) == 1000:
                        conn.execute(table.insert(), batch)
                        batch = []
                if batch:
                    conn.execute(table.insert(), batch)
        if engine.dialect.name == "postgresql":
            _fix_sequences(conn)


def _row(table, values):
    for column in table.columns:
        value = values.get(column.name)
        if value is not None and isinstance(column.type, (UTCDateTime, sa.DateTime)):
            values[column.name] = datetime.fromisoformat(value)
    return values


def _fix_sequences(conn):
    """Inserted ids do not move the sequences: set each past its table's largest id."""
    for table in db.metadata.sorted_tables:
        if "id" not in table.columns:
            continue
        sequence = conn.execute(sa.text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name}).scalar()
        if sequence:
            conn.execute(
                sa.text(f"SELECT setval(:s, COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"),
                {"s": sequence},
            )


# ---- the scheduled daily backup -----------------------------------------------------------


def tick(now: datetime | None = None) -> str | None:
    """The periodic tick's call: a failed backup is logged and tried again at the next tick,
    it never stops the tick."""
    try:
        return run_scheduled(now)
    except Exception:
        db.session.rollback()
        log.warning("the scheduled backup failed", exc_info=True)
        return None


def run_scheduled(now: datetime | None = None) -> str | None:
    """Called by the periodic tick: make the day's backup once it is past the configured
    hour (in TIMEZONE), then keep only the newest `keep` backups. The last run is the latest
    `backup.scheduled` audit row. Returns the backup's location, or None when not due."""
    from zoneinfo import ZoneInfo

    from ..batch import batch_config

    config = batch_config.load().backup
    if not config.enabled:
        return None
    now = now or utcnow()
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    local_now = now.astimezone(tz)
    due_at = local_now.replace(hour=config.hour, minute=0, second=0, microsecond=0)
    if local_now < due_at:
        return None
    last = db.session.scalar(sa.select(sa.func.max(AuditLog.created_at)).where(AuditLog.action == SCHEDULED_ACTION))
    if last and last.astimezone(tz) >= due_at:
        return None
    destination = config.destination or default_directory()
    where, manifest = create(destination)
    removed = prune(destination, config.keep)
    row = audit_log.record(
        SCHEDULED_ACTION,
        target=("backup", backup_id(where)),
        actor="scheduler",
        after={"location": where, "tables": manifest["tables"], "removed": removed},
    )
    row.created_at = now
    db.session.commit()
    return where


def prune(destination: str, keep: int) -> list[str]:
    """Remove the oldest backups in `destination` beyond the newest `keep`; returns their names."""
    names = sorted(_list(destination))  # names sort by the time they were made
    old = names[:-keep] if keep else names
    for name in old:
        if destination.startswith("s3://"):
            bucket, prefix = _s3_parts(destination)
            _s3_client().delete_object(Bucket=bucket, Key=f"{prefix}/{name}" if prefix else name)
        else:
            os.remove(os.path.join(destination, name))
    return old


def _list(destination):
    if destination.startswith("s3://"):
        bucket, prefix = _s3_parts(destination)
        pages = (
            _s3_client()
            .get_paginator("list_objects_v2")
            .paginate(Bucket=bucket, Prefix=f"{prefix}/" if prefix else "", Delimiter="/")
        )
        names = [obj["Key"].rsplit("/", 1)[-1] for page in pages for obj in page.get("Contents", [])]
    elif os.path.isdir(destination):
        names = os.listdir(destination)
    else:
        names = []
    return [n for n in names if n.startswith("callbatch-") and n.endswith(SUFFIX)]
