"""The pages in a real browser (Debian's Chromium, headless, through Playwright) against the
app served on 127.0.0.1, with a real worker process."""

import json
import time

import pytest
import sqlalchemy as sa

from tests.support.helpers import configure
from tests.support.recordings import write_calls, write_wav
from tests.support.web import browser_sign_in

pytestmark = pytest.mark.slow


def _folder(path):
    from webapp.batch import folder_config as folders

    return folders.local_folder_for(str(path))


def test_dashboard_updates_live_while_a_worker_processes_a_batch(ctx, users, live_server, browser, workers, tmp_path):
    configure(scanning={"fileSettleSeconds": 0}, processing={"paused": True})
    write_calls(tmp_path, 6)
    folder = _folder(tmp_path)
    workers(1)
    page = browser_sign_in(browser, live_server, "manager@example.com", timeout=15000)
    assert page.get_attribute("#status", "data-active") == "no"
    page.click(f"form[action='/folders/{folder.id}/scan'] button")  # plain form: one page load
    page.wait_for_url(live_server + "/")
    page.evaluate("window.__sameDocument = true")
    # the scan runs in the worker; files wait (processing is paused) and the fragment shows them
    page.wait_for_function(
        "document.querySelector('#total-queued') && document.querySelector('#total-queued').textContent.trim() === '6'",
        timeout=30000,
    )
    assert page.get_attribute("#status", "data-active") == "yes"
    page.screenshot(path=str(tmp_path / "dashboard-queued.png"))
    page.click("text=Resume processing")  # htmx: swaps the fragment, no reload
    page.wait_for_function("document.querySelector('#total-completed').textContent.trim() === '6'", timeout=60000)
    page.wait_for_function("document.querySelector('#status').dataset.active === 'no'", timeout=15000)
    assert page.evaluate("window.__sameDocument") is True  # never reloaded
    page.screenshot(path=str(tmp_path / "dashboard-done.png"))
    polls = []
    page.on("request", lambda r: polls.append(r.url) if "/partials/status" in r.url else None)
    time.sleep(5)
    assert polls == []  # idle: polling stopped


def _call_with_segments(tmp_path):
    """A 6 s recording whose sidecar transcript has segments starting at 0, 2.5 and 4 s."""
    import uuid

    name = f"{uuid.uuid4()}.wav"
    write_wav(tmp_path / name, seconds=6.0)
    segments = [
        {"start": 0.0, "end": 2.4, "text": "שלום, מדברת נועה מחברת אורות."},
        {"start": 2.5, "end": 3.9, "text": "מה חשוב לכם היום?"},
        {"start": 4.0, "end": 6.0, "text": "יש לנו מסלול חדש במחיר מיוחד."},
    ]
    (tmp_path / (name[:-4] + ".json")).write_text(
        json.dumps({"language": "he", "segments": segments}, ensure_ascii=False), encoding="utf-8"
    )


def test_transcript_timestamp_seeks_the_player(ctx, users, live_server, browser, tmp_path, cli):
    from webapp.extensions import db
    from webapp.models import SalesCall

    configure(scanning={"fileSettleSeconds": 0})
    _call_with_segments(tmp_path)
    assert cli.invoke(args=["batch", "run", str(tmp_path)]).exit_code == 0
    db.session.remove()
    call = db.session.scalars(sa.select(SalesCall)).one()
    page = browser_sign_in(browser, live_server, "viewer@example.com", timeout=15000)
    page.goto(f"{live_server}/calls/{call.id}")
    assert page.get_attribute(".transcript", "dir") == "rtl"
    page.wait_for_function("document.getElementById('player').readyState >= 1", timeout=15000)
    page.click(".transcript a[data-seek='2.5']")
    assert page.url.endswith(f"/calls/{call.id}")  # stayed on the page
    position = page.evaluate("document.getElementById('player').currentTime")
    assert 2.4 <= position <= 3.5, position
    page.click(".transcript a[data-seek='4.0']")
    assert page.evaluate("document.getElementById('player').currentTime") >= 3.9
    page.screenshot(path=str(tmp_path / "call.png"), full_page=True)


def test_cancel_and_delete_ask_for_confirmation(ctx, users, live_server, browser, tmp_path, cli):
    from webapp.batch import discovery
    from webapp.extensions import db
    from webapp.models import BatchJob, ExternalFolder

    configure(scanning={"fileSettleSeconds": 0}, processing={"immediateProcessing": False})
    write_calls(tmp_path, 2)
    folder = _folder(tmp_path)
    job_id = discovery.scan(folder).job_id  # held: a pending job
    folder_id = folder.id
    page = browser_sign_in(browser, live_server, "admin@example.com", timeout=15000)
    page.goto(f"{live_server}/jobs/{job_id}")
    dialogs = []

    def dismiss(dialog):
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.click("#cancel-job")
    time.sleep(0.5)
    db.session.expire_all()
    assert dialogs and "Cancel job" in dialogs[0]
    assert db.session.get(BatchJob, job_id).status == "pending"
    page.once("dialog", lambda d: d.accept())
    page.click("#cancel-job")
    page.wait_for_selector("text=Job cancelled")
    db.session.expire_all()
    assert db.session.get(BatchJob, job_id).status == "cancelled"

    page.goto(f"{live_server}/folders/{folder_id}")
    page.once("dialog", dismiss)
    page.click("button.danger:has-text('Delete')")
    time.sleep(0.5)
    assert "Delete the folder" in dialogs[-1]
    db.session.expire_all()
    assert db.session.get(ExternalFolder, folder_id) is not None
    page.once("dialog", lambda d: d.accept())
    page.click("button.danger:has-text('Delete')")
    page.wait_for_url(f"{live_server}/folders/")
    db.session.expire_all()
    assert db.session.get(ExternalFolder, folder_id) is None
