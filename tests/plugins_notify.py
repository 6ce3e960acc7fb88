"""Fixtures for notification tests: an SMTP stand-in (aiosmtpd), HTTP stand-ins on loopback
(pytest-httpserver), and channel configs made through the service layer."""

import email
import email.policy
import socket
import threading

import pytest
from aiosmtpd.controller import Controller


@pytest.fixture(scope="session")
def httpserver_listen_address():
    return ("127.0.0.1", 0)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """aiosmtpd handler keeping every message, parsed as a modern EmailMessage."""

    def __init__(self):
        self.messages = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.arrived:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
            self.arrived.notify_all()
        return "250 OK"


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.port = controller.port
    yield inbox
    controller.stop()


@pytest.fixture
def private_targets(app, monkeypatch):
    """Let notifications reach the loopback stand-ins, here and in worker processes started later."""
    monkeypatch.setitem(app.config, "ALLOW_PRIVATE_TARGETS", True)
    monkeypatch.setitem(app.config, "NOTIFY_RETRY_DELAYS", [1, 1])
    monkeypatch.setenv("CALLBATCH_ALLOW_PRIVATE_TARGETS", "1")
    monkeypatch.setenv("CALLBATCH_NOTIFY_RETRY_DELAYS", "1,1")


@pytest.fixture
def twilio_base(app, httpserver, monkeypatch):
    base = httpserver.url_for("/").rstrip("/")
    monkeypatch.setitem(app.config, "TWILIO_API_BASE", base)
    monkeypatch.setenv("CALLBATCH_TWILIO_API_BASE", base)
    return base


@pytest.fixture
def make_config(ctx):
    from webapp.services import notifications as service

    def make(type, config, conditions=("file_failed",), **fields):
        saved, errors = service.create_config(
            {
                "name": fields.pop("name", f"{type} channel"),
                "type": type,
                "config": config,
                "conditions": list(conditions),
                **fields,
            },
            actor="test",
        )
        assert not errors, errors
        return saved

    return make
