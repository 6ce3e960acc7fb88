"""Workers killed at every stage of a file, a flushed Redis and a database cut, on real
`flask worker` processes, PostgreSQL and Redis: nothing is stranded, nothing is done twice.

Workers started with CALLBATCH_FAULT_PAUSE_AT (webapp/batch/faults.py) sleep at a named
stage and say so in their log, so a test can kill them exactly there."""

import itertools
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
import sqlalchemy as sa
from rq import Worker
from rq.job import Job, JobStatus

from tests.support.env import ROOT
from tests.support.helpers import configure, wait_for
from tests.support.pipeline import (
    FPR,
    assert_each_completed_once,
    count,
    reap_until_completed,
    scan,
    wait_until_failure_recorded,
)
from tests.support.recordings import write_calls
from webapp import queues
from webapp.batch import enqueue, reaper, status
from webapp.batch.faults import STAGES
from webapp.extensions import db
from webapp.models import BatchJob, FileEvent
from webapp.models import job as job_status

pytestmark = pytest.mark.slow


@pytest.fixture
def faulty(workers, service_env, monkeypatch):
    """Start workers that pause at the given stages, e.g. faulty("claim:60")."""

    def start(pauses, count=1):
        with monkeypatch.context() as m:
            m.setitem(service_env, "CALLBATCH_FAULT_PAUSE_AT", pauses)
            return workers(count)

    return start


@pytest.fixture
def scheduler(service_env, tmp_path):
    """A real `flask scheduler` process: its tick runs the reaper (as a job on the workers)."""
    procs = []

    def start():
        proc = subprocess.Popen(
            [sys.executable, "-m", "flask", "scheduler"],
            cwd=ROOT,
            env={**os.environ, **service_env},
            stdout=subprocess.DEVNULL,
            stderr=open(tmp_path / "scheduler.log", "w"),
            start_new_session=True,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        kill(proc)


def kill(proc):
    """kill -9 of the worker and its scheduler child, as when a machine is lost."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def pauses(tmp_path, proc, stage):
    """How many times the worker process said it paused at `stage`."""
    line = f"process {proc.pid} paused at {stage} "
    return sum(log.read_text(errors="replace").count(line) for log in tmp_path.glob("worker-*.log"))


def wait_paused(tmp_path, proc, stage):
    wait_for(
        lambda: pauses(tmp_path, proc, stage),
        timeout=60,
        interval=0.05,
        message=f"{proc.worker_name} to pause at {stage}",
    )


def assert_every_history_follows_the_status_machine():
    moves = db.session.execute(
        sa.select(FileEvent.file_id, FileEvent.from_status, FileEvent.to_status, FileEvent.message)
        .where(FileEvent.to_status.is_not(None))
        .order_by(FileEvent.file_id, FileEvent.id)
    ).all()
    for file_id, history in itertools.groupby(moves, key=lambda m: m[0]):
        history = list(history)
        told = "\n".join(f"{frm} → {to}: {message}" for _, frm, to, message in history)
        current = None
        for _, frm, to, _message in history:
            assert frm == current, f"file {file_id}: an event from {frm} follows {current}:\n{told}"
            allowed = {status.DISCOVERED} if current is None else status.ALLOWED[current]
            assert to in allowed, f"file {file_id}: {current} → {to} is not a move of the status machine:\n{told}"
            current = to
        assert current == status.COMPLETED, f"file {file_id} ends {current}:\n{told}"


def assert_counters_match_the_records(job_id):
    db.session.rollback()
    job = db.session.get(BatchJob, job_id)
    by_status = dict(
        db.session.execute(
            sa.select(FPR.status, sa.func.count()).where(FPR.job_id == job_id).group_by(FPR.status)
        ).all()
    )
    assert (job.total_files, job.processed_files, job.failed_files, job.skipped_files, job.cancelled_files) == (
        sum(by_status.values()),
        by_status.get(status.COMPLETED, 0),
        by_status.get(status.FAILED, 0),
        by_status.get(status.SKIPPED, 0),
        by_status.get(status.CANCELLED, 0),
    )
    assert job.status == job_status.COMPLETED


@pytest.mark.parametrize(
    "stage, rq_says",
    [
        ("dequeued", JobStatus.QUEUED),  # taken off the queue's list, never started
        ("started", JobStatus.STARTED),  # started, the record not claimed yet
        ("claim", JobStatus.STARTED),  # the claim's UPDATE sent, never committed
    ],
)
def test_a_worker_killed_before_claiming_its_file_is_requeued_within_the_stale_time(
    ctx, workers, faulty, app, tmp_path, stage, rq_says
):
    configure(scanning={"fileSettleSeconds": 0}, retryPolicy={"delaySeconds": 1})
    write_calls(tmp_path, 2)
    scan(tmp_path)
    (proc,) = faulty(f"{stage}:60")
    wait_paused(tmp_path, proc, stage)
    kill(proc)
    killed = time.monotonic()

    assert count(FPR.status == status.QUEUED, FPR.attempts == 0) == 2, "the records are still waiting"
    listed = set(queues.queue(queues.FILES).get_job_ids())
    jobs = Job.fetch_many(db.session.scalars(sa.select(FPR.rq_job_id)).all(), connection=enqueue.redis())
    (stranded,) = [job for job in jobs if job.id not in listed]
    # What RQ alone makes of it: the job looks queued or running, and the killed worker is
    # still listed, its key kept alive for the job's timeout (a non-forking worker beats
    # only when a job starts; RQ's own cleanup would take an hour).
    assert stranded.get_status() == rq_says
    assert proc.worker_name in {w.name for w in Worker.all(connection=enqueue.redis())}
    if rq_says == JobStatus.STARTED:
        assert enqueue.redis().ttl(f"rq:worker:{proc.worker_name}") > app.config["FILE_JOB_TIMEOUT"]

    wait_for(lambda: reaper.reap()[1], timeout=30, interval=0.1, message="the reaper to queue the file again")
    requeued_after = time.monotonic() - killed
    print(f"\nkilled at {stage}: queued again {requeued_after:.1f} s after the kill")
    assert requeued_after <= app.config["STALE_AFTER_SECONDS"] + 2
    workers(1)
    wait_for(lambda: count(FPR.status == status.COMPLETED) == 2, timeout=60, message="both completed")
    assert_each_completed_once(2)
    assert_every_history_follows_the_status_machine()


def test_a_database_cut_mid_file_is_recorded_by_the_worker_as_a_database_error(ctx, faulty, tmp_path, outage):
    """The cut lands while the worker holds an open transaction: its rollback fails too, and
    the worker must still record the failure itself (not leave it to the reaper as a lost
    worker)."""
    configure(scanning={"fileSettleSeconds": 0}, retryPolicy={"delaySeconds": 1})
    write_calls(tmp_path, 2)
    scan(tmp_path)
    (proc,) = faulty("file:2")  # the worker resumes, and fails, while the database is still cut
    wait_paused(tmp_path, proc, "file")
    victim = db.session.scalar(sa.select(FPR.id).where(FPR.status == status.PROCESSING))
    outage.cut()
    time.sleep(3)
    outage.restore()
    wait_until_failure_recorded(victim, timeout=30)
    reap_until_completed(2, timeout=60, interval=0.5, message="both completed")
    assert_each_completed_once(2)
    failures = db.session.execute(
        sa.select(FileEvent.message, FileEvent.details).where(
            FileEvent.file_id == victim, FileEvent.to_status == status.FAILED
        )
    ).all()
    assert [d["code"] for _, d in failures] == ["DATABASE_ERROR"]
    assert failures[0][0].startswith("The database was unreachable")
    assert_every_history_follows_the_status_machine()


def test_a_fault_run_strands_nothing_and_does_nothing_twice(ctx, workers, faulty, scheduler, tmp_path, outage):
    """Two waves of workers killed at every stage, random kills of the steady workers in
    between, a database cut in each wave and a Redis flush between them, in one run of 150
    files; then late copies of finished jobs."""
    configure(
        scanning={"fileSettleSeconds": 0},
        retryPolicy={"maxRetries": 10, "delaySeconds": 1, "exponentialBackoff": False},
    )
    total = 150
    rng = random.Random(12)
    calls = tmp_path / "calls"  # apart from the workers' logs, which the periodic scan would find
    calls.mkdir()
    write_calls(calls, total)
    steady = faulty("file:0.2", 3)  # a little slow, so that random kills land mid-file
    scheduler()
    kills = Counter()

    def wave(first):
        victims = {stage: faulty("file:1,retry:60" if stage == "retry" else f"{stage}:60")[0] for stage in STAGES}
        if first:
            wait_for(
                lambda: all(enqueue.redis().exists(f"rq:worker:{p.worker_name}") for p in victims.values()),
                timeout=60,
                message="the workers to start",
            )
            result.update(job_id=scan(calls).job_id)
        # Each victim is killed as soon as it pauses at its stage (one paused mid-commit
        # holds the job's counter row, so every other file of the job waits behind it). The
        # "retry" victim first pauses a second mid-file: the database is cut under it (and
        # under everyone else) then, so that it records the failure and its retry, and is
        # killed before the retry is queued.
        cuts = 0
        deadline = time.monotonic() + 90
        while victims:
            assert time.monotonic() < deadline, f"never paused at {sorted(victims)}"
            for stage, victim in list(victims.items()):
                if stage == "retry" and not pauses(tmp_path, victim, "retry"):
                    if pauses(tmp_path, victim, "file") > cuts:
                        outage.cut()
                        time.sleep(1.5)
                        outage.restore()
                        cuts += 1
                    continue
                if pauses(tmp_path, victim, stage):
                    kill(victims.pop(stage))
                    kills[stage] += 1
                    time.sleep(rng.uniform(0, 0.3))
                    unlucky = rng.randrange(len(steady))
                    kill(steady[unlucky])
                    kills["random"] += 1
                    steady[unlucky : unlucky + 1] = faulty("file:0.2")
            time.sleep(0.05)

    result = {}
    wave(first=True)
    assert count(FPR.status == status.COMPLETED) < total, "the faults landed while files were in flight"
    enqueue.redis().flushdb()
    wave(first=False)

    wait_for(
        lambda: count(FPR.status == status.COMPLETED) == total,
        timeout=120,
        interval=0.5,
        message="every file completed",
    )
    # Late copies of finished jobs (a replayed or re-queued job arriving after the fact) are
    # refused by the claim.
    late = [(record_id, enqueue.new_job_id()) for record_id in db.session.scalars(sa.select(FPR.id).limit(20))]
    enqueue.files(late)
    wait_for(
        lambda: all(
            job and job.get_status() == JobStatus.FINISHED
            for job in Job.fetch_many([job_id for _, job_id in late], connection=enqueue.redis())
        ),
        timeout=30,
        message="the late jobs to run",
    )

    assert_each_completed_once(total)
    assert_counters_match_the_records(result["job_id"])
    assert_every_history_follows_the_status_machine()
    claims = db.session.scalar(
        sa.select(sa.func.count()).select_from(FileEvent).where(FileEvent.to_status == status.PROCESSING)
    )
    failures = Counter(
        db.session.scalars(sa.select(FileEvent.details["code"].as_string()).where(FileEvent.to_status == status.FAILED))
    )
    assert failures["DATABASE_ERROR"] >= 1 and failures["WORKER_LOST"] >= 1
    print(f"\n{sum(kills.values())} kills {dict(kills)}; {claims} claims for {total} files; failures {dict(failures)}")
