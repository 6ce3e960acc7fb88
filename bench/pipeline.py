"""Pipeline benchmark: 1,000 recordings with sidecar transcripts through PostgreSQL + Redis +
2 worker processes, against bare RQ no-op jobs on the same Redis with the same worker class,
in the same run. Also times a scan of a 10,000-file folder and a re-scan with nothing new.

Run: .venv/bin/python bench/pipeline.py [--files 1000] [--scan-files 10000]
Needs PostgreSQL and Redis on 127.0.0.1 (as the test suite does); uses its own database."""

import argparse
import os
import sys
import time
import uuid

import psutil

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench.services import (  # noqa: E402
    burst_workers,
    completed_spans,
    configure_batch,
    migrated_app,
    own_services,
    percentile,
    write_recordings,
)


def noop():
    """The baseline job: does nothing."""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--scan-files", type=int, default=10000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    with own_services("pipeline") as workdir:
        _run(args, workdir)


def _run(args, workdir):
    import sqlalchemy as sa

    from webapp import queues
    from webapp.batch import discovery, folder_config
    from webapp.extensions import db
    from webapp.models import FileProcessingRecord as FPR
    from webapp.services.reports import STAGE_ORDER

    app = migrated_app()
    with app.app_context():
        configure_batch()

        # Baseline: bare RQ no-op jobs, same Redis, same worker class, same number of processes.
        q = queues.queue(queues.FILES)
        base_jobs = q.enqueue_many([q.prepare_data("bench.pipeline.noop", result_ttl=3600) for _ in range(args.files)])
        base_wall, base_rss = _drain(args.workers)
        base_per_job = base_wall * args.workers / args.files * 1000
        base_durations = _job_durations([j.id for j in base_jobs])

        # The pipeline.
        calls = os.path.join(workdir, "calls")
        os.makedirs(calls)
        write_recordings(calls, args.files)
        folder = folder_config.local_folder_for(calls)
        started = time.perf_counter()
        result = discovery.scan(folder, trigger="bench")
        scan_seconds = time.perf_counter() - started
        assert result.queued == args.files, result
        wall, rss = _drain(args.workers)
        db.session.rollback()
        done = db.session.scalar(sa.select(sa.func.count()).select_from(FPR).where(FPR.status == "completed"))
        spans = completed_spans()
        stages = db.session.scalars(sa.select(FPR.stage_timings).where(FPR.status == "completed")).all()
        durations = _job_durations(db.session.scalars(sa.select(FPR.rq_job_id)).all())
        per_file = wall * args.workers / args.files * 1000

        # Scanning a big folder, and re-scanning it with nothing new.
        big = os.path.join(workdir, "big")
        os.makedirs(big)
        sample = os.path.join(calls, os.listdir(calls)[0])
        for _ in range(args.scan_files):
            os.link(sample, os.path.join(big, f"{uuid.uuid4()}.wav"))
        big_folder = folder_config.local_folder_for(big)
        started = time.perf_counter()
        first = discovery.scan(big_folder, trigger="bench")
        big_scan = time.perf_counter() - started
        started = time.perf_counter()
        again = discovery.scan(big_folder, trigger="bench")
        rescan = time.perf_counter() - started
        assert first.queued == args.scan_files and again.known == args.scan_files and again.queued == 0

    print(
        f"pipeline: {done}/{args.files} files completed by {args.workers} workers in {wall:.2f} s "
        f"= {args.files / wall:.1f} files/s (scan + queue of the folder: {scan_seconds:.2f} s)"
    )
    print(
        f"  worker time per file {per_file:.1f} ms; claim→completed p50 {percentile(spans, 50):.1f} ms, "
        f"p95 {percentile(spans, 95):.1f} ms"
    )
    for stage in STAGE_ORDER:
        values = [s[stage] for s in stages if s and stage in s]
        if values:
            print(f"  stage {stage[:-3]:<9} p50 {percentile(values, 50):6.1f} ms  p95 {percentile(values, 95):6.1f} ms")
    print(
        f"baseline: {args.files} bare RQ no-op jobs in {base_wall:.2f} s = {args.files / base_wall:.1f} jobs/s, "
        f"worker time per job {base_per_job:.1f} ms"
    )
    print(
        f"per-file overhead over bare RQ, from RQ's own start/end times of each job: "
        f"p50 {percentile(durations, 50) - percentile(base_durations, 50):.1f} ms, "
        f"p95 {percentile(durations, 95) - percentile(base_durations, 95):.1f} ms "
        f"(pipeline job p50 {percentile(durations, 50):.1f} ms, "
        f"bare job p50 {percentile(base_durations, 50):.2f} ms)"
    )
    print(
        f"worker time per file over bare RQ (throughput): {per_file - base_per_job:.1f} ms more; "
        f"ratio {per_file / base_per_job:.2f}x"
    )
    print(
        f"scan of {args.scan_files} new files (recorded + queued): {big_scan:.2f} s; "
        f"re-scan with nothing new: {rescan:.2f} s"
    )
    print(
        f"peak RSS per worker: pipeline {rss / 2**20:.0f} MB, baseline {base_rss / 2**20:.0f} MB; "
        f"this process {psutil.Process().memory_info().rss / 2**20:.0f} MB"
    )


def _drain(count):
    """Run `count` burst workers until the queues are empty: (wall seconds, peak RSS of one)."""
    started = time.perf_counter()
    procs = burst_workers(count)
    peak = 0
    while any(p.poll() is None for p in procs):
        for p in procs:
            try:
                peak = max(peak, psutil.Process(p.pid).memory_info().rss)
            except psutil.NoSuchProcess:
                pass
        time.sleep(0.05)
    return time.perf_counter() - started, peak


def _job_durations(job_ids):
    """Milliseconds from start to end of each finished RQ job, as RQ recorded them."""
    from rq.job import Job

    from webapp import queues

    jobs = Job.fetch_many([j for j in job_ids if j], connection=queues.connection())
    return [
        (j.ended_at - j.started_at).total_seconds() * 1000
        for j in jobs
        if j is not None and j.started_at and j.ended_at
    ]


if __name__ == "__main__":
    main()
