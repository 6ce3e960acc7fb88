"""The setup guide in a real browser (Debian's Chromium, headless, through Playwright),
against the app served on 127.0.0.1 with a real worker process: from an empty instance an
admin adds a folder from a template (Test connection), chooses the speech engine from a
preset (saved from the guide), skips the notification channel, previews the first scan and starts
it, and watches the first batch finish. A screenshot of each step is kept under
test-artifacts/setup/ at the repository root."""

import os

import pytest
import sqlalchemy as sa

from tests.support.env import ROOT
from tests.support.helpers import configure
from tests.support.web import browser_sign_in

pytestmark = pytest.mark.slow

SHOTS = os.path.join(ROOT, "test-artifacts", "setup")
CALLS = 4


def _shot(page, name):
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def test_the_setup_guide_takes_an_empty_instance_to_a_finished_first_batch(
    ctx, users, live_server, browser, workers, tmp_path
):
    from webapp import samples
    from webapp.batch import batch_config as settings
    from webapp.extensions import db
    from webapp.models import BatchJob, ExternalFolder, SalesCall

    configure(scanning={"fileSettleSeconds": 0})  # the sample calls are written just now
    calls = tmp_path / "drop"
    samples.make_folder(str(calls), count=CALLS, formats=("wav",), speak=False)  # transcripts beside them
    workers(1)

    base = live_server
    page = browser_sign_in(browser, base)
    assert "Welcome to Callbatch" in page.inner_text("#setup-box")
    _shot(page, "01-welcome")

    # 1. a folder, from the drop-folder template, its connection tested before saving
    page.click("#setup-box a:has-text('Start the setup guide')")
    page.wait_for_url(base + "/setup/folder")
    _shot(page, "02-folder-step")
    page.click("a[data-template=local]")
    page.wait_for_selector("#template-steps")
    assert page.input_value("input[name=name]") == "Call recordings"
    page.fill("input[name='cfg.path']", str(calls))
    page.click("button:has-text('Test connection')")
    page.wait_for_selector("#test-result .result.ok")
    _shot(page, "03-folder-tested")
    page.click("#folder-form button[type=submit]:not([formaction])")
    page.wait_for_url(base + "/setup/speech")

    # 2. the speech engine: the phone system's transcripts (nothing to test: saving the choice settles the step)
    page.select_option("select[name='analysis.transcriber.type']", "faster_whisper")
    page.wait_for_selector("input[name='analysis.transcriber.cfg.model']")  # its own fields swapped in
    page.click("a[data-preset=sidecar]")
    page.wait_for_selector("input[name='analysis.transcriber.shown'][value=sidecar]", state="attached")
    assert page.input_value("select[name='analysis.transcriber.type']") == "sidecar"
    page.click("button:has-text('Test speech')")
    page.wait_for_selector("#speech-result #speech-outcome")
    assert "there is no speech engine to test" in page.inner_text("#speech-result")
    _shot(page, "04-speech-chosen")
    page.click("button:has-text('Save and continue')")
    page.wait_for_url(base + "/setup/notify")
    db.session.expire_all()
    assert settings.load().analysis.transcriber["type"] == "sidecar"

    # 3. no notification channel for now
    _shot(page, "05-notify-step")
    page.click("button:has-text('Not now')")
    page.wait_for_url(base + "/setup/preview")

    # 4. the first scan, previewed
    page.click("a:has-text('Preview the first scan of Call recordings')")
    page.wait_for_selector("#preview-result .preview")
    assert f"would queue {CALLS} files" in page.inner_text("#preview-result")
    _shot(page, "06-preview")
    page.click("button:has-text('Looks right: continue')")
    page.wait_for_url(base + "/setup/start")

    # 5. start, and watch the first batch finish on the page
    page.click("button:has-text('Start: scan Call recordings')")
    page.wait_for_selector("#start-result .flash")
    page.wait_for_selector("#first-batch-done", timeout=90000)
    assert f"{CALLS} calls scored, 0 files failed" in page.inner_text("#first-batch-done")
    _shot(page, "07-first-batch-done")
    db.session.expire_all()
    job = db.session.scalar(sa.select(BatchJob))
    assert job.status == "completed" and job.processed_files == CALLS
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SalesCall)) == CALLS
    assert db.session.scalar(sa.select(ExternalFolder.monitor_type)) == "events"

    # the dashboard has nothing left to set up
    page.goto(base + "/")
    assert page.locator("#setup-box").count() == 0
    _shot(page, "08-dashboard")

    # the same speech engine form on the Settings page: a preset fills it in place
    page.goto(base + "/settings/")
    page.evaluate("window.__sameDocument = true")
    page.click("a[data-preset=hebrew-cpu]")
    page.wait_for_selector("input[name='analysis.transcriber.shown'][value=faster_whisper]", state="attached")
    assert page.input_value("input[name='analysis.transcriber.cfg.model']") == "ivrit-ai/whisper-large-v3-turbo-ct2"
    assert page.input_value("select[name='analysis.transcriber.cfg.compute_type']") == "int8"
    assert page.is_checked("input[name='analysis.transcriber.cfg.vad_filter']")
    assert page.evaluate("window.__sameDocument") is True
    _shot(page, "09-settings-preset")
    page.context.close()
