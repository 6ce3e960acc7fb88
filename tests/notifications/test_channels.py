"""Each channel against its real local stand-in: SMTP (aiosmtpd), Slack, webhook and Twilio
(pytest-httpserver), apprise (json:// to the local server); and the outbound guard."""

import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

import pytest
from werkzeug.wrappers import Response

from tests.support.notifications import FILE_SKIPPED_EVENT
from webapp import outbound
from webapp.models import NotificationDelivery
from webapp.notifications import conditions as c
from webapp.notifications import dispatch
from webapp.services import notifications as service


def send(config, event=FILE_SKIPPED_EVENT):
    """Deliver one event to a config the way the worker does."""
    delivery = NotificationDelivery(
        config_id=config.id,
        condition=event["condition"],
        status="pending",
        summary="",
        payload={"message": c.message(event).to_dict()},
    )
    from webapp.extensions import db

    db.session.add(delivery)
    db.session.commit()
    assert dispatch.deliver(delivery.id, retry=False) == "sent", delivery.error
    return delivery


def test_email_carries_a_hebrew_subject_html_and_text(private_targets, make_config, smtp_server):
    config = make_config(
        "email",
        smtp_server.channel_config(recipients="ops@example.com, a@example.com"),
    )
    send(config)
    delivery = service.send_test(config, wait=True)
    assert delivery.status == "sent", delivery.error

    (sender, rcpts, first), (_, _, test) = smtp_server.messages
    assert sender == "callbatch@example.com" and sorted(rcpts) == ["a@example.com", "ops@example.com"]
    # Flask-Mail folds a long ASCII subject onto a continuation line; unfolded it is the same.
    assert first["Subject"].strip() == "File skipped: 3f2b8c1e-7a4d-4e2b-9c1f-0a1b2c3d4e5f.wav (CORRUPTED_FILE)"
    assert test["Subject"] == "Callbatch: test notification"
    plain = first.get_body(("plain",)).get_content()
    html = first.get_body(("html",)).get_content()
    assert "שיחות מכירה" in plain and "שיחות מכירה" in html
    assert "http://localhost:5000/files/7" in html and "CORRUPTED_FILE" in plain
    assert "If you can read it, the channel works." in test.get_body(("plain",)).get_content()


def test_slack_gets_blocks_with_links_back(private_targets, make_config, httpserver):
    httpserver.expect_oneshot_request("/services/T0/B0/x", method="POST").respond_with_data("ok")
    config = make_config("slack", {"webhook_url": httpserver.url_for("/services/T0/B0/x")})
    send(config)
    body = httpserver.log[0][0].get_json()
    assert body["text"].startswith("File skipped:")
    header, section, facts, actions = body["blocks"]
    assert header["type"] == "header" and "CORRUPTED_FILE" in header["text"]["text"]
    assert "*Folder*\nשיחות מכירה" in [f["text"] for f in facts["fields"]]
    assert actions["elements"][0]["url"] == "http://localhost:5000/files/7"
    assert service.view(config)["config"]["webhook_url"] == "••••••••"


def test_webhook_is_signed_and_the_receiver_verifies_it(private_targets, make_config, httpserver):
    secret = "s3cr3t-שלום"
    seen = []

    def receiver(request):
        timestamp = request.headers["X-Callbatch-Timestamp"]
        expected = (
            "sha256="
            + hmac.new(secret.encode(), timestamp.encode() + b"." + request.get_data(), hashlib.sha256).hexdigest()
        )
        ok = (
            hmac.compare_digest(expected, request.headers.get("X-Callbatch-Signature", ""))
            and abs(time.time() - int(timestamp)) < 300
        )
        seen.append((ok, json.loads(request.get_data())))
        return Response("ok" if ok else "bad signature", status=200 if ok else 401)

    httpserver.expect_request("/hook", method="POST").respond_with_handler(receiver)
    config = make_config("webhook", {"url": httpserver.url_for("/hook"), "secret": secret})
    send(config)
    [(ok, document)] = seen
    assert ok
    assert document["event"] == "file_skipped" and document["events"][0]["file_id"] == 7
    assert document["facts"]["Folder"] == "שיחות מכירה"
    assert config.config["secret"].startswith("enc:")  # sealed at rest

    # A wrong secret on the receiver's side is a failed delivery, recorded with the answer.
    secret = "another"
    delivery = service.send_test(config, wait=True)
    assert delivery.status == "failed" and "HTTP 401" in delivery.error


def test_sms_posts_the_exact_twilio_form(private_targets, twilio_base, make_config, httpserver):
    sid = "AC" + "1" * 32
    httpserver.expect_oneshot_request(f"/2010-04-01/Accounts/{sid}/Messages.json", method="POST").respond_with_json(
        {"sid": "SM" + "2" * 32, "account_sid": sid, "status": "queued", "body": "x"}, status=201
    )
    config = make_config(
        "sms",
        {"account_sid": sid, "auth_token": "token-xyz", "from_number": "+15005550006", "to_numbers": "+972501234567"},
    )
    send(config)
    request = httpserver.log[0][0]
    expected_text = (
        "File skipped: 3f2b8c1e-7a4d-4e2b-9c1f-0a1b2c3d4e5f.wav (CORRUPTED_FILE)\nhttp://localhost:5000/files/7"
    )
    assert request.get_data(as_text=True) == urlencode(
        {"To": "+972501234567", "From": "+15005550006", "Body": expected_text}
    )
    assert request.authorization.username == sid and request.authorization.password == "token-xyz"


def test_apprise_json_reaches_the_local_server(private_targets, make_config, httpserver):
    httpserver.expect_oneshot_request("/apprise", method="POST").respond_with_data("ok")
    port = httpserver.port
    config = make_config("apprise", {"url": f"json://127.0.0.1:{port}/apprise"})
    send(config)
    body = httpserver.log[0][0].get_json()
    assert body["title"].startswith("File skipped:") and "שיחות מכירה" in body["message"]
    assert body["type"] == "warning"  # a skip is a warning; failures are sent as "failure"


def test_private_targets_are_refused_unless_allowed(app, ctx, make_config, httpserver, monkeypatch):
    httpserver.expect_request("/hook").respond_with_data("ok")
    url = httpserver.url_for("/hook")
    assert url.startswith("http://127.0.0.1:")
    monkeypatch.setitem(app.config, "ALLOW_PRIVATE_TARGETS", False)
    for kind, config in (
        ("webhook", {"url": url}),
        ("slack", {"webhook_url": url}),
        ("apprise", {"url": f"json://127.0.0.1:{httpserver.port}/hook"}),
    ):
        saved, errors = service.create_config(
            {"name": kind, "type": kind, "config": config, "conditions": ["file_failed"]}
        )
        assert errors and "loopback, private" in errors[0]["message"], errors

    # Saved while allowed, refused at send time once the setting is off: nothing leaves.
    monkeypatch.setitem(app.config, "ALLOW_PRIVATE_TARGETS", True)
    config = make_config("webhook", {"url": url})
    monkeypatch.setitem(app.config, "ALLOW_PRIVATE_TARGETS", False)
    delivery = service.send_test(config, wait=True)
    assert delivery.status == "failed" and "refused" in delivery.error
    assert httpserver.log == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://10.1.2.3/",
        "http://192.168.0.10/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://2130706433/",
        "http://localhost/",
        "http://metadata.google.internal/",
        "ftp://example.com/",
        "http://[::ffff:10.0.0.1]/",
    ],
)
def test_ssrf_guard_refuses_internal_addresses(url):
    with pytest.raises(outbound.BlockedTarget):
        outbound.check_url(url, allow_private=False)


def test_metadata_service_is_refused_even_when_private_targets_are_allowed():
    with pytest.raises(outbound.BlockedTarget):
        outbound.check_url("http://169.254.169.254/latest/", allow_private=True)
    outbound.check_url("http://127.0.0.1:8080/", allow_private=True)
    outbound.check_url("http://8.8.8.8/", allow_private=False)


def test_validation_messages_and_masked_secrets(private_targets, make_config, ctx):
    _, errors = service.create_config(
        {
            "name": "",
            "type": "sms",
            "config": {"to_numbers": "0501234567"},
            "conditions": ["nope"],
            "cooldown_minutes": -1,
            "error_codes": ["XX"],
        }
    )
    fields = {e["field"] for e in errors}
    assert fields == {"name", "config", "conditions", "cooldown_minutes", "error_codes"}
    assert any("international form" in e["message"] for e in errors)

    config = make_config(
        "email",
        {
            "host": "127.0.0.1",
            "port": 2525,
            "security": "none",
            "password": "pw-1",
            "sender": "a@example.com",
            "recipients": "b@example.com",
        },
    )
    stored = config.config["password"]
    shown = service.view(config)
    assert shown["config"]["password"] == "••••••••" and "pw-1" not in json.dumps(shown)
    # The form sends the masked value back: the stored secret stays as it was.
    _, errors = service.update_config(config, {"config": {**shown["config"], "port": 2526}})
    assert not errors and config.config["password"] == stored and config.config["port"] == 2526
    assert [p["type"] for p in service.providers()] == ["email", "slack", "webhook", "sms", "apprise"]


def test_cli_sends_a_test_and_shows_the_history(private_targets, make_config, httpserver, cli):
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    config = make_config("webhook", {"url": httpserver.url_for("/hook")})
    result = cli.invoke(args=["notifications", "test", str(config.id)])
    assert result.exit_code == 0 and "Sent to webhook channel" in result.output, result.output
    assert httpserver.log[0][0].get_json()["event"] == "test"
    history = cli.invoke(args=["notifications", "history", str(config.id)])
    assert "sent" in history.output and "test" in history.output
    assert cli.invoke(args=["notifications", "test", "999"]).exit_code == 1
