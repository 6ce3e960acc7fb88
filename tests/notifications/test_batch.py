"""Done when: each channel delivers a real message to its stand-in from a real failing file
in a real batch, run by real `flask worker` processes."""

import json

import sqlalchemy as sa

from tests.support.helpers import configure, run_json, wait_for
from tests.support.recordings import name, write_call, write_wav
from webapp.extensions import db
from webapp.models import NotificationDelivery

SID = "AC" + "3" * 32


def test_each_channel_hears_of_a_real_failing_file(
    private_targets, twilio_base, make_config, httpserver, smtp_server, workers, cli, tmp_path
):
    configure(scanning={"fileSettleSeconds": 0}, retryPolicy={"maxRetries": 0})
    root = tmp_path / "שיחות מכירה"
    root.mkdir()
    good = write_call(root)
    corrupt = name("wav")
    write_wav(root / corrupt)
    (root / corrupt).write_bytes((root / corrupt).read_bytes()[:30])  # cut inside the header
    untranscribed = name("wav")
    write_wav(root / untranscribed)  # no transcript beside it: transcription fails, no retry left

    for path in ("/slack", "/hook", "/apprise"):
        httpserver.expect_request(path, method="POST").respond_with_data("ok")
    httpserver.expect_request(f"/2010-04-01/Accounts/{SID}/Messages.json", method="POST").respond_with_json(
        {"sid": "SM" + "4" * 32, "account_sid": SID, "status": "queued"}, status=201
    )
    both = ["file_skipped", "retries_exhausted"]
    make_config(
        "email",
        smtp_server.channel_config(),
        conditions=both,
    )
    make_config("slack", {"webhook_url": httpserver.url_for("/slack")}, conditions=both)
    make_config("webhook", {"url": httpserver.url_for("/hook"), "secret": "k"}, conditions=both + ["batch_failed"])
    make_config(
        "sms",
        {"account_sid": SID, "auth_token": "t", "from_number": "+15005550006", "to_numbers": "+972501234567"},
        conditions=both,
    )
    make_config("apprise", {"url": f"json://127.0.0.1:{httpserver.port}/apprise"}, conditions=both)

    workers(1)
    result, report = run_json(cli, root, "--workers", "0")
    assert report, result.output
    by_name = {f["file_name"]: (f["status"], f["error_code"]) for f in report["files"]}
    assert by_name == {
        good: ("completed", None),
        corrupt: ("skipped", "CORRUPTED_FILE"),
        untranscribed: ("failed", "TRANSCRIPTION_FAILED"),
    }

    def statuses():
        db.session.rollback()
        return db.session.scalars(sa.select(NotificationDelivery.status)).all()

    wait_for(lambda: statuses().count("sent") == 11, timeout=60, message=f"11 deliveries sent ({statuses()})")
    assert set(statuses()) == {"sent"}

    subjects = sorted(m["Subject"].strip() for _, _, m in smtp_server.messages)
    assert subjects == [
        f"File failed for good: {untranscribed} (TRANSCRIPTION_FAILED)",
        f"File skipped: {corrupt} (CORRUPTED_FILE)",
    ]
    bodies = {path: [] for path in ("/slack", "/hook", "/apprise", "twilio")}
    for request, _ in httpserver.log:
        bodies["twilio" if "Accounts" in request.path else request.path].append(request.get_data(as_text=True))
    assert all(len(found) == 2 for path, found in bodies.items() if path != "/hook")
    hooks = [json.loads(body) for body in bodies["/hook"]]
    assert sorted(h["event"] for h in hooks) == ["batch_failed", "file_skipped", "retries_exhausted"]
    skipped = next(h for h in hooks if h["event"] == "file_skipped")
    assert skipped["events"][0]["file_name"] == corrupt and skipped["facts"]["Folder"] == "שיחות מכירה"
    assert any(corrupt in body for body in bodies["/slack"]) and any(corrupt in body for body in bodies["/apprise"])
    assert any(corrupt in body for body in bodies["twilio"])
