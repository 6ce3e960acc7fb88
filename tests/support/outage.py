"""A database outage for worker processes: a TCP proxy to PostgreSQL that can end every
connection through it and refuse new ones."""

import socket
import threading

import psycopg

from tests.support.env import PG_ADMIN


class Outage:
    """Worker processes connect through `url(database_url)`. `cut()` ends their connections
    the way a database restart does (PostgreSQL terminates the backends, which answer
    `AdminShutdown`, and the sockets close) and refuses new ones until `restore()`."""

    def __init__(self, target=("127.0.0.1", 5432)):
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.application_name = f"callbatch-outage-{self.port}"
        self.up = threading.Event()
        self.up.set()
        self.sockets = []
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, database_url):
        host = f"{self.target[0]}:{self.target[1]}"
        return database_url.replace(host, f"127.0.0.1:{self.port}") + f"?application_name={self.application_name}"

    def _accept(self):
        while True:
            client, _ = self.listener.accept()
            if not self.up.is_set():
                client.close()
                continue
            server = socket.create_connection(self.target)
            self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self):
        self.up.clear()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                (self.application_name,),
            )
        for s in self.sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.sockets = []

    def restore(self):
        self.up.set()
