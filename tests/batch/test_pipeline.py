"""The pipeline with real `flask worker` processes on real PostgreSQL and Redis, including
the faults it must survive: a killed worker, a flushed Redis, a database that goes away."""

import os
import signal
import time

import pytest
import sqlalchemy as sa

from tests.support.helpers import configure, wait_for
from tests.support.pipeline import (
    FPR,
    assert_each_completed_once,
    count,
    file_in_processing,
    reap_until_completed,
    scan,
    wait_until_failure_recorded,
)
from tests.support.recordings import name, write_calls
from tests.support.speech import asr_config
from webapp.batch import enqueue, reaper, status
from webapp.extensions import db
from webapp.models import BatchJob, FileEvent
from webapp.models import job as job_status

pytestmark = pytest.mark.slow


def test_three_workers_process_a_batch_within_the_concurrency_limit(ctx, workers, tmp_path):
    configure(scanning={"fileSettleSeconds": 0}, retryPolicy={"delaySeconds": 1}, processing={"maxConcurrentFiles": 2})
    write_calls(tmp_path, 40)
    result = scan(tmp_path)
    assert result.queued == 40
    workers(3)
    wait_for(lambda: count(FPR.status == status.COMPLETED) == 40, timeout=120, message="40 completed")
    assert_each_completed_once(40)
    job = db.session.get(BatchJob, result.job_id)
    assert job.status == job_status.COMPLETED and job.processed_files == 40

    spans = db.session.execute(sa.select(FPR.started_at, FPR.finished_at, FPR.worker_name)).all()
    assert len({w for _, _, w in spans}) >= 2, "the work was shared between processes"
    edges = sorted([(s, 1) for s, _, _ in spans] + [(f, -1) for _, f, _ in spans])
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    assert peak <= 2


def test_a_rescan_never_records_a_file_twice(ctx, workers, tmp_path):
    configure(scanning={"fileSettleSeconds": 0}, retryPolicy={"delaySeconds": 1})
    write_calls(tmp_path, 5)
    first = scan(tmp_path)
    again = scan(tmp_path)
    assert (first.queued, again.queued, again.known, again.job_id) == (5, 0, 5, None)
    write_calls(tmp_path, 2)
    third = scan(tmp_path)
    assert (third.queued, third.known) == (2, 5)
    assert count() == 7


def test_a_file_still_being_written_waits_for_the_next_scan(ctx, tmp_path):
    configure(scanning={"fileSettleSeconds": 60})
    write_calls(tmp_path, 1)
    first = scan(tmp_path)
    assert (first.still_writing, first.queued, count()) == (1, 0, 0)
    second = scan(tmp_path)  # unchanged since the last look: it has settled
    assert (second.still_writing, second.queued) == (0, 1)


def test_two_workers_racing_for_the_same_records_process_each_once(ctx, workers, tmp_path):
    configure(
        scanning={"fileSettleSeconds": 0}, retryPolicy={"delaySeconds": 1}, processing={"immediateProcessing": False}
    )
    write_calls(tmp_path, 20)
    result = scan(tmp_path)
    ids = db.session.scalars(sa.select(FPR.id)).all()
    for record_id in ids:  # every record is announced twice, as a replayed job would be
        db.session.get(FPR, record_id).status = status.QUEUED
    db.session.get(BatchJob, result.job_id).status = job_status.RUNNING
    db.session.commit()
    enqueue.files([(i, enqueue.new_job_id()) for i in ids] + [(i, enqueue.new_job_id()) for i in ids])
    workers(2)
    wait_for(lambda: count(FPR.status == status.COMPLETED) == 20, timeout=90, message="20 completed")
    time.sleep(1)  # let the duplicate jobs drain
    assert_each_completed_once(20)
    claims = db.session.execute(
        sa.select(FileEvent.file_id, sa.func.count())
        .where(FileEvent.to_status == status.PROCESSING)
        .group_by(FileEvent.file_id)
    ).all()
    assert all(n == 1 for _, n in claims)


def test_a_worker_killed_mid_file_is_reaped_and_the_file_completes_once(ctx, workers, tmp_path):
    configure(scanning={"fileSettleSeconds": 0}, retryPolicy={"delaySeconds": 1})
    write_calls(tmp_path, 150, seconds=4.0)
    scan(tmp_path)
    victim = None
    for _ in range(5):
        (proc,) = workers(1)
        seen = file_in_processing(proc.worker_name)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        db.session.rollback()
        if db.session.get(FPR, seen, populate_existing=True).status == status.PROCESSING:
            victim = seen
            break
    assert victim, "never caught the worker in the middle of a file"

    workers(1)
    wait_for(
        lambda: reaper.reap()[0] or db.session.get(FPR, victim, populate_existing=True).status != status.PROCESSING,
        timeout=30,
        message="the reaper to notice the dead worker",
    )
    wait_for(lambda: count(FPR.status == status.COMPLETED) == 150, timeout=120, message="all completed")
    assert_each_completed_once(150)
    reasons = db.session.scalars(
        sa.select(FileEvent.message).where(FileEvent.file_id == victim, FileEvent.to_status == status.FAILED)
    ).all()
    assert any("No sign of life" in m for m in reasons)


def test_redis_flushed_mid_batch_every_file_still_completes(ctx, workers, tmp_path):
    configure(scanning={"fileSettleSeconds": 0}, retryPolicy={"delaySeconds": 1})
    write_calls(tmp_path, 120)
    scan(tmp_path)
    workers(2)
    wait_for(lambda: count(FPR.status == status.COMPLETED) >= 10, timeout=60, message="a few completed")
    enqueue.redis().flushdb()  # the run's own Redis database: all queued jobs are gone
    assert count(FPR.status == status.COMPLETED) < 120

    reap_until_completed(120, timeout=120, interval=1, message="every file completed after the flush")
    assert_each_completed_once(120)


def test_database_unreachable_mid_file_fails_into_retrying_and_recovers(
    ctx, workers, tmp_path, base_model, speak, outage
):
    """Real speech recognition keeps the worker inside the file for a few seconds, long
    enough to cut its database from under it."""
    configure(
        scanning={"fileSettleSeconds": 0},
        retryPolicy={"delaySeconds": 1},
        analysis={"transcriber": asr_config(base_model)},
    )
    for line in ("שלום, מדברת נועה מחברת אורנים.", "בוקר טוב, כאן דני ממוקד המכירות.", "המחיר גבוה מדי."):
        speak(tmp_path / name("wav"), [("agent", line)])
    scan(tmp_path)
    (proc,) = workers(1)
    victim = file_in_processing(proc.worker_name)
    outage.cut()
    time.sleep(6)
    outage.restore()
    # The worker itself records the failure once the database answers (the reaper would
    # step in only after CALLBATCH_STALE_AFTER_SECONDS, a minute in production).
    wait_until_failure_recorded(victim, timeout=60)
    reap_until_completed(3, timeout=180, interval=1, message="all completed")
    assert_each_completed_once(3)
    moves = db.session.execute(
        sa.select(FileEvent.from_status, FileEvent.to_status, FileEvent.message)
        .where(FileEvent.file_id == victim)
        .order_by(FileEvent.id)
    ).all()
    failure = next(i for i, (_, to, _m) in enumerate(moves) if to == status.FAILED)
    assert moves[failure][2].startswith("The database was unreachable")
    assert moves[failure + 1][:2] == (status.FAILED, status.RETRYING)
    assert moves[-1][1] == status.COMPLETED
