"""The app factory builds an app without reaching any service: PostgreSQL and Redis are first
contacted by the work that needs them, so a web or worker process starts (and reports
itself unready on /readyz) while its database or Redis is down."""

import socket
import threading

import pytest
from redis.exceptions import RedisError
from sqlalchemy.exc import OperationalError


@pytest.fixture
def listener():
    """A TCP port that records every connection made to it (and closes it at once)."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    contacts, stop = [], threading.Event()

    def accept():
        while not stop.is_set():
            try:
                conn, _address = server.accept()
            except OSError:
                continue
            contacts.append(conn.getsockname())
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], contacts
    stop.set()
    thread.join(5)
    server.close()


def test_create_app_contacts_neither_database_nor_redis(listener, monkeypatch, tmp_path):
    from webapp import create_app, queues
    from webapp.extensions import db

    port, contacts = listener
    monkeypatch.setenv("DATABASE_URL", f"postgresql+psycopg://callbatch@127.0.0.1:{port}/callbatch?connect_timeout=2")
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{port}/0")
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))

    app = create_app()

    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith(f":{port}/callbatch?connect_timeout=2")
    assert not app.config["EMBEDDED"]
    assert "worker" in app.cli.commands and app.url_map.bind("localhost").match("/healthz")
    assert contacts == []
    # The URLs do lead to the listener: the first real use of each is seen there.
    with app.app_context():
        with pytest.raises(OperationalError):
            with db.engine.connect():
                pass
        with pytest.raises(RedisError):
            queues.connection().ping()
    assert len(contacts) >= 2
