"""The interface in Hebrew: times in the reader's zone and language, durations, sizes and
numbers localised, notifications in the channel's language, and no English word left on any
page a Hebrew reader opens."""

import re
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser

import pytest
from flask import g

from tests.support.helpers import configure
from tests.support.notifications import FILE_SKIPPED_EVENT
from tests.support.recordings import write_calls
from webapp.extensions import db
from webapp.notifications import conditions as c
from webapp.notifications import dispatch

FIXED = datetime(2026, 3, 5, 12, 30, 15, tzinfo=timezone.utc)


def _page(client, url):
    g.pop("_flask_babel", None)  # the test's one app context caches the locale and zone: a new request would not
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True).replace("\u202f", " ")  # CLDR's narrow space before AM/PM


def test_a_time_shows_in_the_users_zone_and_language(web, users):
    users["viewer"].last_login_at = FIXED
    admin = users["admin"]
    admin.language, admin.timezone = "he", "Asia/Jerusalem"
    db.session.commit()
    html = _page(web["admin"], "/users")
    # 12:30 UTC is 14:30 in Jerusalem (winter, UTC+2); the machine-readable time stays UTC
    assert '<time datetime="2026-03-05T12:30:15Z"' in html and "5 במרץ 2026, 14:30:15" in html
    admin.language, admin.timezone = "en", "America/New_York"
    db.session.commit()
    html = _page(web["admin"], "/users")
    assert "Mar 5, 2026, 7:30:15 AM" in html and "14:30:15" not in html
    admin.timezone = None  # back to the installation's TIMEZONE (UTC here)
    db.session.commit()
    assert "Mar 5, 2026, 12:30:15 PM" in _page(web["admin"], "/users")


def test_a_user_sets_their_own_zone_and_a_wrong_one_is_refused(web, users):
    client = web["viewer"]
    assert client.post("/profile", data={"language": "he", "timezone": "Asia/Jerusalem"}).status_code == 302
    db.session.refresh(users["viewer"])
    assert (users["viewer"].language, users["viewer"].timezone) == ("he", "Asia/Jerusalem")
    wrong = client.post("/profile", data={"language": "he", "timezone": "Mars/Olympus"})
    assert wrong.status_code == 422 and "Mars/Olympus" in wrong.get_data(as_text=True)
    db.session.refresh(users["viewer"])
    assert users["viewer"].timezone == "Asia/Jerusalem"
    assert (
        web["admin"]
        .post(f"/users/{users['viewer'].id}", data={"role": "viewer", "active": "on", "timezone": ""})
        .status_code
        == 302
    )
    db.session.refresh(users["viewer"])
    assert users["viewer"].timezone is None


def test_recent_times_read_relative_with_the_exact_time_on_hover(web, users):
    users["viewer"].last_login_at = datetime.now(timezone.utc) - timedelta(minutes=3, seconds=5)
    users["admin"].language = "he"
    db.session.commit()
    html = _page(web["admin"], "/users")
    assert "לפני 3 דקות</time>" in html and 'title="' in html.split("לפני 3 דקות")[0].rsplit("<time", 1)[1]
    users["admin"].language = "en"
    db.session.commit()
    assert "3 minutes ago</time>" in _page(web["admin"], "/users")


def test_durations_sizes_and_numbers_in_both_languages(ctx):
    from flask_babel import force_locale

    from webapp.views import formatting as f

    with ctx.test_request_context("/"):
        with force_locale("en"):
            assert (f.duration(125), f.duration(3725), f.duration(7)) == ("2 min 5 sec", "1 hr 2 min", "7 sec")
            assert f.duration(720) == "12 min"
            assert (f.size(1536 * 1024), f.size(512), f.size(3 * 2**30)) == ("1.5 MB", "512 byte", "3.0 GB")
            assert (f.number(12345.5), f.yesno(True), f.yesno(False)) == ("12,345.5", "Yes", "No")
        with force_locale("he"):
            assert (f.duration(125), f.duration(3725)) == ("2 דק׳ 5 שנ׳", "1 שעה 2 דק׳")
            assert (f.size(1536 * 1024), f.size(512)) == ("1.5 MB", "512 בייט")
            assert (f.yesno(True), f.yesno(False)) == ("כן", "לא")


def test_stored_sentences_read_in_the_readers_language(ctx):
    from flask_babel import force_locale

    from webapp.views.stored_words import said

    with ctx.test_request_context("/"), force_locale("he"):
        named = said("'not-a-uuid.wav' is not named <uuid>.<extension>.")
        assert named == 'השם ״<bdi dir="ltr">not-a-uuid.wav</bdi>״ אינו בתבנית &lt;uuid&gt;.&lt;סיומת&gt;.'
        assert said("Found by a manual scan") == "נמצא בסריקה (ידנית)"
        assert said("Retry 2 of 3 in 60 s") == "ניסיון חוזר 2 מתוך 3 בעוד 60 שניות"
        assert said("Something nobody wrote down") == "Something nobody wrote down"
        assert said("The password needs at least 10 characters.") == "הסיסמה צריכה לפחות 10 תווים."


def test_every_error_sentence_the_code_raises_has_its_words():
    """The raise sites and the list of sentences pages translate stay in step."""
    from webapp.views.stored_words import CHECKS, ERRORS, checks_in_code, sentences_in_code

    in_code = sentences_in_code()
    assert len(in_code) > 50
    assert [s for s in in_code if s not in ERRORS] == [], "add these to webapp/views/stored_words.py ERRORS"
    checked = checks_in_code()
    assert len(checked) > 80
    assert [s for s in checked if s not in ERRORS + CHECKS] == [], "add these to stored_words.py CHECKS"


def test_notifications_speak_the_installations_language_unless_the_channel_names_its_own(
    private_targets, make_config, smtp_server, httpserver, monkeypatch, ctx
):
    monkeypatch.setitem(ctx.config, "LANGUAGE", "he")  # a Hebrew installation
    httpserver.expect_oneshot_request("/slack", method="POST").respond_with_data("ok")
    make_config(
        "email",
        smtp_server.channel_config(),
        conditions=[c.FILE_SKIPPED],
    )
    make_config("slack", {"webhook_url": httpserver.url_for("/slack")}, conditions=[c.FILE_SKIPPED], language="en")
    for delivery in dispatch.dispatch([dict(FILE_SKIPPED_EVENT)]):
        assert dispatch.deliver(delivery.id, retry=False) == "sent", delivery.error
    ((_, _, mail),) = smtp_server.messages
    assert mail["Subject"].strip() == "הקובץ דולג: 3f2b8c1e-7a4d-4e2b-9c1f-0a1b2c3d4e5f.wav (CORRUPTED_FILE)"
    plain = mail.get_body(("plain",)).get_content()
    assert "הקובץ ריק או פגום" in plain and "מה לעשות" in plain and "What to do" not in plain
    slack = httpserver.log[0][0].get_json()
    assert slack["text"].startswith("File skipped: 3f2b8c1e") and "*What to do*" in str(slack["blocks"])
    assert "The file is empty or damaged" in str(slack["blocks"])


# -- no English word left on a Hebrew page ---------------------------------------------------

# Words a Hebrew page may show in Latin letters: product and service names, the language's own
# name, units, and loanwords the Hebrew catalogue keeps (bucket, container, cron). Codes (all
# capitals, CamelCase, dotted, with _ or digits), file names and extensions, paths, URLs, e-mail
# addresses and what a translation quotes (a console's menu, a command) are recognised by shape.
ALLOWED = {
    "Callbatch",
    "Amazon",
    "Azure",
    "Blob",
    "Google",
    "Cloud",
    "Storage",
    "Slack",
    "Twilio",
    "Apprise",
    "Teams",
    "Discord",
    "Telegram",
    "Ceph",
    "Whisper",
    "whisper",
    "faster",
    "OpenAI",
    "English",
    "Event",
    "Grid",
    "ivrit",
    "ai",
    "bucket",
    "container",
    "cron",
    "kB",
    "ms",
    "byte",
    "GMT",
    "wav",
    "aac",
    "ogg",
    "webhook",
    "zlib",
    "yes",
}  # "yes" is an Israeli TV provider, a starter competitor tracker phrase
# Names the Hebrew cloud set-up steps keep as the consoles show them (menus, roles, commands)
CONSOLE = {
    "Properties",
    "Event",
    "notifications",
    "Events",
    "subject",
    "List",
    "Read",
    "Storage",
    "Object",
    "Viewer",
    "Web",
    "Hook",
    "gcloud",
    "storage",
    "buckets",
    "create",
    "push",
    "topic",
    "blob",
    "blobs",
}
TECHNICAL = re.compile(
    r"`[^`]*`|“[^”]*”|<[^<>\s]*>|\b\w+:\S+|\S+://\S*|\S+@\S+|\S*[/\\]\S*|\S*\.[A-Za-z0-9]{2,5}\b|\S*[_\d]\S*"
    r"|\b\w+(?:\.\w+)+\b|\b[A-Za-z]*[a-z][A-Z]\w*\b|\b[A-Z]{2,}s?\b"
)
WORD = re.compile(r"[A-Za-z]{2,}")
SKIPPED = {"script", "style", "code", "pre", "textarea", "kbd", "samp"}
SHOWN_ATTRIBUTES = ("title", "placeholder", "alt", "aria-label")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Reader(HTMLParser):
    """What a reader sees: text outside scripts, code and left-to-right technical spans, and the
    shown attributes; plus the links to follow (href and hx-get)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text, self.links, self.stack = [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("href", "hx-get"):
            if (attrs.get(key) or "").startswith("/"):
                self.links.append(attrs[key])
        hidden = tag in SKIPPED or attrs.get("dir") == "ltr" or attrs.get("type") == "hidden"
        if not self._hidden() and not hidden:
            self.text += [attrs[a] for a in SHOWN_ATTRIBUTES if attrs.get(a)]
            if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
                self.text.append(attrs["value"])
        if tag not in VOID:
            self.stack.append(hidden)

    def handle_endtag(self, tag):
        if tag not in VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if not self._hidden():
            self.text.append(data)

    def _hidden(self):
        return any(self.stack)


def english_words(html):
    reader = _Reader()
    reader.feed(html)
    words = set()
    for text in reader.text:
        words |= {w for w in WORD.findall(TECHNICAL.sub(" ", text)) if w not in ALLOWED | CONSOLE}
    return words, reader.links


FOLLOW_NOT = ("/api/", "/static/", "/logout", "/metrics", "/healthz", "/readyz", "/language")


def _followed(link):
    path = link.split("#")[0]
    return path and not path.startswith(FOLLOW_NOT) and not re.search(r"\.(csv|json|tar)(\?|$)|/audio", path)


@pytest.fixture
def everything(ctx, tmp_path, cli, users):
    """Data of every kind a page shows: processed calls with scorecards (the real pipeline), a
    folder of each storage type, files in every status and with every error code, notification
    channels, users and the audit rows their changes left."""
    from webapp.errors import CODES, explain
    from webapp.models import BatchJob, ExternalFolder, FileProcessingRecord
    from webapp.services import notifications as notification_service
    from webapp.services import users as user_service

    configure(scanning={"fileSettleSeconds": 0})
    write_calls(tmp_path, 2)
    (tmp_path / "not-a-uuid.wav").write_bytes(b"RIFF")
    result = cli.invoke(args=["batch", "run", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    db.session.remove()
    for n, (kind, config) in enumerate(
        (
            ("s3", {"bucket": "calls-2026", "region": "eu-west-1"}),
            ("azure", {"container": "calls-2026", "account_url": "https://example.blob.core.windows.net"}),
            ("gcs", {"bucket": "calls-2026"}),
        )
    ):
        db.session.add(ExternalFolder(name=f"שיחות מהענן {n + 1}", storage_type=kind, storage_config=config))
    folder = db.session.scalars(db.select(ExternalFolder).where(ExternalFolder.storage_type == "local")).first()
    job = BatchJob(folder_id=folder.id, trigger="manual", status="running", total_files=len(CODES) + 8)
    db.session.add(job)
    db.session.flush()
    for status in ("discovered", "queued", "processing", "retrying", "cancelled"):
        db.session.add(
            FileProcessingRecord(
                folder_id=folder.id,
                job_id=job.id,
                file_name=f"{status}.wav",
                file_path=f"{status}.wav",
                status=status,
                file_size=2048,
            )
        )
    for code in CODES:
        category, explanation, _fix = explain(code)
        db.session.add(
            FileProcessingRecord(
                folder_id=folder.id,
                job_id=job.id,
                file_name=f"{code.lower()}.wav",
                file_path=f"{code.lower()}.wav",
                status="skipped" if code in ("INVALID_FILENAME", "DUPLICATE_FILE") else "failed",
                error_code=code,
                error_category=category,
                error_message=explanation,
                file_size=4096,
                attempts=1,
            )
        )
    db.session.commit()
    for name, kind, config, chosen in (
        (
            "מנהלים",
            "email",
            {
                "host": "127.0.0.1",
                "port": 2525,
                "security": "none",
                "sender": "cb@example.com",
                "recipients": "ops@example.com",
            },
            ["file_failed", "file_skipped"],
        ),
        (
            "צוות",
            "slack",
            {"webhook_url": "https://hooks.slack.com/services/T0/B0/x"},
            ["batch_completed", "folder_unreachable"],
        ),
    ):
        _config, errors = notification_service.create_config(
            {"name": name, "type": kind, "config": config, "conditions": chosen}, actor="admin@example.com"
        )
        assert not errors, errors
    admin = user_service.by_email("admin@example.com")
    user_service.update_user(user_service.by_email("viewer@example.com"), {"timezone": "Asia/Jerusalem"}, user=admin)
    admin.language = "he"
    db.session.commit()


@pytest.mark.slow
def test_no_english_word_on_any_hebrew_page(web, everything):
    seen, queue, missing = (
        set(),
        [
            "/",
            "/setup/",
            "/users",
            "/profile",
            "/audit",
            "/workers/",
            "/reports/",
            "/folders/new",
            "/notifications/new",
            "/settings/rubric",
        ],
        {},
    )
    while queue and len(seen) < 200:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        g.pop("_flask_babel", None)
        response = web["admin"].get(url)
        if response.status_code != 200 or "html" not in response.content_type:
            continue
        words, links = english_words(response.get_data(as_text=True))
        if words:
            missing[url] = sorted(words)
        queue += [link for link in links if _followed(link) and link not in seen]
    assert len(seen) > 100, sorted(seen)
    report = "\n".join(f"{url}: {' '.join(words)}" for url, words in sorted(missing.items()))
    print(f"{len(seen)} pages crawled\n{report}")
    assert not missing, "English words on Hebrew pages (translate them):\n" + report


def test_a_validation_message_on_a_hebrew_page_is_hebrew(web, users):
    users["admin"].language = "he"
    db.session.commit()
    g.pop("_flask_babel", None)
    page = web["admin"].post(
        "/users", data={"email": "new@example.com", "role": "viewer", "language": "he", "password": "short"}
    )
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert "הסיסמה צריכה לפחות 10 תווים." in html and "The password needs" not in html
