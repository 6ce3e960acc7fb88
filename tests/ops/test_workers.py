"""The Workers overview (page, `flask workers`, GET /api/batch/workers) with a real worker
process: its host, pid, resources it published itself, jobs done and the file it holds."""

import json
import socket

import psutil
import pytest
import sqlalchemy as sa

from tests.support.helpers import configure, wait_for
from tests.support.recordings import write_calls
from webapp.batch import discovery, status
from webapp.batch import folder_config as folders
from webapp.extensions import db
from webapp.models import FileProcessingRecord as FPR
from webapp.services import workers as service

pytestmark = pytest.mark.slow


def completed():
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(FPR).where(FPR.status == status.COMPLETED))


@pytest.fixture
def busy_worker(ctx, workers, tmp_path):
    """A worker that processed two files and (as the database says) holds a third."""
    configure(scanning={"fileSettleSeconds": 0})
    calls = tmp_path / "calls"
    calls.mkdir()
    write_calls(calls, 2)
    folder = folders.local_folder_for(str(calls))
    discovery.scan(folder, trigger="test")
    (proc,) = workers(1)
    wait_for(lambda: completed() == 2, timeout=90, message="2 files completed")
    # A third file, left queued while processing is paused, is claimed in the worker's name.
    configure(processing={"paused": True})
    write_calls(calls, 1)
    discovery.scan(folder, trigger="test")
    held = db.session.scalars(sa.select(FPR).where(FPR.status == status.QUEUED)).one()
    wait_for(lambda: service.overview()["queues"][2]["depth"] == 0, timeout=30, message="the paused job taken")
    assert status.claim(held.id, proc.worker_name, "file-held") is not None
    db.session.commit()
    return proc, held


def _row(data, proc):
    return next(w for w in data["workers"] if w["name"] == proc.worker_name)


def test_overview_shows_the_live_worker(busy_worker):
    from webapp.tasks import schedule as tasks

    proc, held = busy_worker
    tasks.tick()  # as the scheduler's periodic job does
    data = service.overview()
    row = _row(data, proc)
    assert row["host"] == socket.gethostname() and row["pid"] == proc.pid
    assert row["jobs_done"] >= 2
    assert [f["file_id"] for f in row["processing"]] == [held.id] and row["processing"][0]["since"]
    rss = psutil.Process(proc.pid).memory_info().rss
    assert row["rss_bytes"] and 0.5 * rss < row["rss_bytes"] < 2 * rss  # published by the worker itself
    assert row["cpu_seconds"] > 0 and row["disk_free_bytes"] > 0
    assert {q["name"] for q in data["queues"]} == {"scans", "notifications", "files"}
    assert data["scheduled_retries"] == 0 and data["scheduler_last_tick"]
    assert data["download_dir"]["free_bytes"] > 0


def test_workers_page_cli_and_api_show_the_same(busy_worker, users, web, cli):
    from webapp.services import tokens

    proc, held = busy_worker
    page = web["admin"].get("/workers/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert proc.worker_name in html and held.file_name in html and 'hx-trigger="every 5s"' in html
    fragment = web["admin"].get("/workers/partials/overview", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.get_data(as_text=True)
    assert proc.worker_name in fragment.get_data(as_text=True)
    assert web["viewer"].get("/workers/").status_code == 403
    assert web["manager"].get("/workers/partials/overview").status_code == 403
    assert "/workers/" in web["admin"].get("/").get_data(as_text=True)
    assert "/workers/" not in web["manager"].get("/").get_data(as_text=True)

    table = cli.invoke(args=["workers"])
    assert table.exit_code == 0 and proc.worker_name in table.output and held.file_name in table.output
    as_json = json.loads(cli.invoke(args=["workers", "--json"]).output)
    assert _row(as_json, proc)["processing"][0]["file_id"] == held.id

    bearer = {role: tokens.create_token(users[role], "ops")[1] for role in ("admin", "manager")}
    answer = web[None].get("/api/batch/workers", headers={"Authorization": f"Bearer {bearer['admin']}"})
    assert answer.status_code == 200
    assert _row(answer.get_json(), proc)["pid"] == proc.pid
    refused = web[None].get("/api/batch/workers", headers={"Authorization": f"Bearer {bearer['manager']}"})
    assert refused.status_code == 403
