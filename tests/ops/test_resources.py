"""Workers stay within their resources, on real `flask worker` processes, PostgreSQL and
Redis: a file that outlasts its job timeout ends as TIMEOUT, a SIGTERM mid-file finishes or
hands back the file, and a worker past its file or memory limit exits cleanly for a fresh
one; in every case each file is processed exactly once."""

import os
import signal
import socket
import subprocess
import time

import pytest
import sqlalchemy as sa

from tests.support.cloud import make_folder
from tests.support.helpers import configure, wait_for
from tests.support.pipeline import FPR, assert_each_completed_once, count, scan
from tests.support.recordings import write_calls
from webapp.batch import discovery, status
from webapp.errors import explain
from webapp.extensions import db
from webapp.models import BatchJob, FileEvent, SalesCall
from webapp.models import job as job_status
from webapp.notifications import conditions as c

pytestmark = pytest.mark.slow
MB = 1024 * 1024


def events(*where):
    db.session.rollback()
    return db.session.execute(
        sa.select(FileEvent.file_id, FileEvent.from_status, FileEvent.to_status, FileEvent.message, FileEvent.details)
        .where(*where)
        .order_by(FileEvent.id)
    ).all()


def assert_the_job_completed_each_file_once(job_id, total):
    assert_each_completed_once(total)
    job = db.session.get(BatchJob, job_id)
    assert (job.total_files, job.processed_files, job.failed_files, job.skipped_files) == (total, total, 0, 0)
    assert job.status == job_status.COMPLETED


def log_of(tmp_path, index):
    return (tmp_path / f"worker-{index}.log").read_text(errors="replace")


def paused(tmp_path, proc, index, stage="file"):
    return f"process {proc.pid} paused at {stage} " in log_of(tmp_path, index)


@pytest.fixture
def calls(ctx, tmp_path):
    configure(scanning={"fileSettleSeconds": 0}, retryPolicy={"delaySeconds": 1})
    folder = tmp_path / "calls"  # apart from the workers' logs
    folder.mkdir()
    return folder


@pytest.fixture
def worker_with(workers, service_env, monkeypatch):
    """Start one worker with extra environment, e.g. worker_with(CALLBATCH_WORKER_MAX_FILES="2")."""

    def start(**env):
        with monkeypatch.context() as m:
            for key, value in env.items():
                m.setitem(service_env, key, value)
            return workers(1)[0]

    return start


def test_a_file_that_outlasts_its_job_timeout_ends_as_timeout_and_is_retried(
    calls, app, worker_with, monkeypatch, tmp_path
):
    configure(retryPolicy={"maxRetries": 1, "delaySeconds": 1, "exponentialBackoff": False})
    monkeypatch.setitem(app.config, "FILE_JOB_TIMEOUT", 2)  # the job timeout is set where the file is queued
    write_calls(calls, 1)
    scan(calls)
    proc = worker_with(CALLBATCH_FILE_JOB_TIMEOUT="2", CALLBATCH_FAULT_PAUSE_AT="file:30")
    wait_for(lambda: count(FPR.status == status.FAILED) == 1, timeout=40, message="the retry to time out too")

    record = db.session.scalars(sa.select(FPR)).one()
    assert (record.error_code, record.error_category) == ("TIMEOUT", "system")
    assert record.error_message == (
        "The file took longer than the 2 s a worker may spend on one file, so its processing was stopped."
    )
    failures = events(FileEvent.to_status == status.FAILED)
    assert [(e.details["code"], e.details["category"]) for e in failures] == [("TIMEOUT", "system")] * 2
    assert [e.message for e in events(FileEvent.to_status == status.RETRYING)] == ["Retry 1 of 1 in 1 s"]
    assert explain("TIMEOUT")[0] == "system"
    assert proc.poll() is None, "the worker lives on after a timed-out file"
    assert "WORKER_LOST" not in str(events()) and "INTERNAL_ERROR" not in str(events())


def test_sigterm_mid_file_lets_the_worker_finish_it_and_take_no_more(calls, worker_with, workers, tmp_path):
    write_calls(calls, 3)
    job_id = scan(calls).job_id
    proc = worker_with(CALLBATCH_FAULT_PAUSE_AT="file:3", CALLBATCH_WORKER_GRACE_SECONDS="60")
    wait_for(lambda: paused(tmp_path, proc, 0), timeout=60, interval=0.05, message="the worker to pause mid-file")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    assert count(FPR.status == status.COMPLETED) == 1, "it finished its file within the grace period"
    assert count(FPR.status == status.QUEUED) == 2, "and took no other"
    assert "has 60 s to finish" in log_of(tmp_path, 0)

    workers(1)
    wait_for(lambda: count(FPR.status == status.COMPLETED) == 3, timeout=60, message="the rest to complete")
    assert_the_job_completed_each_file_once(job_id, 3)


def test_sigterm_past_the_grace_period_hands_the_file_back_to_the_queue(calls, worker_with, workers, tmp_path):
    write_calls(calls, 2)
    job_id = scan(calls).job_id
    proc = worker_with(CALLBATCH_FAULT_PAUSE_AT="file:60", CALLBATCH_WORKER_GRACE_SECONDS="1")
    wait_for(lambda: paused(tmp_path, proc, 0), timeout=60, interval=0.05, message="the worker to pause mid-file")
    (victim,) = db.session.scalars(sa.select(FPR.id).where(FPR.status == status.PROCESSING)).all()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0, "the worker exits cleanly well before the 60 s pause ends"
    assert count(FPR.status == status.QUEUED) == 2 and count(FPR.status == status.COMPLETED) == 0
    (back,) = events(FileEvent.from_status == status.PROCESSING)
    assert (back.file_id, back.to_status, back.details) == (victim, status.QUEUED, {"reason": "worker_stopping"})
    assert back.message.startswith(f"Handed back to the queue: {proc.worker_name} was stopped")

    workers(1)
    wait_for(lambda: count(FPR.status == status.COMPLETED) == 2, timeout=60, message="both to complete")
    assert_the_job_completed_each_file_once(job_id, 2)
    assert not events(FileEvent.to_status == status.FAILED), "a hand-back is no failure"


def test_a_worker_past_its_file_limit_exits_cleanly_and_another_finishes_the_batch(
    calls, worker_with, workers, tmp_path
):
    write_calls(calls, 5)
    job_id = scan(calls).job_id
    proc = worker_with(CALLBATCH_WORKER_MAX_FILES="2")
    assert proc.wait(60) == 0
    assert count(FPR.status == status.COMPLETED) == 2
    assert f"worker {proc.worker_name} stops for a fresh process: it processed 2 files" in log_of(tmp_path, 0)

    workers(1)  # as its process manager would
    wait_for(lambda: count(FPR.status == status.COMPLETED) == 5, timeout=60, message="the rest to complete")
    assert_the_job_completed_each_file_once(job_id, 5)


def test_a_worker_past_its_memory_limit_exits_cleanly_after_its_file(calls, worker_with, workers, tmp_path):
    write_calls(calls, 2)
    job_id = scan(calls).job_id
    proc = worker_with(CALLBATCH_WORKER_MAX_RSS_MB="1")  # any Python process is past 1 MB
    assert proc.wait(60) == 0
    assert count(FPR.status == status.COMPLETED) == 1
    assert f"worker {proc.worker_name} stops for a fresh process: its memory reached" in log_of(tmp_path, 0)

    workers(1)
    wait_for(lambda: count(FPR.status == status.COMPLETED) == 2, timeout=60, message="the other to complete")
    assert_the_job_completed_each_file_once(job_id, 2)


@pytest.fixture
def small_disk(tmp_path):
    """A real 2 MB filesystem (tmpfs), unmounted at the end."""
    directory = tmp_path / "small-disk"
    directory.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(directory)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"a tmpfs cannot be mounted here (needs root or CAP_SYS_ADMIN): {mounted.stderr.strip()}")
    try:
        yield directory
    finally:
        subprocess.run(["umount", "-l", str(directory)], check=True)


def test_a_full_download_disk_makes_the_file_wait_as_disk_full_and_raises_an_alert(
    calls, small_disk, s3_folder, private_targets, make_config, httpserver, worker_with
):
    configure(retryPolicy={"maxRetries": 10, "delaySeconds": 2, "exponentialBackoff": False})
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    make_config("webhook", {"url": httpserver.url_for("/hook")}, conditions=[c.RESOURCES_LOW])
    recording = write_calls(calls, 1, seconds=40)  # 640 kB: more than the disk will have free
    s3_folder.upload_calls(calls, recording)
    filler = small_disk / "filler"
    filler.write_bytes(b"\0" * (MB + MB // 2))  # leaves about half a megabyte: less than the recording and the margin
    # Leftovers of killed workers: one of a process that is gone, one older than the job timeout.
    gone = subprocess.Popen(["true"])
    gone.wait()
    host = socket.gethostname()
    dead = small_disk / f"callbatch-dl-{host}-{gone.pid}-abc"
    old = small_disk / "callbatch-dl-old"
    live = small_disk / f"callbatch-dl-{host}-{os.getpid()}-xyz"
    unrelated = small_disk / "something-else"
    for directory in (dead, old, live, unrelated):
        directory.mkdir()
        (directory / "part").write_bytes(b"x")
    os.utime(old, (time.time() - 7200, time.time() - 7200))

    folder = make_folder(s3_folder)
    job_id = discovery.scan(folder, trigger="test").job_id
    proc = worker_with(TMPDIR=str(small_disk), CALLBATCH_DOWNLOAD_MARGIN_MB="1")
    wait_for(lambda: events(FileEvent.to_status == status.FAILED), timeout=60, message="the file to fail")
    assert not dead.exists() and not old.exists(), "leftovers removed at the worker's start"
    assert live.exists() and unrelated.exists()
    (first, *_) = events(FileEvent.to_status == status.FAILED)
    assert (first.details["code"], first.details["category"]) == ("DISK_FULL", "system")
    assert first.message == (
        "The worker has 0.5 MB free on its disk but needs 1.6 MB to download this file "
        "(0.6 MB and a margin of 1 MB); the file waits and is retried."
    )
    assert count(FPR.status == status.COMPLETED) == 0

    wait_for(lambda: httpserver.log, timeout=30, message="the resources_low alert")
    body = httpserver.log[0][0].get_json()
    assert body["event"] == c.RESOURCES_LOW and body["title"] == f"Worker short of disk space: {proc.worker_name}"
    assert body["text"].startswith(f"{proc.worker_name} has 0.5 MB free in {small_disk} but needs 1.6 MB to download")

    filler.unlink()  # space freed: the next retry completes
    wait_for(lambda: count(FPR.status == status.COMPLETED) == 1, timeout=60, message="the retry to complete")
    db.session.rollback()
    job = db.session.get(BatchJob, job_id)
    assert (job.processed_files, job.failed_files) == (1, 0)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SalesCall)) == 1
    assert sorted(p.name for p in small_disk.iterdir()) == sorted([live.name, unrelated.name]), (
        "the download's work directory is gone"
    )


def test_a_disk_that_fills_up_during_the_download_ends_as_disk_full_without_the_partial_file(
    calls, small_disk, s3_folder, private_targets, make_config, httpserver, worker_with
):
    """The listing said 16 kB, so the check before the download passes; the object in the
    bucket has since become 2.4 MB, more than the 2 MB disk: the write itself hits ENOSPC."""
    configure(retryPolicy={"maxRetries": 10, "delaySeconds": 3, "exponentialBackoff": False})
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    make_config("webhook", {"url": httpserver.url_for("/hook")}, conditions=[c.RESOURCES_LOW])
    (name,) = write_calls(calls, 1, seconds=1)
    s3_folder.upload_calls(calls, [name])
    folder = make_folder(s3_folder)
    job_id = discovery.scan(folder, trigger="test").job_id
    big = calls / "big"
    big.mkdir()
    (big_name,) = write_calls(big, 1, seconds=150)
    assert (big / big_name).stat().st_size > 2 * MB
    s3_folder.put_file(name, big / big_name)  # replaced in the bucket after it was listed

    proc = worker_with(TMPDIR=str(small_disk), CALLBATCH_DOWNLOAD_MARGIN_MB="0")
    wait_for(lambda: events(FileEvent.to_status == status.FAILED), timeout=60, message="the file to fail")
    (first, *_) = events(FileEvent.to_status == status.FAILED)
    assert (first.details["code"], first.details["category"]) == ("DISK_FULL", "system")
    assert first.message.startswith("The worker's disk filled up after ")
    assert "the partial download was removed" in first.message and first.message.endswith("and is retried.")
    assert not [p.name for p in small_disk.iterdir()], "the partial download is gone"
    assert explain("DISK_FULL")[0] == "system"

    wait_for(lambda: httpserver.log, timeout=30, message="the resources_low alert")
    body = httpserver.log[0][0].get_json()
    assert body["event"] == c.RESOURCES_LOW and body["title"] == f"Worker short of disk space: {proc.worker_name}"
    assert f"free in {small_disk} but needs" in body["text"]

    s3_folder.put_file(name, calls / name)  # the recording as it was listed: the retry completes
    wait_for(lambda: count(FPR.status == status.COMPLETED) == 1, timeout=60, message="the retry to complete")
    assert_the_job_completed_each_file_once(job_id, 1)
    assert not list(small_disk.iterdir())
