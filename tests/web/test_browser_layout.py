"""Every page on a phone, a tablet and a desktop, in English and in Hebrew (right-to-left), in
a real browser (Debian's Chromium, headless, through Playwright): nothing runs off the side of
the screen, axe-core finds no serious or critical accessibility problem, the keyboard alone
starts a scan, empty lists say what to do next, and the dashboard's folder table follows the
database without a reload.

Screenshots are kept under test-artifacts/screenshots/layout/ at the repository root."""

import os
import time

import pytest
import sqlalchemy as sa

from tests.support.env import ROOT
from tests.support.helpers import configure, wait_for
from tests.support.recordings import write_calls
from tests.support.web import PASSWORD, browser_sign_in

pytestmark = pytest.mark.slow

SHOTS = os.path.join(ROOT, "test-artifacts", "screenshots", "layout")
AXE = os.path.join(ROOT, "node_modules", "axe-core", "axe.min.js")
WIDTHS = (390, 768, 1280)

# (name, path) for an admin; {placeholders} come from the `site` fixture.
PAGES = [
    ("dashboard", "/"),
    ("folders", "/folders/"),
    ("folder", "/folders/{folder}"),
    ("folder-new", "/folders/new"),
    ("folder-edit", "/folders/{folder}/edit"),
    ("folder-preview", "/folders/{folder}/preview"),
    ("jobs", "/jobs/"),
    ("job", "/jobs/{job}"),
    ("job-start", "/jobs/{held_job}/start"),
    ("files", "/files/"),
    ("file-skipped", "/files/{skipped}"),
    ("file-failed", "/files/{failed}"),
    ("calls", "/calls/"),
    ("call", "/calls/{call}"),
    ("customers", "/customers/"),
    ("customer", "/customers/{customer}"),
    ("reports", "/reports/"),
    ("settings", "/settings/"),
    ("rubric", "/settings/rubric"),
    ("notifications", "/notifications/"),
    ("notification", "/notifications/{notification}"),
    ("notification-new", "/notifications/new"),
    ("notification-edit", "/notifications/{notification}/edit"),
    ("users", "/users"),
    ("audit", "/audit"),
    ("workers", "/workers/"),
    ("setup", "/setup/"),
    ("setup-step", "/setup/speech"),
    ("error-404", "/no-such-page"),
    ("error-400", "/files/?page=abc"),
]

# Anything wider than the viewport, or (right-to-left) starting left of it, that is not
# inside a box of its own that scrolls or clips.
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const problems = [];
  if (document.documentElement.scrollWidth > window.innerWidth)
    problems.push('the page is ' + document.documentElement.scrollWidth + 'px wide');
  const contained = el => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if (o === 'auto' || o === 'scroll' || o === 'hidden' || o === 'clip') return true;
    }
    return false;
  };
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height || r.bottom < -50) continue;
    if ((r.right > width + 1 || r.left < -1) && !contained(el))
      problems.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
                    (el.className && el.className.baseVal === undefined
                     ? '.' + el.className.split(' ').join('.') : '') +
                    ' spans ' + Math.round(r.left) + '..' + Math.round(r.right) + ' of ' + width);
  }
  return problems.slice(0, 8);
}"""

NEXT_FRAME = "() => new Promise(done => requestAnimationFrame(() => setTimeout(done)))"

AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations'],
                                          runOnly: {type: 'tag',
                                                    values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}});
  return result.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '));
}"""


@pytest.fixture
def site(ctx, users, tmp_path, cli):
    """Realistic data through the real pipeline: a folder of processed calls with a skipped
    and a failed file, a customer, a held job, a notification channel, and a Hebrew admin."""
    from webapp.batch import discovery, status
    from webapp.batch import folder_config as folders
    from webapp.extensions import db
    from webapp.models import (
        BatchJob,
        Customer,
        ExternalFolder,
        FileEvent,
        FileProcessingRecord,
        NotificationConfig,
        SalesCall,
        User,
    )

    configure(scanning={"fileSettleSeconds": 0})
    calls = tmp_path / "הקלטות מכירות — סניף צפון"
    calls.mkdir()
    write_calls(calls, 3, text="שלום, מדברת נועה מחברת אורות. מה חשוב לכם היום? יש לנו מסלול חדש במחיר מיוחד.")
    (calls / "recording-from-the-old-phone-system-2024-03-01-without-an-id.wav").write_bytes(b"RIFF")
    assert cli.invoke(args=["batch", "run", str(calls), "--json"]).exit_code == 0
    db.session.remove()
    folder = db.session.scalar(sa.select(ExternalFolder.id))
    job_id = db.session.scalar(sa.select(BatchJob.id))
    failed = FileProcessingRecord(
        folder_id=folder,
        job_id=job_id,
        file_name="9b1d4f0e-2c3a-4e5f-8a7b-6c5d4e3f2a1b.wav",
        file_path="9b1d4f0e-2c3a-4e5f-8a7b-6c5d4e3f2a1b.wav",
        status=status.FAILED,
        error_code="TRANSCRIPTION_FAILED",
        error_category="processing",
        error_message="The speech engine stopped before the end of the recording",
    )
    db.session.add(failed)
    db.session.flush()
    db.session.add(
        FileEvent(
            file_id=failed.id,
            from_status="processing",
            to_status="failed",
            message="The speech engine stopped before the end of the recording",
        )
    )
    customer = Customer(name="דנה כהן — אורות תאורה בע״מ", phone="+972501234567", call_count=3)
    db.session.add(customer)
    db.session.flush()
    for call in db.session.scalars(sa.select(SalesCall)):
        call.customer_id = customer.id
    notification = NotificationConfig(
        name="צוות התפעול", type="webhook", config={"url": "http://127.0.0.1:9/hook"}, conditions=["file_failed"]
    )
    db.session.add(notification)
    for role in ("admin", "viewer"):
        hebrew = User(email=f"{role}-he@example.com", role=role, language="he")
        hebrew.set_password(PASSWORD)
        db.session.add(hebrew)
    db.session.commit()

    configure(processing={"immediateProcessing": False})
    held = tmp_path / "waiting"
    held.mkdir()
    write_calls(held, 2)
    held_job = discovery.scan(folders.local_folder_for(str(held))).job_id
    configure(processing={"immediateProcessing": True})
    call = db.session.scalars(sa.select(SalesCall.id)).first()
    skipped = db.session.scalar(sa.select(FileProcessingRecord.id).where(FileProcessingRecord.status == "skipped"))
    return {
        "folder": folder,
        "job": job_id,
        "held_job": held_job,
        "skipped": skipped,
        "failed": failed.id,
        "call": call,
        "customer": customer.id,
        "notification": notification.id,
    }


def _signed_in(browser, base, language, role="admin"):
    """A signed-in page in its own context; the "-he" users' interface is Hebrew."""
    return browser_sign_in(browser, base, f"{role}-he@example.com" if language == "he" else f"{role}@example.com")


def _check(page, name, language, overflow, access):
    """At each width an overflow check and a screenshot; axe on the phone's width, where tables
    scroll and targets are touched."""
    assert page.evaluate("document.documentElement.lang") == language, name
    assert page.evaluate("document.documentElement.dir") == ("rtl" if language == "he" else "ltr"), name
    title = page.title()
    assert title.endswith(" · Callbatch") and not title.startswith("Callbatch"), (name, title)
    page.add_script_tag(path=AXE)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.evaluate(NEXT_FRAME)  # the page has had its resize event
        if width == WIDTHS[0]:
            access += [f"{name}: {v}" for v in page.evaluate(AXE_RUN)]
        found = page.evaluate(OVERFLOW)
        if found:
            overflow.append(f"{name} at {width}px: {found}")
        page.screenshot(path=os.path.join(SHOTS, f"{language}-{width}-{name}.jpeg"), full_page=True, quality=70)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_every_page_fits_every_width_and_passes_axe_in_both_languages(site, live_server, browser):
    if not os.path.exists(AXE):
        pytest.fail("axe-core is not installed: run `npm ci` at the repository root (scripts/test does).")
    os.makedirs(SHOTS, exist_ok=True)
    started, overflow, access = time.monotonic(), [], []
    for language in ("en", "he"):
        page = _signed_in(browser, live_server, language)
        for name, path in PAGES:
            page.goto(live_server + path.format(**site))
            _check(page, name, language, overflow, access)
        page.context.close()

        signed_out = browser.new_context(bypass_csp=True, locale="he-IL" if language == "he" else "en-US").new_page()
        signed_out.goto(live_server + "/login")
        _check(signed_out, "login", language, overflow, access)
        signed_out.context.close()

        viewer = _signed_in(browser, live_server, language, "viewer")
        viewer.goto(live_server + "/users")  # an admin's page: 403
        _check(viewer, "error-403", language, overflow, access)
        viewer.context.close()
    print(f"{len(PAGES) + 2} pages x {len(WIDTHS)} widths x 2 languages in {time.monotonic() - started:.0f} s")
    assert not overflow, "\n".join(overflow)
    assert not access, "\n".join(access)


def _folder_with_calls(path, count=2):
    from webapp.batch import folder_config as folders

    path.mkdir()
    write_calls(path, count)
    return folders.local_folder_for(str(path))


def test_keyboard_alone_skips_the_menu_and_starts_a_scan(ctx, users, live_server, browser, workers, tmp_path):
    from webapp.extensions import db
    from webapp.models import BatchJob

    configure(scanning={"fileSettleSeconds": 0}, processing={"paused": True})
    folder = _folder_with_calls(tmp_path / "calls")
    workers(1)
    page = browser_sign_in(browser, live_server, "manager@example.com")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"  # first in the page
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"  # focus is visible
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "content"
    target = f"scan-folder-{folder.id}"
    for _ in range(60):
        page.keyboard.press("Tab")
        focused = page.evaluate("[document.activeElement.id, getComputedStyle(document.activeElement).outlineStyle]")
        if focused[0] == target:
            break
    assert focused == [target, "solid"], focused
    page.keyboard.press("Enter")
    page.wait_for_selector(f"text=Scan of '{folder.name}' queued")
    wait_for(
        lambda: (db.session.expire_all(), db.session.scalar(sa.select(BatchJob.total_files)))[1] == 2,
        timeout=60,
        message="the scan to find the 2 recordings",
    )


def test_menu_folds_behind_a_button_on_a_phone_and_stays_open_without_javascript(ctx, users, live_server, browser):
    page = browser_sign_in(browser, live_server)
    page.set_viewport_size({"width": 390, "height": 800})
    toggle, link = page.locator(".menu-toggle"), page.locator("#site-menu a[href='/folders/']")
    assert toggle.is_visible() and not link.is_visible()
    assert toggle.get_attribute("aria-expanded") == "false"
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true" and link.is_visible()
    link.click()
    page.wait_for_url(live_server + "/folders/")
    page.set_viewport_size({"width": 1280, "height": 800})
    assert not page.locator(".menu-toggle").is_visible() and page.locator("#site-menu a[href='/jobs/']").is_visible()

    cookies = page.context.cookies()
    no_script = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 800})
    no_script.add_cookies(cookies)
    plain = no_script.new_page()
    plain.goto(live_server + "/")
    assert plain.locator("#site-menu a[href='/jobs/']").is_visible()
    no_script.close()
    page.context.close()


def test_dashboard_folder_table_follows_the_database_without_a_reload(ctx, users, live_server, browser, tmp_path):
    from webapp.extensions import db

    folder = _folder_with_calls(tmp_path / "calls", 0)
    page = browser_sign_in(browser, live_server, "viewer@example.com")
    page.evaluate("window.__sameDocument = true")
    row = page.locator(f"#folder-{folder.id}")
    assert "Scan now" not in row.inner_text()  # a viewer: no button
    folder.name, folder.connection_status, folder.last_error = "Renamed recordings", "error", "The disk is offline"
    db.session.commit()
    page.wait_for_selector(f"#folder-{folder.id} >> text=Renamed recordings", timeout=15000)
    assert page.locator(f"#folder-{folder.id} .badge.error").inner_text() == "error"
    assert "The disk is offline" in row.inner_text()
    assert page.evaluate("window.__sameDocument") is True
    page.context.close()
