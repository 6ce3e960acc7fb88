"""A whole batch from the browser alone (Debian's Chromium, headless, through Playwright),
against the app served on 127.0.0.1 with a real worker process: sign in, add a local folder
through the form, scan it, watch the job's progress bar reach 100 % without reloading, read
why a file was skipped, fix and retry a failed file, switch to Hebrew (right-to-left).

Screenshots are kept under test-artifacts/screenshots/ at the repository root."""

import json
import os
import time
import uuid

import pytest
import sqlalchemy as sa

from tests.support.env import ROOT
from tests.support.helpers import configure, wait_for
from tests.support.recordings import write_calls, write_wav
from tests.support.web import browser_sign_in

pytestmark = pytest.mark.slow

SHOTS = os.path.join(ROOT, "test-artifacts", "screenshots")


def _shot(page, name):
    os.makedirs(SHOTS, exist_ok=True)
    path = os.path.join(SHOTS, f"flow-{name}.png")
    page.screenshot(path=path, full_page=True)
    return path


def test_manager_runs_watches_and_fixes_a_batch_from_the_browser(ctx, users, live_server, browser, workers, tmp_path):
    from webapp.extensions import db
    from webapp.models import BatchJob, FileProcessingRecord

    configure(scanning={"fileSettleSeconds": 0}, retryPolicy={"maxRetries": 0}, processing={"paused": True})
    calls = tmp_path / "calls"
    calls.mkdir()
    write_calls(calls, 10)
    orphan = f"{uuid.uuid4()}.wav"  # a recording whose transcript has not been delivered
    write_wav(calls / orphan, seconds=1.0)
    write_wav(calls / "not-a-call-id.wav", seconds=1.0)  # skipped: the name is not <uuid>.<ext>
    workers(1)

    base = live_server
    page = browser_sign_in(browser, base)  # an admin: adding folders is theirs

    # add the folder through the form
    page.goto(base + "/folders/new")
    page.fill("input[name=name]", "Call recordings")
    page.select_option("select[name=storage_type]", "local")
    page.wait_for_load_state("networkidle")  # the type's fields are swapped in by htmx first
    page.fill("input[name='cfg.path']", str(calls))
    page.click("#folder-form button[type=submit]:not([formaction])")
    page.wait_for_selector("text=Folder 'Call recordings' added.")
    folder_url = page.url
    _shot(page, "01-folder-added")

    # scan it (htmx: the answer appears in place)
    page.click("button:has-text('Scan now')")
    page.wait_for_selector("#folder-result .flash")
    job_id = wait_for(
        lambda: (db.session.expire_all(), db.session.scalar(sa.select(BatchJob.id)))[1],
        timeout=40,
        message="the scan's job",
    )
    wait_for(
        lambda: (db.session.expire_all(), db.session.get(BatchJob, job_id).total_files == 12)[1],
        timeout=30,
        message="12 files in the job",
    )

    # watch the job: its fragment is polled while it runs; the page is never reloaded
    page.goto(f"{base}/jobs/{job_id}")
    page.evaluate("window.__sameDocument = true")
    assert page.get_attribute("#job-progress", "data-active") == "yes"
    first = int(page.get_attribute("#job-progress progress", "value"))
    assert first < 100
    _shot(page, "02-job-waiting")
    other = page.context.new_page()  # a second tab resumes processing from the dashboard
    other.goto(base + "/")
    other.click("text=Resume processing")
    other.wait_for_selector("text=Pause processing")
    other.close()
    seen, deadline = [first], time.monotonic() + 90
    while time.monotonic() < deadline:
        value = int(page.get_attribute("#job-progress progress", "value"))
        if value != seen[-1]:
            seen.append(value)
        if value == 100:
            break
        time.sleep(0.1)
    assert seen[-1] == 100, seen
    assert seen == sorted(seen) and len(seen) >= 2, seen  # it advanced, only forwards
    page.wait_for_function("document.querySelector('#job-progress').dataset.active === 'no'", timeout=15000)
    assert page.evaluate("window.__sameDocument") is True  # never reloaded
    assert page.inner_text("#job-progress .progress-text").strip() == "100%"
    _shot(page, "03-job-done")

    # the skipped file explains itself
    page.goto(f"{base}/files/?status=skipped")
    page.click("text=not-a-call-id.wav")
    problem = page.inner_text("#problem")
    assert "INVALID_FILENAME" in problem and "What to do:" in problem
    _shot(page, "04-skipped-file")

    # the failed file: no transcript beside it; deliver it and retry from the page
    page.goto(f"{base}/files/?status=failed")
    page.click(f"text={orphan}")
    problem = page.inner_text("#problem")
    assert "TRANSCRIPTION_FAILED" in problem and "No transcript was delivered" in problem
    _shot(page, "05-failed-file")
    (calls / (orphan[:-4] + ".json")).write_text(
        json.dumps(
            {"language": "he", "segments": [{"start": 0.0, "end": 1.0, "text": "שלום, אני מתקשר לגבי ההצעה."}]},
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    page.click("button:has-text('Retry this file')")
    page.wait_for_selector("text=File queued again.")
    file_url = page.url
    deadline = time.monotonic() + 60
    while "completed" not in page.inner_text("dl.facts"):
        assert time.monotonic() < deadline, "the retried file did not complete"
        time.sleep(0.5)
        page.goto(file_url)
    assert page.query_selector("#problem") is None
    assert page.query_selector("a:has-text('Open call #')") is not None
    db.session.expire_all()
    record = db.session.scalars(sa.select(FileProcessingRecord).where(FileProcessingRecord.file_name == orphan)).one()
    assert record.status == "completed" and record.sales_call is not None
    _shot(page, "06-retried-file")

    # Hebrew: right-to-left, Hebrew navigation
    page.goto(folder_url)
    page.click("header .me button:has-text('עברית')")
    page.wait_for_url(folder_url)
    assert page.get_attribute("html", "dir") == "rtl" and page.get_attribute("html", "lang") == "he"
    nav = page.inner_text("header nav")
    for word in ("לוח בקרה", "תיקיות", "קבצים", "משימות", "דוחות"):
        assert word in nav, nav
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    _shot(page, "07-hebrew-folder")
    page.goto(base + "/reports/")
    assert "ביצועי עיבוד" in page.inner_text("main")
    assert page.query_selector("svg.chart") is not None
    _shot(page, "08-hebrew-reports")
    page.context.close()
