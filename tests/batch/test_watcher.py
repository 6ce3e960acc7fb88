"""The file-event watcher on real directories (inotify through watchdog): pickup within its
debounce (the delay is measured and printed), a file still being written is not taken, the
directory removed and recreated (a dropped mount) is watched again, and folders inotify
cannot serve are polled instead, with the warning on the folder page."""

import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.support.env import ROOT
from tests.support.helpers import configure, wait_for
from tests.support.recordings import write_call
from webapp.batch import schedule
from webapp.extensions import db
from webapp.models import BatchJob, ExternalFolder, FileProcessingRecord
from webapp.models.types import utcnow
from webapp.providers.monitors.events import DEBOUNCE_SECONDS, Watchers

DEBOUNCE = 0.5


@pytest.fixture
def watchers():
    made = []

    def make(**kwargs):
        made.append(Watchers(**kwargs))
        return made[-1]

    yield make
    for w in made:
        w.stop()


def pickup_delay(watcher, folder_id, write, timeout=10):
    """Seconds from the end of `write()` to the watcher reporting the folder."""
    write()
    written = time.monotonic()
    wait_for(
        lambda: folder_id in watcher.quiet_changed(),
        timeout=timeout,
        interval=0.01,
        message="the watcher to report the new file",
    )
    return time.monotonic() - written


def test_a_new_file_is_picked_up_within_the_debounce(watchers, tmp_path):
    watcher = watchers(debounce=DEBOUNCE)
    assert watcher.sync([(1, str(tmp_path))]) == {}
    delays = [pickup_delay(watcher, 1, lambda: write_call(tmp_path)) for _ in range(5)]
    print(
        f"\nwatcher pickup delay, debounce {DEBOUNCE} s: min {min(delays):.3f} s, median "
        f"{statistics.median(delays):.3f} s, max {max(delays):.3f} s"
    )
    assert all(d >= DEBOUNCE for d in delays)  # never before the quiet moment
    assert watcher.quiet_changed() == []  # each burst reported once

    default = watchers()
    default.sync([(2, str(tmp_path))])
    delay = pickup_delay(default, 2, lambda: write_call(tmp_path))
    print(f"watcher pickup delay, default debounce {DEBOUNCE_SECONDS} s: {delay:.3f} s")
    assert delay >= DEBOUNCE_SECONDS


def test_a_file_still_being_written_is_not_picked_up_until_it_is_quiet(watchers, tmp_path):
    watcher = watchers(debounce=DEBOUNCE)
    watcher.sync([(1, str(tmp_path))])
    reported_while_writing = []
    with open(tmp_path / "long-call.wav", "wb") as f:
        for _ in range(15):  # 1.5 s of writing, a chunk every 0.1 s
            f.write(os.urandom(16384))
            f.flush()
            reported_while_writing += watcher.quiet_changed()
            time.sleep(0.1)
    finished = time.monotonic()
    assert reported_while_writing == []
    wait_for(lambda: 1 in watcher.quiet_changed(), timeout=10, interval=0.01, message="the finished file")
    assert time.monotonic() - finished >= DEBOUNCE * 0.9


def test_the_watcher_survives_the_directory_removed_and_recreated(watchers, tmp_path):
    folder = tmp_path / "mount"
    folder.mkdir()
    watcher = watchers(debounce=DEBOUNCE)
    watcher.sync([(1, str(folder))])
    pickup_delay(watcher, 1, lambda: write_call(folder))

    shutil.rmtree(folder)  # the mount drops
    watcher.check()
    assert 1 not in watcher.watched and 1 in watcher.gone
    assert watcher.quiet_changed() == []
    folder.mkdir()  # and comes back, with a file that arrived meanwhile
    write_call(folder)
    watcher.check()
    wait_for(lambda: 1 in watcher.quiet_changed(), timeout=10, interval=0.01, message="a scan once it is back")
    delay = pickup_delay(watcher, 1, lambda: write_call(folder))  # and the new directory is watched
    print(f"\npickup after the directory came back: {delay:.3f} s")

    # Removed and recreated between two checks: the new directory is watched, not the old one.
    shutil.rmtree(folder)
    folder.mkdir()
    watcher.check()
    watcher.quiet_changed()
    pickup_delay(watcher, 1, lambda: write_call(folder))


def test_a_network_file_system_is_polled_instead_of_watched(watchers, tmp_path):
    table = tmp_path / "mountinfo"
    share = tmp_path / "share"
    share.mkdir()
    table.write_text(
        "22 27 0:21 / / rw,relatime - ext4 /dev/vda1 rw\n"
        f"98 22 0:55 / {share} rw,relatime - nfs4 files.example:/calls rw,vers=4.2\n"
    )
    watcher = watchers(debounce=DEBOUNCE, mounts=str(table))
    local = tmp_path / "local"
    local.mkdir()
    warnings = watcher.sync([(1, str(share)), (2, str(local))])
    assert list(warnings) == [1] and "network file system (nfs4)" in warnings[1]
    assert list(watcher.watched) == [2]


def test_file_events_fall_back_to_polling_when_inotify_is_refused(tmp_path):
    """In a user namespace allowed no inotify instance, the watch fails as on a system that
    has run out of them."""
    script = (
        "import json, sys; from webapp.providers.monitors.events import Watchers; "
        "w = Watchers(); print(json.dumps(w.sync([(7, sys.argv[1])]))); w.stop()"
    )
    command = "echo 0 > /proc/sys/user/max_inotify_instances && exec " + sys.executable + f" -c '{script}' {tmp_path}"
    result = subprocess.run(
        ["unshare", "--user", "--map-root-user", "sh", "-c", command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    warnings = json.loads(result.stdout.strip().splitlines()[-1])
    assert list(warnings) == ["7"]
    assert "inotify instance limit reached" in warnings["7"] and "polled at its scan interval" in warnings["7"]


def test_a_folder_whose_events_fell_back_is_polled_and_says_so(ctx, tmp_path, web):
    folder = ExternalFolder(
        name="share",
        storage_type="local",
        storage_config={"path": str(tmp_path)},
        monitor_type="events",
        scan_interval=60,
    )
    db.session.add(folder)
    db.session.commit()
    now = utcnow()
    assert schedule.queue_due_scans(now=now) == []  # watched: no polling
    warning = f"{tmp_path} is on a network file system (nfs4), where file events are not delivered."
    schedule.note_watch_fallbacks({folder.id: warning})
    assert schedule.queue_due_scans(now=now) == [(folder.id, "monitor")]
    assert schedule.queue_due_scans(now=now + timedelta(seconds=30)) == []
    assert schedule.queue_due_scans(now=now + timedelta(seconds=60)) == [(folder.id, "monitor")]
    text = web["viewer"].get(f"/folders/{folder.id}").get_data(as_text=True)
    assert warning in text and "Scanned every minute (file events are not available here)" in text
    schedule.note_watch_fallbacks({})  # watched again
    db.session.refresh(folder)
    assert folder.monitor_warning is None


@pytest.mark.slow
def test_the_scheduler_loop_scans_a_watched_folder_when_a_file_arrives(ctx, tmp_path, workers):
    """End to end: the real scheduler loop (in a thread) and a real worker process; the delay
    from a file written to its record in the database is printed."""
    from webapp.worker import SchedulerLoop

    configure(scanning={"fileSettleSeconds": 0})
    inbox = tmp_path / "inbox"  # not tmp_path itself, where the worker's log keeps changing
    inbox.mkdir()
    folder = ExternalFolder(
        name="inbox",
        storage_type="local",
        storage_config={"path": str(inbox)},
        monitor_type="events",
        scan_interval=3600,
    )
    db.session.add(folder)
    db.session.commit()
    workers(1)
    loop = SchedulerLoop(ctx)
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: folder.id in loop.watchers.watched, timeout=30, message="the folder watched")
        delays = []
        for n in range(1, 4):
            written = time.monotonic()
            write_call(inbox)
            wait_for(
                lambda n=n: (
                    db.session.rollback()
                    or db.session.scalar(sa.select(sa.func.count()).select_from(FileProcessingRecord)) == n
                ),
                timeout=30,
                interval=0.05,
                message=f"recording {n} recorded",
            )
            delays.append(time.monotonic() - written)
    finally:
        loop.stop()
        thread.join(10)
    print(
        f"\nfile written → recorded by the scan the watcher triggered (debounce {DEBOUNCE_SECONDS} s, loop step "
        f"1 s): " + ", ".join(f"{d:.2f} s" for d in delays)
    )
    jobs = db.session.scalars(sa.select(BatchJob).where(BatchJob.folder_id == folder.id)).all()
    assert [j.trigger for j in jobs] == ["events"] * 3
