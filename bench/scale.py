"""Scaling benchmark: the same 1,000-file batch processed by 1, 2 and 4 worker processes
(real `flask worker` processes on real Redis and PostgreSQL), with delivered .txt transcripts
(the sidecar transcriber), so it measures the pipeline and not speech recognition; then a
short run with the real small Whisper model on 40 recordings of synthetic Hebrew speech with
1 and 2 workers. For each run it prints the throughput, the ratio to 1 worker, and where the
machine's time went (CPU of the workers, PostgreSQL and Redis; sessions waiting on locks), so
the point where it stops scaling, and why, can be read off.

Run: .venv/bin/python bench/scale.py [--files 1000] [--workers 1,2,4] [--whisper-files 40] [--whisper-workers 1,2]
Needs PostgreSQL and Redis on 127.0.0.1; uses a database of its own, dropped at the end."""

import argparse
import os
import sys
import threading
import time

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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--whisper-files", type=int, default=40)
    parser.add_argument("--whisper-workers", default="1,2")
    args = parser.parse_args()
    with own_services("scale") as workdir:
        _run(args, workdir)


def _run(args, workdir):
    from webapp.analysis import model_files
    from webapp.batch import folder_config

    app = migrated_app()
    with app.app_context():
        configure_batch({"type": "sidecar"})
        calls = os.path.join(workdir, "calls")
        write_recordings(calls, args.files)
        folder_id = folder_config.local_folder_for(calls).id

    heading = (
        f"{args.files} recordings with .txt transcripts (sidecar transcriber); "
        f"{psutil.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start"
    )
    _compare(app, folder_id, args.files, args.workers, heading)

    if args.whisper_files:
        from webapp import samples

        with app.app_context():
            model, _ = model_files.install_base(os.path.join(workdir, "models"))
            configure_batch(
                {
                    "type": "faster_whisper",
                    "model": model,
                    "language": "he",
                    "compute_type": "int8",
                    "cpu_threads": 2,
                    "beam_size": 1,
                },
            )
            speech = os.path.join(workdir, "speech")
            samples.make_folder(
                speech, count=args.whisper_files, formats=("wav",), metadata=False, speak=True, transcripts="none"
            )
            folder_id = folder_config.local_folder_for(speech).id
        heading = (
            f"\n{args.whisper_files} recordings of synthetic Hebrew speech, Whisper base (int8, 2 threads per "
            f"worker, beam 1), load average {os.getloadavg()[0]:.1f} at the start"
        )
        _compare(app, folder_id, args.whisper_files, args.whisper_workers, heading)


def _compare(app, folder_id, files, workers, heading):
    """The folder's batch processed by each number of workers in `workers` ("1,2,4"), as a table."""
    print(heading, flush=True)
    _print([_batch(app, folder_id, files, int(n)) for n in workers.split(",")])


def _reset():
    """Forget every record, call and job, so the next run processes the same batch anew."""
    import sqlalchemy as sa

    from webapp.extensions import db

    db.session.execute(
        sa.text(
            "TRUNCATE sales_calls, customers, file_events, file_processing_records, batch_jobs RESTART IDENTITY CASCADE"
        )
    )
    db.session.commit()


def _batch(app, folder_id, files, workers):
    """Scan the folder afresh and drain it with `workers` burst workers; the run's figures."""
    import sqlalchemy as sa

    from webapp.batch import discovery
    from webapp.extensions import db
    from webapp.models import ExternalFolder
    from webapp.models import FileProcessingRecord as FPR

    with app.app_context():
        _reset()
        result = discovery.scan(db.session.get(ExternalFolder, folder_id), trigger="bench")
        assert result.queued == files, result
    sampler = Sampler()
    started = time.perf_counter()
    procs = burst_workers(workers)
    with sampler:
        while any(p.poll() is None for p in procs):
            sampler.watch([p.pid for p in procs])
            time.sleep(0.1)
    wall = time.perf_counter() - started
    with app.app_context():
        done = db.session.scalar(sa.select(sa.func.count()).where(FPR.status == "completed"))
        first, last = db.session.execute(sa.select(sa.func.min(FPR.started_at), sa.func.max(FPR.finished_at))).one()
        spans = completed_spans()
    busy = (last - first).total_seconds()
    return {
        "workers": workers,
        "files": files,
        "done": done,
        "wall": wall,
        "busy": busy,
        "rate": done / busy,
        "p50": percentile(spans, 50),
        "p95": percentile(spans, 95),
        **sampler.figures(),
    }


class Sampler:
    """While a run goes on: the CPU seconds used by the workers, and by the PostgreSQL and
    Redis servers as a whole (every process of theirs, followed by its pid so a backend that
    ends keeps its share; on a shared server that includes other databases' work), the whole
    machine's CPU, and how many database sessions were running a statement or waiting on a lock
    (pg_stat_activity, sampled every 0.2 s)."""

    SERVERS = ("postgres", "redis")

    def __init__(self):
        self.workers = {}
        self.start_cpu, self.last_cpu = {}, {}
        self.lock_samples = self.samples = self.active = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self):
        self.start_cpu = dict(self._server_cpu())
        psutil.cpu_percent(None)  # from now on
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join()
        self._server_seen()
        self.machine_busy = psutil.cpu_percent(None) / 100

    def watch(self, pids):
        for pid in pids:
            try:
                t = psutil.Process(pid).cpu_times()
                self.workers[pid] = t.user + t.system
            except psutil.NoSuchProcess:
                pass

    def _server_cpu(self):
        for proc in psutil.process_iter(["name", "cpu_times"]):
            name, times = proc.info["name"] or "", proc.info["cpu_times"]
            kind = next((k for k in self.SERVERS if name.startswith(k)), None)
            if kind and times:
                yield (kind, proc.pid), times.user + times.system

    def _server_seen(self):
        self.last_cpu.update(self._server_cpu())

    def _sample(self):
        import psycopg

        from bench.services import PG_ADMIN

        database = os.environ["DATABASE_URL"].rsplit("/", 1)[1]
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            while not self._done.wait(0.2):
                waiting, active = conn.execute(
                    "SELECT count(*) FILTER (WHERE wait_event_type = 'Lock'), count(*) FILTER (WHERE state = 'active') "
                    "FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                    (database,),
                ).fetchone()
                self.lock_samples += waiting
                self.active += active
                self.samples += 1
                self._server_seen()

    def _used(self, kind):
        return sum(cpu - self.start_cpu.get(key, 0.0) for key, cpu in self.last_cpu.items() if key[0] == kind)

    def figures(self):
        return {
            "cpu_workers": sum(self.workers.values()),
            "cpu_postgres": self._used("postgres"),
            "cpu_redis": self._used("redis"),
            "machine_busy": self.machine_busy,
            "lock_waits": self.lock_samples / max(1, self.samples),
            "db_active": self.active / max(1, self.samples),
        }


def _print(runs):
    one = runs[0]["rate"]
    print(
        f"{'workers':>7} {'done':>9} {'wall s':>7} {'busy s':>7} {'files/s':>8} {'vs 1':>6} {'file p50':>9} "
        f"{'p95 ms':>7}  {'CPU s: workers':>14} {'postgres*':>9} {'redis*':>6}  "
        f"{'machine':>7} {'db active':>9} {'lock waits':>10}"
    )
    for r in runs:
        print(
            f"{r['workers']:>7} {r['done']:>4}/{r['files']:<4} {r['wall']:7.1f} {r['busy']:7.1f} {r['rate']:8.2f} "
            f"{r['rate'] / one:5.2f}x {r['p50']:9.0f} {r['p95']:7.0f}  {r['cpu_workers']:14.1f} "
            f"{r['cpu_postgres']:9.1f} {r['cpu_redis']:6.1f}  {r['machine_busy']:7.0%} {r['db_active']:9.2f} "
            f"{r['lock_waits']:10.2f}"
        )
    print(
        "(* the whole server's processes, whoever's work; busy s: first claim to last completion, "
        "without the workers' start; machine: share of all CPUs "
        "busy, anyone's; db active: database sessions running a statement, on average; "
        "lock waits: database sessions waiting on a lock, on average)"
    )
    best = max(runs, key=lambda r: r["rate"])
    for previous, r in zip(runs, runs[1:], strict=False):
        gain = r["rate"] / previous["rate"]
        if gain < 1.15:
            print(
                f"stops scaling past {previous['workers']} workers: {r['workers']} give {gain:.2f}x of "
                f"{previous['workers']}; {_why(r)}"
            )
            break
    else:
        print(f"still scaling at {best['workers']} workers")


def _why(run):
    cpu = run["cpu_workers"] + run["cpu_postgres"] + run["cpu_redis"]
    reasons = [f"the machine's CPUs were {run['machine_busy']:.0%} busy"]
    reasons.append(
        f"of the CPU this run used, workers {run['cpu_workers'] / cpu:.0%}, the PostgreSQL "
        f"server {run['cpu_postgres'] / cpu:.0%}, the Redis server {run['cpu_redis'] / cpu:.0%}"
    )
    if run["lock_waits"] >= 0.5:
        reasons.append(f"{run['lock_waits']:.1f} database sessions waiting on locks on average")
    else:
        reasons.append(f"lock waits negligible ({run['lock_waits']:.2f} sessions on average)")
    return "; ".join(reasons)


if __name__ == "__main__":
    main()
