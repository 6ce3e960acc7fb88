"""Secrets never in a stored or logged text: each channel and each cloud storage type is made
to fail in a way whose error text carries its secret (a refused port, a 500 or 401 answer
echoing it, an SMTP server repeating the password), and the delivery error, the folder's
last error, the test-connection result, the file's error message, its events and the
captured logs are searched for the secret (and a secret URL's path)."""

import base64
import json
import logging
import threading
import uuid

import pytest
import sqlalchemy as sa
from werkzeug.wrappers import Response

from tests.support.cloud import make_folder
from tests.support.helpers import configure
from tests.support.ports import TcpServer, free_port
from webapp.batch import discovery, processing, status
from webapp.batch import folder_config as folders
from webapp.errors import CallbatchError
from webapp.extensions import db
from webapp.models import FileEvent, FileProcessingRecord
from webapp.notifications import NOTIFIERS
from webapp.notifications.base import DeliveryError, Message
from webapp.redaction import MASK, redact
from webapp.services import notifications as service

FPR = FileProcessingRecord


def planted(label):
    return f"{label}-{uuid.uuid4().hex}"


class EchoingSmtp(TcpServer):
    """An SMTP server that offers AUTH and refuses every login, repeating the credentials it
    was given in its answer (as a careless server or relay might)."""

    def handle(self, conn):
        conn.settimeout(5)
        threading.Thread(target=self._talk, args=(conn,), daemon=True).start()

    def _talk(self, conn):
        try:
            self._answer(conn)
        except OSError:
            pass  # the client went away

    def _answer(self, conn):
        with conn, conn.makefile("rwb") as f:
            f.write(b"220 echo ESMTP\r\n")
            f.flush()
            for line in f:
                command = line.strip().decode()
                if command.upper().startswith(("EHLO", "HELO")):
                    f.write(b"250-echo\r\n250 AUTH PLAIN\r\n")
                elif command.upper().startswith("AUTH PLAIN"):
                    given = base64.b64decode(command.split()[-1]).replace(b"\0", b" ")
                    f.write(b"535 5.7.8 login refused for " + given + b"\r\n")
                elif command.upper().startswith("QUIT"):
                    f.write(b"221 bye\r\n")
                    f.flush()
                    break
                else:
                    f.write(b"502 not here\r\n")
                f.flush()


@pytest.fixture
def echoing_smtp():
    server = EchoingSmtp()
    yield server
    server.close()


def channel(kind, httpserver, echoing_smtp):
    """(config, [secret strings that must never be stored or logged]) for a failing channel."""
    if kind == "slack":
        token = planted("slacktoken")
        url = f"http://127.0.0.1:{free_port()}/services/T0PLANTED/B0PLANTED/{token}"  # nothing listens
        return {"webhook_url": url}, [url, f"/services/T0PLANTED/B0PLANTED/{token}", token]
    if kind == "webhook":
        secret = planted("signing")
        httpserver.expect_request("/hook").respond_with_response(
            Response(f"signature check failed, expected secret {secret}", status=500)
        )
        return {"url": httpserver.url_for("/hook"), "secret": secret}, [secret]
    if kind == "email":
        password = planted("smtppass")
        return (
            {
                "host": "127.0.0.1",
                "port": echoing_smtp.port,
                "security": "none",
                "username": "ops",
                "password": password,
                "sender": "cb@example.com",
                "recipients": "ops@example.com",
            },
            [password],
        )
    if kind == "sms":
        token = planted("twiliotoken")
        httpserver.expect_request("/2010-04-01/Accounts/AC" + "1" * 32 + "/Messages.json").respond_with_json(
            {"code": 20003, "message": f"Authenticate: the token {token} was refused", "status": 401}, status=401
        )
        return (
            {
                "account_sid": "AC" + "1" * 32,
                "auth_token": token,
                "from_number": "+15005550006",
                "to_numbers": "+972501234567",
            },
            [token],
        )
    if kind == "apprise":
        path = "/" + planted("apprisehook")
        httpserver.expect_request(path).respond_with_data("nope", status=500)
        url = f"json://127.0.0.1:{httpserver.port}{path}"
        return {"url": url}, [url, path]
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["slack", "webhook", "email", "sms", "apprise"])
def test_no_channel_secret_in_delivery_errors_or_logs(
    kind, private_targets, twilio_base, make_config, httpserver, echoing_smtp, caplog
):
    config, secrets = channel(kind, httpserver, echoing_smtp)
    caplog.set_level(logging.DEBUG)
    try:
        NOTIFIERS[kind](config).send(Message(condition="test", title="t", text="x"))
        raw = "sent"
    except DeliveryError as exc:
        raw = str(exc)
    assert raw != "sent"
    if kind != "apprise":  # apprise says less; its secret travels in the request (checked below)
        assert any(s in raw for s in secrets), raw  # the failure really carries the secret

    saved = make_config(kind, config)
    delivery = service.send_test(saved, wait=True)
    assert delivery.status == "failed"
    stored = delivery.error + json.dumps(service.get_delivery(delivery.id), default=str, ensure_ascii=False)
    logged = caplog.text
    for secret in secrets:
        assert secret not in stored, (secret, stored)
        assert secret not in logged, secret
    if kind == "apprise":
        assert any(r[0].path == secrets[1] for r in httpserver.log)  # the secret path was in play
        assert MASK in logged  # apprise logged the URL: masked
    else:
        assert MASK in delivery.error


def storage_case(kind, cloud, gcs_api_stub):
    """(changes that make the folder fail, secrets) for a cloud folder of `kind`."""
    closed = f"http://127.0.0.1:{free_port()}"
    if kind == "s3":
        return {"endpoint_url": closed, "session_token": planted("FwoGZXIvYXdzE")}, list(cloud.secrets)
    if kind == "azure":
        key = base64.b64encode(uuid.uuid4().bytes * 4).decode()
        connection_string = (
            f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={key};"
            f"BlobEndpoint={closed}/devstoreaccount1;"
        )
        return {"connection_string": connection_string}, [key, connection_string]
    from tests.support.cloud import service_account_key

    key = service_account_key(f"{gcs_api_stub.endpoint}/token")  # the stand-in refuses every key
    private = json.loads(key)["private_key"]
    return (
        {"endpoint": gcs_api_stub.endpoint, "credentials_json": key, "anonymous": False},
        [private, private.splitlines()[1]],
    )


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["s3", "azure", "gcs"])
def test_no_storage_secret_in_folder_errors_test_results_file_errors_events_or_logs(
    kind, request, ctx, gcs_api_stub, caplog
):
    configure(scanning={"fileSettleSeconds": 0}, retryPolicy={"maxRetries": 0})
    cloud = request.getfixturevalue(f"{kind}_folder")
    cloud.put("in/" + str(uuid.uuid4()) + ".wav", b"RIFF" + b"\0" * 64)
    folder = make_folder(cloud, prefix="in/")
    assert discovery.scan(folder, trigger="test").queued == 1
    record = db.session.scalars(sa.select(FPR).where(FPR.folder_id == folder.id)).one()

    changes, secrets = storage_case(kind, cloud, gcs_api_stub)
    caplog.set_level(logging.DEBUG)
    failing = {**folder.storage_config, **folders.seal_storage_config(kind, {**cloud.config, **changes})}
    result = folders.test_connection(kind, {**cloud.config, **changes})
    assert result["ok"] is False
    folder.storage_config = failing
    db.session.commit()
    with pytest.raises(CallbatchError):
        discovery.scan(folder, trigger="test")
    processing.process_file(record.id)

    db.session.rollback()
    record = db.session.get(FPR, record.id)
    assert record.status == status.FAILED and record.error_category == "file_access"
    events = db.session.scalars(sa.select(FileEvent).where(FileEvent.file_id == record.id)).all()
    texts = [
        json.dumps(result, ensure_ascii=False),
        folder.last_error,
        record.error_message,
        *(f"{e.message} {json.dumps(e.details, ensure_ascii=False)}" for e in events),
    ]
    stored, logged = "\n".join(t or "" for t in texts), caplog.text
    assert folder.last_error and record.error_message
    for secret in secrets:
        assert secret not in stored, (secret, stored)
        assert secret not in logged, secret


def test_a_status_change_never_stores_a_known_secret(ctx, s3_folder):
    """Whatever text reaches the status machine (an SDK's exception, an unforeseen error's
    repr) is masked: every file error message and event of the file."""
    configure(scanning={"fileSettleSeconds": 0})
    s3_folder.put(str(uuid.uuid4()) + ".wav", b"RIFF")
    folder = make_folder(s3_folder)
    discovery.scan(folder, trigger="test")
    record = db.session.scalars(sa.select(FPR).where(FPR.folder_id == folder.id)).one()
    discovery.storage_for(folder)  # the worker builds the folder's provider: its secrets are known
    secret, key_id = s3_folder.config["secret_access_key"], s3_folder.config["access_key_id"]
    record = status.claim(record.id, "w1", None)
    leak = f"SignatureDoesNotMatch for {key_id} signed with {secret}"
    status.transition(
        record,
        status.FAILED,
        leak,
        {"code": "X", "raw": [leak, {"nested": leak}]},
        error_code="STORAGE_UNAVAILABLE",
        error_category="file_access",
        error_message=leak,
    )
    db.session.commit()
    db.session.expire_all()
    record = db.session.get(FPR, record.id)
    event = db.session.scalars(
        sa.select(FileEvent).where(FileEvent.file_id == record.id, FileEvent.to_status == status.FAILED)
    ).one()
    for text in (record.error_message, event.message, json.dumps(event.details, ensure_ascii=False)):
        assert secret not in text and key_id not in text and MASK in text


def test_a_secret_url_is_masked_by_its_parts():
    from webapp.notifications.slack import SlackNotifier

    token = planted("xoxb")
    url = f"https://hooks.slack.com/services/T0AAA/B0BBB/{token}"
    SlackNotifier({"webhook_url": url})
    for text in (
        f"Max retries exceeded with url: /services/T0AAA/B0BBB/{token} (Caused by ...)",
        f"POST {url} failed",
        f"token {token}",
    ):
        assert token not in redact(text) and MASK in redact(text), text
    assert redact("hooks.slack.com answered HTTP 404") == "hooks.slack.com answered HTTP 404"
