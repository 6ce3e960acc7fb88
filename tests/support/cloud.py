"""Real local stand-ins for the cloud storage services, all on 127.0.0.1:
moto's S3/SQS server (in-process thread), Azurite (the npm package, a node subprocess) and
gcp-storage-emulator (in-process thread). Plus a TCP proxy that can slow, stall or cut a
download, and a small HTTP server speaking the GCS JSON API for paging and error answers.

Each `*_folder` fixture (tests/conftest.py) gives a CloudFolder: a fresh bucket/container, its provider config
(with the credentials in clear, as a person would type them) and put/delete helpers."""

import contextlib
import json
import os
import socket
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from tests.support.env import ROOT
from tests.support.ports import free_port, wait_port

# Nothing may leave the machine: no instance-metadata look-ups, no user-level SDK config.
LOOPBACK_ENV = {
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    "NO_GCE_CHECK": "True",
    "GCE_METADATA_HOST": "127.0.0.1:9",
    "GCE_METADATA_IP": "127.0.0.1:9",
    "GOOGLE_CLOUD_PROJECT": "callbatch-test",
}
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def make_folder(cloud, monitor="polling", max_file_size=None, **changes):
    """Register a folder on a stand-in's bucket or container (`cloud`: one of the *_folder
    fixtures), with `changes` to its storage config and its secrets sealed as the pages do."""
    from webapp.batch import folder_config as folders
    from webapp.extensions import db
    from webapp.models import ExternalFolder

    config = {**cloud.config, **changes}
    data = dict(
        name=f"{cloud.type}-{uuid.uuid4().hex[:6]}",
        storage_type=cloud.type,
        storage_config=config,
        monitor_type=monitor,
        scan_interval=300,
    )
    assert folders.validate(data) == []
    data["storage_config"] = folders.seal_storage_config(cloud.type, config)
    if max_file_size:
        data["max_file_size"] = max_file_size
    folder = ExternalFolder(**data)
    db.session.add(folder)
    db.session.commit()
    return folder


class CloudFolder:
    """One bucket/container of an emulator, as a folder's storage config sees it."""

    def __init__(self, type, config, put, delete, secrets=()):
        self.type, self.config, self._put, self._delete = type, config, put, delete
        self.secrets = [s for s in secrets if s]

    def put(self, key, data):
        self._put(key, data)

    def put_file(self, key, path):
        with open(path, "rb") as f:
            self._put(key, f.read())

    def delete(self, key):
        self._delete(key)

    def upload_calls(self, local_dir, names, prefix=""):
        """Upload recordings and their sidecar transcripts from `local_dir`."""
        for name in names:
            stem = os.path.splitext(name)[0]
            self.put_file(prefix + name, os.path.join(local_dir, name))
            self.put_file(prefix + stem + ".json", os.path.join(local_dir, stem + ".json"))


# -- S3 and SQS: moto ------------------------------------------------------------------------


def moto_reset(endpoint):
    import requests

    requests.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()


def moto_auth(endpoint, on):
    """Turn moto's request authentication on (unknown keys → 403) or off."""
    import requests

    requests.post(f"{endpoint}/moto-api/reset-auth", data=b"0" if on else b"inf", timeout=10).raise_for_status()


def aws_client(service, endpoint, key_id="testing", secret="testing-secret"):
    import boto3

    return boto3.session.Session().client(
        service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key_id, aws_secret_access_key=secret
    )


def s3_bucket(endpoint):
    """A fresh bucket on a moto server emptied first, with keys of its own."""
    moto_reset(endpoint)
    client = aws_client("s3", endpoint)
    bucket = f"calls-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=bucket)
    secret = f"s3-secret-{uuid.uuid4().hex}"
    key_id = f"AKIA{uuid.uuid4().hex[:16].upper()}"
    config = {
        "bucket": bucket,
        "region": "us-east-1",
        "endpoint_url": endpoint,
        "access_key_id": key_id,
        "secret_access_key": secret,
    }
    folder = CloudFolder(
        "s3",
        config,
        lambda key, data: client.put_object(Bucket=bucket, Key=key, Body=data),
        lambda key: client.delete_object(Bucket=bucket, Key=key),
        secrets=[key_id, secret],
    )
    folder.client, folder.endpoint, folder.bucket = client, endpoint, bucket
    return folder


# -- Azure Blob: Azurite ---------------------------------------------------------------------


@contextlib.contextmanager
def azurite_server(workdir):
    """Azurite's blob service on a free port, in memory; yields its account URL."""
    binary = os.path.join(ROOT, "node_modules", ".bin", "azurite-blob")
    if not os.path.exists(binary):
        pytest.fail("Azurite is not installed: run `npm ci` at the repository root (scripts/test does).")
    port = free_port()
    proc = subprocess.Popen(
        [
            binary,
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
            "--inMemoryPersistence",
            "--skipApiVersionCheck",
            "--loose",
            "--silent",
            "--disableTelemetry",
        ],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        wait_port(port, proc=proc)
        yield f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def azurite_connection_string(blob_url, key=AZURITE_KEY):
    return f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={key};BlobEndpoint={blob_url};"


def azure_container(blob_url):
    """A fresh container on Azurite; the caller deletes it (folder.client.delete_container())."""
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient.from_connection_string(azurite_connection_string(blob_url))
    container = f"calls-{uuid.uuid4().hex[:10]}"
    client = service.create_container(container)
    config = {"container": container, "connection_string": azurite_connection_string(blob_url)}
    folder = CloudFolder(
        "azure",
        config,
        lambda key, data: client.upload_blob(key, data, overwrite=True),
        lambda key: client.delete_blob(key),
        secrets=[AZURITE_KEY],
    )
    folder.client, folder.service, folder.blob_url, folder.container = client, service, blob_url, container
    return folder


# -- GCS: gcp-storage-emulator ---------------------------------------------------------------


def gcs_server():
    """gcp-storage-emulator on a free port, in memory and started; its URL is `server.endpoint`."""
    from gcp_storage_emulator.server import create_server

    port = free_port()
    server = create_server("127.0.0.1", port, in_memory=True)
    server.start()
    server.endpoint = f"http://127.0.0.1:{port}"
    return server


def gcs_bucket(emulator):
    """A fresh bucket on the emulator, wiped first, reached anonymously."""
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    emulator.wipe()
    client = storage.Client(
        project="callbatch-test",
        credentials=AnonymousCredentials(),
        client_options=ClientOptions(api_endpoint=emulator.endpoint),
    )
    bucket = client.create_bucket(f"calls-{uuid.uuid4().hex[:10]}")
    config = {"bucket": bucket.name, "endpoint": emulator.endpoint, "anonymous": True, "project": "callbatch-test"}
    folder = CloudFolder(
        "gcs",
        config,
        lambda key, data: bucket.blob(key).upload_from_string(data),
        lambda key: bucket.blob(key).delete(),
    )
    folder.client, folder.bucket, folder.endpoint = client, bucket, emulator.endpoint
    return folder


def service_account_key(token_uri):
    """A service account key of its own (a fresh RSA key) whose tokens are asked of `token_uri`."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
    )
    return json.dumps(
        {
            "type": "service_account",
            "project_id": "callbatch-test",
            "private_key_id": "k1",
            "private_key": pem,
            "client_email": "reader@callbatch-test.iam.gserviceaccount.com",
            "client_id": "1",
            "token_uri": token_uri,
        }
    )


# -- A local HTTP server speaking the GCS JSON API -------------------------------------------


class GcsApiStub:
    """Answers GET /storage/v1/b/<bucket>/o from pages given by the test, in the real JSON API
    format (items + nextPageToken), or with an error status; records each request."""

    def __init__(self):
        self.pages = {}  # page token ('' for the first) → (items, next token)
        self.error = None  # (status, reason) to answer every request with
        self.requests = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                stub.requests.append((url.path, query))
                if stub.error:
                    status, reason = stub.error
                    return self._json(
                        status,
                        {
                            "error": {
                                "code": status,
                                "message": reason,
                                "errors": [{"reason": reason, "message": reason}],
                            }
                        },
                    )
                if not url.path.endswith("/o"):
                    return self._json(404, {"error": {"code": 404, "message": "Not Found"}})
                items, next_token = stub.pages.get(query.get("pageToken", ""), ([], None))
                body = {"kind": "storage#objects", "items": items}
                if next_token:
                    body["nextPageToken"] = next_token
                return self._json(200, body)

            def do_POST(self):  # an OAuth token endpoint that refuses every key
                stub.requests.append((self.path, {}))
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                return self._json(400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."})

            def _json(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# -- A TCP proxy that misbehaves on request -------------------------------------------------


class Proxy:
    """Relays 127.0.0.1:port ↔ upstream. For requests of audio objects (GET of a key ending
    in one of `audio_suffixes`) it can `cut` the response after a few bytes, `stall` after
    them, or pace it (`delay` seconds per 1 KB). Counts the audio downloads in flight."""

    def __init__(self, upstream_port, audio_suffixes=(".wav",)):
        self.upstream_port = upstream_port
        self.audio_suffixes = tuple(s.encode() for s in audio_suffixes)
        self.mode = None  # None | "cut" | "stall"
        self.delay = 0.0
        self.keep_bytes = 2048
        self.in_flight = 0
        self.max_in_flight = 0
        self.audio_requests = 0
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.closing = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closing.is_set():
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client):
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        state = {"audio": False, "sent": 0, "counted": False}

        def upward():
            try:
                while data := client.recv(65536):
                    first_line = data.split(b"\r\n", 1)[0]
                    if first_line.startswith(b"GET "):
                        path = first_line.split(b" ")[1].split(b"?")[0]
                        is_audio = path.endswith(self.audio_suffixes)
                        with self.lock:
                            if state["counted"]:
                                self.in_flight -= 1
                                state["counted"] = False
                            if is_audio:
                                self.audio_requests += 1
                                self.in_flight += 1
                                self.max_in_flight = max(self.max_in_flight, self.in_flight)
                                state["counted"] = True
                        state["audio"], state["sent"] = is_audio, 0
                    upstream.sendall(data)
            except OSError:
                pass
            finally:
                _close(upstream)

        threading.Thread(target=upward, daemon=True).start()
        try:
            while data := upstream.recv(1024):
                if state["audio"] and self.mode and state["sent"] + len(data) > self.keep_bytes:
                    client.sendall(data[: max(0, self.keep_bytes - state["sent"])])
                    if self.mode == "stall":
                        self.closing.wait(120)
                    break  # "cut": the connection drops mid-body
                if state["audio"] and self.delay:
                    time.sleep(self.delay)
                client.sendall(data)
                state["sent"] += len(data)
        except OSError:
            pass
        finally:
            with self.lock:
                if state["counted"]:
                    self.in_flight -= 1
                    state["counted"] = False
            _close(client)
            _close(upstream)

    def close(self):
        self.closing.set()
        _close(self.sock)


def _close(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
