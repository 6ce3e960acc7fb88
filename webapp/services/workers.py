"""What the workers are doing: one overview for the Workers page, `flask workers` and
GET /api/batch/workers.

Each worker process publishes its own resident memory, CPU time and free download space into
a small Redis hash on every RQ heartbeat (`publish`, called from webapp/worker.py), so the
figures are the worker's own even when it runs on another host. What a worker is processing
comes from the database (the PROCESSING records it claimed)."""

from __future__ import annotations

import os
import resource
import shutil
import socket
import tempfile
import time
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from redis import Redis

from .. import queues
from ..batch.status import PROCESSING, RETRYING
from ..extensions import db
from ..models import FileProcessingRecord as FPR
from ..models.types import iso

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def stats_key(worker_name: str) -> str:
    return f"rq:worker:{worker_name}:resources"


def own_resources() -> dict[str, Any]:
    """This process's resident memory (bytes), CPU seconds and its download directory's free space."""
    with open("/proc/self/statm") as f:
        rss = int(f.read().split()[1]) * PAGE_SIZE
    usage = resource.getrusage(resource.RUSAGE_SELF)
    download_dir = tempfile.gettempdir()
    return {
        "rss_bytes": rss,
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 3),
        "download_dir": download_dir,
        "disk_free_bytes": shutil.disk_usage(download_dir).free,
        "at": time.time(),
    }


def publish(connection: Redis, worker_name: str, ttl: int) -> None:
    """Store this process's resources for `worker_name`, expiring with its RQ heartbeat."""
    key = stats_key(worker_name)
    pipe = connection.pipeline()
    pipe.hset(key, mapping={k: str(v) for k, v in own_resources().items()})
    pipe.expire(key, ttl)
    pipe.execute()


def record_tick() -> None:
    queues.connection().set(queues.redis_key("scheduler", "last-tick"), str(time.time()))


def overview() -> dict[str, Any]:
    from rq import Worker
    from rq.registry import ScheduledJobRegistry

    connection = queues.connection()
    live = sorted(Worker.all(queue=queues.queue(queues.FILES)), key=lambda w: w.name)
    processing = _processing([w.name for w in live])
    workers = [_worker(w, connection, processing.get(w.name, [])) for w in live]
    queue_rows = []
    for name in queues.ALL_QUEUES:
        q = queues.queue(name)
        queue_rows.append({"name": name, "depth": q.count, "scheduled": ScheduledJobRegistry(queue=q).count})
    tick = connection.get(queues.redis_key("scheduler", "last-tick"))
    download_dir = tempfile.gettempdir()
    disk = shutil.disk_usage(download_dir)
    return {
        "workers": workers,
        "queues": queue_rows,
        "scheduled_retries": db.session.scalar(
            sa.select(sa.func.count()).select_from(FPR).where(FPR.status == RETRYING)
        ),
        "scheduler_last_tick": _epoch_iso(float(tick)) if tick else None,
        "download_dir": {
            "path": download_dir,
            "free_bytes": disk.free,
            "total_bytes": disk.total,
            "host": socket.gethostname(),
        },
    }


def _processing(names):
    if not names:
        return {}
    rows = db.session.execute(
        sa.select(FPR.worker_name, FPR.id, FPR.file_name, FPR.started_at)
        .where(FPR.status == PROCESSING, FPR.worker_name.in_(names))
        .order_by(FPR.started_at)
    ).all()
    found = {}
    for worker_name, file_id, file_name, started_at in rows:
        found.setdefault(worker_name, []).append({"file_id": file_id, "file_name": file_name, "since": iso(started_at)})
    return found


def _worker(worker, connection, files):
    stats = {k.decode(): v.decode() for k, v in connection.hgetall(stats_key(worker.name)).items()}
    return {
        "name": worker.name,
        "host": worker.hostname,
        "pid": worker.pid,
        "state": worker.get_state(),
        "current_job": worker.get_current_job_id(),
        "processing": files,
        "jobs_done": worker.successful_job_count,
        "jobs_failed": worker.failed_job_count,
        "started_at": iso(worker.birth_date),
        "last_heartbeat": iso(worker.last_heartbeat),
        "rss_bytes": int(stats["rss_bytes"]) if "rss_bytes" in stats else None,
        "cpu_seconds": float(stats["cpu_seconds"]) if "cpu_seconds" in stats else None,
        "disk_free_bytes": int(stats["disk_free_bytes"]) if "disk_free_bytes" in stats else None,
        "resources_at": _epoch_iso(float(stats["at"])) if "at" in stats else None,
    }


def _epoch_iso(timestamp):
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat()
