"""Finding and processing on a clock: polling intervals, scan-only-on-a-schedule folders,
processing windows and processing times, daylight saving in Asia/Jerusalem, a missed run
caught up once, and two scheduler processes scanning once. The schedule functions are
driven with an explicit `now`; the scheduler processes and workers are real, on real
PostgreSQL and Redis."""

import os
import re
import signal
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from tests.support.env import ROOT
from tests.support.helpers import configure, wait_for
from tests.support.recordings import write_calls
from webapp import queues, timetable
from webapp.batch import discovery, schedule
from webapp.batch.status import COMPLETED, DISCOVERED, QUEUED
from webapp.extensions import db
from webapp.models import BatchJob, ExternalFolder, FileEvent, FileProcessingRecord
from webapp.models import job as job_status
from webapp.models.types import utcnow

FPR = FileProcessingRecord
TZ = ZoneInfo("Asia/Jerusalem")


def local(*args, fold=0):
    """An instant given as Jerusalem wall-clock time."""
    return datetime(*args, tzinfo=TZ, fold=fold).astimezone(timezone.utc)


@pytest.fixture
def jerusalem(ctx, monkeypatch):
    """TIMEZONE=Asia/Jerusalem for this app and for the worker and scheduler processes started."""
    before = ctx.config["TIMEZONE"]
    ctx.config["TIMEZONE"] = "Asia/Jerusalem"
    monkeypatch.setenv("TIMEZONE", "Asia/Jerusalem")
    configure(scanning={"fileSettleSeconds": 0})
    yield ctx
    ctx.config["TIMEZONE"] = before


def make_folder(path, **fields):
    fields.setdefault("created_at", local(2026, 1, 1, 0, 0))
    folder = ExternalFolder(
        name=fields.pop("name", f"calls-{os.path.basename(str(path))}"),
        storage_type="local",
        storage_config={"path": str(path)},
        **fields,
    )
    db.session.add(folder)
    db.session.commit()
    return folder


def ticks(start, end, step_minutes):
    moment = start
    while moment <= end:
        yield moment
        moment += timedelta(minutes=step_minutes)


def scans_at(folder, moments):
    """The moments, of those given, at which the schedule queued a scan of `folder`."""
    return [
        m
        for m in moments
        if (folder.id, schedule.MONITORS[folder.monitor_type].trigger) in schedule.queue_due_scans(now=m)
    ]


def scan_jobs(folder):
    """Every scan of `folder` ever put on the queue (RQ keeps each job's hash for result_ttl)."""
    return len(list(queues.connection().scan_iter(match=f"rq:job:scan-{folder.id}-*")))


# -- finding files --------------------------------------------------------------------------


def test_polling_scans_at_its_interval_and_not_before(jerusalem, tmp_path):
    folder = make_folder(tmp_path, monitor_type="polling", scan_interval=60)
    start = local(2026, 6, 1, 9, 0)
    moments = [start + timedelta(seconds=s) for s in (0, 20, 59, 60, 90, 119, 120, 150)]
    assert scans_at(folder, moments) == [moments[0], moments[3], moments[6]]
    assert scan_jobs(folder) == 3
    db.session.refresh(folder)
    assert folder.last_polled_at == moments[6] and folder.last_cron_at is None


def test_a_folder_found_only_on_a_schedule_scans_at_its_time_and_never_between(jerusalem, tmp_path):
    folder = make_folder(
        tmp_path,
        monitor_type="schedule",
        cron_schedule="0 2 * * *",
        scan_interval=30,
        created_at=local(2026, 6, 1, 0, 0),
    )
    moments = list(ticks(local(2026, 6, 1, 0, 0), local(2026, 6, 2, 1, 50), 10))
    assert scans_at(folder, moments) == [local(2026, 6, 1, 2, 0)]
    db.session.refresh(folder)
    assert folder.last_polled_at is None  # no polling beside the schedule


def test_cron_times_across_daylight_saving_in_jerusalem(jerusalem):
    # Spring forward: 2026-03-27 02:00 → 03:00. Fall back: 2026-10-25 02:00 → 01:00.
    spring = timetable.next_runs("30 2 * * *", local(2026, 3, 26, 12, 0), 3, TZ)
    assert [m.astimezone(TZ).isoformat() for m in spring] == [
        "2026-03-27T03:00:00+03:00",
        "2026-03-28T02:30:00+03:00",
        "2026-03-29T02:30:00+03:00",
    ]
    autumn = timetable.next_runs("30 1 * * *", local(2026, 10, 24, 12, 0), 3, TZ)
    assert [m.astimezone(TZ).isoformat() for m in autumn] == [
        "2026-10-25T01:30:00+03:00",
        "2026-10-26T01:30:00+02:00",
        "2026-10-27T01:30:00+02:00",
    ]
    # From inside the repeated hour, after its first 01:30: the second 01:30 is not a new run.
    second_pass = local(2026, 10, 25, 1, 10, fold=1)
    assert timetable.next_run("30 1 * * *", second_pass, TZ).astimezone(TZ).isoformat() == "2026-10-26T01:30:00+02:00"


@pytest.mark.parametrize(
    "expression, night_from, night_to, expected",
    [
        ("30 2 * * *", local(2026, 3, 27, 0, 0), local(2026, 3, 27, 6, 0), [local(2026, 3, 27, 3, 0)]),
        ("0,30 2 * * *", local(2026, 3, 27, 0, 0), local(2026, 3, 27, 6, 0), [local(2026, 3, 27, 3, 0)]),
        ("30 1 * * *", local(2026, 10, 25, 0, 0), local(2026, 10, 25, 4, 0), [local(2026, 10, 25, 1, 30)]),
    ],
    ids=["spring-forward-skipped-time", "spring-forward-two-skipped-times", "fall-back-repeated-time"],
)
def test_a_scheduled_scan_runs_once_on_a_daylight_saving_night(
    jerusalem, tmp_path, expression, night_from, night_to, expected
):
    folder = make_folder(
        tmp_path, monitor_type="schedule", cron_schedule=expression, created_at=night_from - timedelta(hours=12)
    )
    # Every 5 minutes of real time through the night (the fall-back night has a repeated hour).
    assert scans_at(folder, list(ticks(night_from, night_to, 5))) == expected


def test_a_run_missed_while_the_scheduler_was_down_runs_once_when_it_is_back(jerusalem, tmp_path):
    folder = make_folder(
        tmp_path, monitor_type="schedule", cron_schedule="0 2 * * *", last_cron_at=local(2026, 6, 1, 2, 0)
    )
    back = local(2026, 6, 3, 9, 0)  # 02:00 on the 2nd and on the 3rd went by with no scheduler
    moments = list(ticks(back, local(2026, 6, 4, 1, 59), 7)) + [local(2026, 6, 4, 2, 0)]
    assert scans_at(folder, moments) == [back, local(2026, 6, 4, 2, 0)]


# -- processing files -----------------------------------------------------------------------


def test_a_window_holds_files_outside_it_and_releases_them_at_its_start(jerusalem, tmp_path):
    from webapp.services import dashboard

    write_calls(tmp_path, 3)
    folder = make_folder(
        tmp_path, monitor_type="polling", process_mode="window", window_start="20:00", window_end="06:00"
    )
    noon = local(2026, 6, 1, 12, 0)
    found = discovery.scan(folder, "monitor", now=noon)
    assert (found.held, found.queued) == (3, 0)
    job = db.session.get(BatchJob, found.job_id)
    assert job.status == job_status.PENDING
    waiting = dashboard.waiting(now=noon)
    assert [(w["folder"].id, w["files"], w["starts_at"]) for w in waiting] == [(folder.id, 3, "Mon 2026-06-01 20:00")]

    schedule.tick(now=local(2026, 6, 1, 19, 59))  # the whole tick, as the scheduler runs it
    assert _statuses(folder) == {DISCOVERED: 3}
    schedule.tick(now=local(2026, 6, 1, 20, 0))
    assert _statuses(folder) == {QUEUED: 3}
    db.session.refresh(job)
    assert job.status == job_status.RUNNING
    assert queues.queue(queues.FILES).count == 3
    messages = db.session.scalars(sa.select(FileEvent.message).where(FileEvent.to_status == QUEUED)).all()
    assert messages == ["Queued: the processing window 20:00–06:00 opened"] * 3
    assert schedule.release_waiting(now=local(2026, 6, 1, 20, 5)) == []  # nothing queued twice

    write_calls(tmp_path, 1)
    inside = discovery.scan(folder, "monitor", now=local(2026, 6, 2, 3, 0))  # across midnight: still open
    assert (inside.queued, inside.held) == (1, 0)


def test_files_queued_in_the_window_wait_when_it_closes_and_a_manual_start_goes_on(jerusalem, tmp_path, workers, web):
    """A real worker takes no file of a closed window (it goes back to waiting); a manager
    starting the job by hand is asked to confirm, then the files are processed."""
    now = utcnow().astimezone(TZ)
    closed = (now - timedelta(minutes=1)).strftime("%H:%M")
    opened = (now - timedelta(hours=2)).strftime("%H:%M")
    write_calls(tmp_path, 2)
    folder = make_folder(tmp_path, process_mode="window", window_start=opened, window_end=closed)
    found = discovery.scan(folder, "monitor", now=utcnow() - timedelta(minutes=5))  # inside, five minutes ago
    assert found.queued == 2
    # They were queued before the window closed a minute ago.
    db.session.execute(sa.update(FileEvent).values(created_at=utcnow() - timedelta(minutes=5)))
    db.session.commit()
    (worker,) = workers(1, burst=True)
    worker.wait(60)
    assert _statuses(folder) == {DISCOVERED: 2}
    held = db.session.scalars(
        sa.select(FileEvent.message).where(FileEvent.to_status == DISCOVERED, FileEvent.from_status == QUEUED)
    ).all()
    assert held == [f"Waiting for the processing window {opened}–{closed}"] * 2

    manager = web["manager"]
    dashboard = manager.get("/").get_data(as_text=True)
    # the window opens again in about 22 hours: said so, with the exact time on hover
    assert "Waiting files" in dashboard
    assert re.search(r'<time datetime="[^"]+Z" title="[^"]+">in (1 day|2[12] hours)</time>', dashboard)
    asked = manager.get(f"/jobs/{found.job_id}/start")
    assert asked.status_code == 200
    text = asked.get_data(as_text=True)
    assert "2 waiting files will be queued" in text and "not known yet" in text
    unconfirmed = manager.post(f"/jobs/{found.job_id}/start", data={})
    assert unconfirmed.status_code == 302 and unconfirmed.headers["Location"].endswith(f"/jobs/{found.job_id}/start")
    assert _statuses(folder) == {DISCOVERED: 2}
    assert manager.post(f"/jobs/{found.job_id}/start", data={"confirm": "yes"}).status_code == 302
    (worker,) = workers(1, burst=True)
    worker.wait(90)
    assert _statuses(folder) == {COMPLETED: 2}


def test_starting_by_hand_says_how_long_it_takes_at_the_current_throughput(jerusalem, tmp_path, web):
    write_calls(tmp_path, 4)
    folder = make_folder(tmp_path, process_mode="hold")
    found = discovery.scan(folder, "manual")
    assert found.held == 4
    # Twenty files finished in the last hour elsewhere: 20 files an hour, so 4 files take 12 minutes.
    other = make_folder(tmp_path / "done", name="done")
    job = BatchJob(folder_id=other.id, trigger="test", status=job_status.COMPLETED, total_files=20)
    db.session.add(job)
    db.session.flush()
    finished = utcnow() - timedelta(minutes=10)
    db.session.add_all(
        FPR(
            folder_id=other.id,
            job_id=job.id,
            file_name=f"{i}.wav",
            file_path=f"{i}.wav",
            status=COMPLETED,
            finished_at=finished,
        )
        for i in range(20)
    )
    db.session.commit()
    text = web["manager"].get(f"/jobs/{found.job_id}/start").get_data(as_text=True)
    assert "4 waiting files will be queued" in text
    assert "20.0 files an hour" in text and "about 12 min" in text


def test_a_processing_time_releases_waiting_files_at_its_time(jerusalem, tmp_path):
    write_calls(tmp_path, 2)
    folder = make_folder(tmp_path, process_mode="cron", process_cron="0 22 * * *", created_at=local(2026, 6, 1, 8, 0))
    assert discovery.scan(folder, "monitor", now=local(2026, 6, 1, 9, 0)).held == 2
    assert schedule.release_waiting(now=local(2026, 6, 1, 21, 59)) == []
    assert schedule.release_waiting(now=local(2026, 6, 1, 22, 0)) == [(folder.id, 2)]
    assert schedule.release_waiting(now=local(2026, 6, 1, 22, 30)) == []
    assert _statuses(folder) == {QUEUED: 2}


def test_two_schedulers_ticking_at_the_same_moment_take_each_run_once(jerusalem, tmp_path):
    """Both read the folder before either writes (the row lock held by the test makes them
    meet at the UPDATE); only one queues the scan and only one releases the files."""
    write_calls(tmp_path, 2)
    folder = make_folder(
        tmp_path,
        monitor_type="schedule",
        cron_schedule="0 2 * * *",
        process_mode="cron",
        process_cron="0 22 * * *",
        created_at=local(2026, 6, 1, 8, 0),
    )
    assert discovery.scan(folder, "manual", now=local(2026, 6, 1, 9, 0)).held == 2
    at = local(2026, 6, 2, 2, 0)
    releases = run_locked(jerusalem, folder, lambda: schedule.release_waiting(now=at))
    assert sorted(releases) == [[], [(folder.id, 2)]]
    scans = run_locked(jerusalem, folder, lambda: schedule.queue_due_scans(now=at))
    assert sorted(scans) == [[], [(folder.id, "schedule")]]
    assert scan_jobs(folder) == 1 and _statuses(folder) == {QUEUED: 2}
    assert (
        db.session.scalar(sa.select(sa.func.count()).select_from(FileEvent).where(FileEvent.to_status == QUEUED)) == 2
    )


class row_locked:
    """The folder's row lock, held on a connection of its own: schedulers reading the folder
    go on, and meet at their UPDATE of it until the lock is let go."""

    def __init__(self, folder_id):
        self.conn = db.engine.connect()
        self.conn.execute(sa.text("SELECT id FROM external_folders WHERE id = :id FOR UPDATE"), {"id": folder_id})

    def wait_for_waiters(self, count):
        wait_for(
            lambda: self._waiting() >= count,
            timeout=60,
            interval=0.05,
            message=f"{count} schedulers waiting for the folder row",
        )

    def _waiting(self):
        self.conn.execute(sa.text("SELECT pg_stat_clear_snapshot()"))  # the view is cached per transaction
        return self.conn.execute(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        ).scalar()

    def let_go(self):
        if not self.conn.closed:
            self.conn.rollback()
            self.conn.close()


def run_locked(app, folder, work, count=2):
    """Run `work` in `count` threads (each in its own app context and session) that all read
    the folder before any of them can write it; returns their results."""
    import threading

    results, errors = [None] * count, []

    def run(n):
        with app.app_context():
            try:
                results[n] = work()
            except Exception as err:  # reported below, not lost in the thread
                errors.append(err)
            finally:
                db.session.remove()

    lock = row_locked(folder.id)
    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    try:
        for thread in threads:
            thread.start()
        lock.wait_for_waiters(count)
    finally:
        lock.let_go()
        for thread in threads:
            thread.join(30)
    assert not errors, errors
    return results


def test_the_folder_page_says_what_happens_and_the_next_three_runs(jerusalem, tmp_path, web):
    folder = make_folder(
        tmp_path,
        monitor_type="polling",
        scan_interval=300,
        process_mode="window",
        window_start="20:00",
        window_end="06:00",
    )
    text = web["viewer"].get(f"/folders/{folder.id}").get_data(as_text=True)
    assert "Scanned every 5 minutes; files wait for the window 20:00–06:00 (Asia/Jerusalem)." in text

    scheduled = make_folder(tmp_path / "nightly", name="nightly", monitor_type="schedule", cron_schedule="0 2 * * *")
    text = web["viewer"].get(f"/folders/{scheduled.id}").get_data(as_text=True)
    assert "Scanned only at the times of 0 2 * * * (Asia/Jerusalem); files are processed at once." in text
    today = utcnow().astimezone(TZ)
    first = today.date() + timedelta(days=0 if today.hour < 2 else 1)
    runs = [datetime.combine(first + timedelta(days=n), datetime.min.time().replace(hour=2), TZ) for n in range(3)]
    expected = [run.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") for run in runs]
    assert all(f'<time datetime="{e}"' in text for e in expected), expected


def test_the_folder_form_carries_both_choices(jerusalem, tmp_path, web):
    admin = web["admin"]
    base = {
        "name": "night",
        "storage_type": "local",
        "cfg.path": str(tmp_path),
        "allowed_extensions": "wav",
        "max_file_size_mb": "500",
        "enabled": "on",
        "scan_interval": "300",
    }
    bad = admin.post(
        "/folders/new",
        data={
            **base,
            "monitor_type": "polling",
            "cron_schedule": "0 2 * * *",
            "process_mode": "window",
            "window_start": "25:00",
            "window_end": "",
        },
    )
    text = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert "applies only when files are found" in text and "as HH:MM" in text
    made = admin.post(
        "/folders/new",
        data={
            **base,
            "monitor_type": "schedule",
            "cron_schedule": "0 2 * * *",
            "process_mode": "window",
            "window_start": "20:00",
            "window_end": "06:00",
        },
    )
    assert made.status_code == 302
    folder = db.session.scalar(sa.select(ExternalFolder).where(ExternalFolder.name == "night"))
    assert (folder.monitor_type, folder.cron_schedule, folder.process_mode, folder.window_start, folder.window_end) == (
        "schedule",
        "0 2 * * *",
        "window",
        "20:00",
        "06:00",
    )


def test_the_api_carries_both_choices(jerusalem, tmp_path, api):
    body = {
        "name": "api",
        "storage_type": "local",
        "storage_config": {"path": str(tmp_path)},
        "monitor_type": "polling",
        "process_mode": "cron",
        "process_cron": "0 22 * * *",
    }
    created = api.post("admin", "/api/batch/folders", json=body)
    assert created.status_code == 201, created.get_json()
    shown = created.get_json()
    assert (shown["process_mode"], shown["process_cron"]) == ("cron", "0 22 * * *")
    assert shown["plan"]["sentence"] == (
        "Scanned every 5 minutes; files wait for the processing time 0 22 * * * (Asia/Jerusalem)."
    )
    assert len(shown["plan"]["next_starts"]) == 3
    wrong = api.patch("admin", f"/api/batch/folders/{shown['id']}", json={"process_cron": "at ten"})
    assert wrong.status_code == 422 and "is not a cron time" in wrong.get_data(as_text=True)


def _statuses(folder):
    db.session.rollback()
    return dict(
        db.session.execute(
            sa.select(FPR.status, sa.func.count()).where(FPR.folder_id == folder.id).group_by(FPR.status)
        ).all()
    )


# -- two real scheduler processes -----------------------------------------------------------


@pytest.fixture
def schedulers(service_env, tmp_path):
    started = []

    def start(count):
        for n in range(count):
            started.append(
                subprocess.Popen(
                    [sys.executable, "-m", "flask", "scheduler"],
                    cwd=ROOT,
                    env={**os.environ, **service_env},
                    stdout=subprocess.DEVNULL,
                    stderr=open(tmp_path / f"scheduler-{n}.log", "w"),
                    start_new_session=True,
                )
            )
        return started

    yield start
    for proc in started:
        os.killpg(proc.pid, signal.SIGTERM)
    for proc in started:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.mark.slow
def test_two_scheduler_processes_scan_a_due_folder_once(jerusalem, tmp_path, schedulers, workers):
    os.makedirs(tmp_path / "nightly")
    write_calls(tmp_path / "nightly", 2)
    nightly = make_folder(
        tmp_path / "nightly",
        name="nightly",
        monitor_type="schedule",
        cron_schedule="0 2 * * *",
        last_cron_at=utcnow() - timedelta(days=1, hours=1),
    )
    os.makedirs(tmp_path / "polled")
    polled = make_folder(tmp_path / "polled", name="polled", monitor_type="polling", scan_interval=3600)
    lock = row_locked(nightly.id)  # two ticks meet at the folder's UPDATE, as if at the same moment
    try:
        workers(2)
        schedulers(2)
        lock.wait_for_waiters(2)
    finally:
        lock.let_go()
    wait_for(lambda: _scans(nightly) and _scans(polled), timeout=60, message="both folders scanned")
    ticks_seen = _tick_count()
    wait_for(lambda: _tick_count() >= ticks_seen + 6, timeout=30, message="more ticks from both schedulers")
    assert (scan_jobs(nightly), scan_jobs(polled)) == (1, 1)
    jobs = db.session.scalars(sa.select(BatchJob).where(BatchJob.folder_id == nightly.id)).all()
    assert [(j.trigger, j.total_files) for j in jobs] == [("schedule", 2)]


def _scans(folder):
    db.session.rollback()
    return db.session.get(ExternalFolder, folder.id, populate_existing=True).last_scan_at is not None


def _tick_count():
    registry = queues.queue(queues.SCANS).finished_job_registry
    return sum(1 for job_id in registry.get_job_ids() if not job_id.startswith("scan-"))
