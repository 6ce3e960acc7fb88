"""Prometheus metrics.

Counters and histograms are kept by the process that sees the event (web or worker). With
PROMETHEUS_MULTIPROC_DIR set (in the environment before the process starts, the same
directory for gunicorn and the RQ workers of one host), prometheus_client writes them to files
there and a scrape adds up every process's files; without it, a scrape shows this process's
own values (the embedded default). State that the database and Redis already hold (files by
status, queue depths, live workers) is read at scrape time, never counted twice.
"""

import os
import time

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

STAGE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)

# registry=None: each scrape builds its own registry (see `exposition`).
STAGE_SECONDS = Histogram(
    "callbatch_file_stage_seconds",
    "Seconds one file spent in a pipeline stage.",
    ["stage"],
    buckets=STAGE_BUCKETS,
    registry=None,
)
FAILURES = Counter("callbatch_file_failures", "Files that failed, by error code.", ["code", "category"], registry=None)
RETRIES = Counter(
    "callbatch_file_retries",
    "Automatic retries scheduled, by the error code that caused them.",
    ["code"],
    registry=None,
)
DELIVERIES = Counter(
    "callbatch_notification_deliveries",
    "Notification delivery attempts, by channel and outcome.",
    ["channel", "outcome"],
    registry=None,
)
MODEL_LOADS = Counter("callbatch_model_loads", "Speech models loaded into a process.", ["engine"], registry=None)
OWN = (STAGE_SECONDS, FAILURES, RETRIES, DELIVERIES, MODEL_LOADS)


def stage_timings(timings):
    """A completed file's stage timings (`<stage>_ms`, as the pipeline records them)."""
    for key, ms in timings.items():
        if key.endswith("_ms") and isinstance(ms, (int, float)):
            STAGE_SECONDS.labels(stage=key[:-3]).observe(ms / 1000)


def file_failed(record):
    FAILURES.labels(code=record.error_code or "UNKNOWN", category=record.error_category or "unknown").inc()


def retry_scheduled(record):
    RETRIES.labels(code=record.error_code or "UNKNOWN").inc()


def delivery(channel, outcome):
    DELIVERIES.labels(channel=channel, outcome=outcome).inc()


def model_loaded(engine):
    MODEL_LOADS.labels(engine=engine).inc()


def exposition():
    """The text a scrape returns: this host's processes' counters plus the current state."""
    registry = CollectorRegistry(auto_describe=False)
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        MultiProcessCollector(registry, path=directory)
    else:
        for metric in OWN:
            registry.register(metric)
    registry.register(StateCollector())
    return generate_latest(registry)


class StateCollector:
    """Gauges read at scrape time from the database and Redis (runs inside the request)."""

    def collect(self):
        yield _files_by_status()
        yield from _queues()
        yield from _workers()

    def describe(self):
        return []


def _files_by_status():
    from . import file_counts as counts
    from .extensions import db
    from .models import ExternalFolder

    names = dict(db.session.execute(sa.select(ExternalFolder.id, ExternalFolder.name)).all())
    gauge = GaugeMetricFamily(
        "callbatch_files", "File records by status and folder.", labels=["status", "folder_id", "folder"]
    )
    for folder_id, by_status in counts.by_folder().items():
        for status, count in by_status.items():
            gauge.add_metric([status, str(folder_id), names.get(folder_id, "")], count)
    return gauge


def _queues():
    from rq.registry import ScheduledJobRegistry

    from . import queues

    depth = GaugeMetricFamily("callbatch_queue_depth", "Jobs waiting in a queue.", labels=["queue"])
    scheduled = GaugeMetricFamily(
        "callbatch_scheduled_jobs", "Delayed jobs (retries) waiting for their time, by queue.", labels=["queue"]
    )
    for name in queues.ALL_QUEUES:
        q = queues.queue(name)
        depth.add_metric([name], q.count)
        scheduled.add_metric([name], ScheduledJobRegistry(queue=q).count)
    return depth, scheduled


def _workers():
    from rq import Worker

    from . import queues

    live = Worker.all(queue=queues.queue(queues.FILES))
    count = GaugeMetricFamily("callbatch_workers", "Live RQ workers (heartbeat in Redis).")
    count.add_metric([], len(live))
    age = GaugeMetricFamily(
        "callbatch_worker_heartbeat_age_seconds", "Seconds since each worker's last heartbeat.", labels=["worker"]
    )
    now = time.time()
    for worker in live:
        if worker.last_heartbeat:
            age.add_metric([worker.name], max(0.0, now - worker.last_heartbeat.timestamp()))
    return count, age
