"""Helpers for scripts that tests run inside a loopback-only network namespace (see the
`netns` fixture, tests/support/netns.py): listeners that count who reached them, a DNS server
whose answer changes between look-ups, and the app on SQLite (no PostgreSQL or Redis there)."""

import json
import os
import socket
import struct
import threading

from tests.support.ports import TcpServer


class Listener(TcpServer):
    """Accepts TCP connections on (host, port), counts them and answers each with one HTTP
    response: 200, or a redirect to `redirect`."""

    def __init__(self, host="127.0.0.1", port=0, redirect=None):
        self.redirect = redirect
        self.heard = 0
        self.received = []  # the first bytes of each connection
        super().__init__(host, port)

    def handle(self, conn):
        self.heard += 1
        conn.settimeout(2)
        try:
            self.received.append(conn.recv(65536)[:200].decode("latin-1"))
            if self.redirect:
                head = f"HTTP/1.1 302 Found\r\nLocation: {self.redirect}\r\nContent-Length: 0\r\n"
            else:
                head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
            conn.sendall((head + "Connection: close\r\n\r\n" + ("" if self.redirect else "{}")).encode())
        except OSError:
            pass
        finally:
            conn.close()


class Dns:
    """A DNS server on 127.0.0.1:53 (the namespace's resolv.conf points there). `answers`:
    name → the IPv4 addresses given to its successive A queries (the last one repeats).
    AAAA queries get no address; unknown names get NXDOMAIN."""

    def __init__(self, answers):
        self.answers = {k.lower().rstrip("."): list(v) for k, v in answers.items()}
        self.asked = {k: 0 for k in self.answers}
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 53))
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            data, peer = self.sock.recvfrom(512)
            try:
                self.sock.sendto(self._answer(data), peer)
            except (IndexError, struct.error):
                continue

    def _answer(self, query):
        labels, at = [], 12
        while query[at]:
            labels.append(query[at + 1 : at + 1 + query[at]].decode())
            at += 1 + query[at]
        qtype = struct.unpack("!H", query[at + 1 : at + 3])[0]
        question = query[12 : at + 5]
        name = ".".join(labels).lower()
        header = query[:2]
        if name not in self.answers:
            return header + struct.pack("!HHHHH", 0x8183, 1, 0, 0, 0) + question
        if qtype != 1:  # AAAA and the rest: the name exists, without such records
            return header + struct.pack("!HHHHH", 0x8180, 1, 0, 0, 0) + question
        given = self.answers[name]
        address = given[min(self.asked[name], len(given) - 1)]
        self.asked[name] += 1
        record = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 0, 4) + socket.inet_aton(address)
        return header + struct.pack("!HHHHH", 0x8180, 1, 1, 0, 0) + question + record


def app(**config):
    """The app on a SQLite file with its tables, inside an app context, private targets off."""
    from webapp import create_app
    from webapp.extensions import db

    path = os.path.join(os.environ["INSTANCE_PATH"], "probe.sqlite3")
    application = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
            "SQLALCHEMY_ENGINE_OPTIONS": {},
            "ALLOW_PRIVATE_TARGETS": False,
            "NOTIFY_TIMEOUT_SECONDS": 3,
            **config,
        }
    )
    context = application.app_context()
    context.push()
    db.create_all()
    return application


def message():
    from webapp.notifications.base import Message

    return Message(
        condition="file_failed",
        title="Callbatch probe",
        text="A probe message.",
        links=[["Open", "http://localhost:5000/"]],
    )


def outcome(action):
    """'sent', or the error's class and sentence."""
    try:
        action()
    except Exception as exc:  # the probe reports every failure, whatever its type
        return f"{type(exc).__name__}: {getattr(exc, 'message', None) or exc}"
    return "sent"


def report(**values):
    print(json.dumps(values))
