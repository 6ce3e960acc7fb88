"""The S3, Azure Blob and GCS providers against real local emulators: listing with paging,
downloads to a temporary directory that is always removed, Test connection telling bad
credentials, a missing bucket, access denied and network errors apart, and no secret in
any message or log line."""

import base64
import hashlib
import json
import logging
import os
import time
from datetime import datetime, timezone

import pytest

from tests.support.cloud import (
    AZURITE_ACCOUNT,
    AZURITE_KEY,
    aws_client,
    azurite_connection_string,
    moto_auth,
    service_account_key,
)
from webapp.errors import CallbatchError
from webapp.providers.storage import STORAGE

CLOSED = "http://127.0.0.1:9"  # the discard port: nothing listens there


@pytest.fixture(autouse=True)
def loopback_stand_ins(monkeypatch):
    """The emulators listen on 127.0.0.1, which the outbound guard refuses unless allowed; these
    tests call the providers outside an app, where the guard reads the environment."""
    monkeypatch.setenv("CALLBATCH_ALLOW_PRIVATE_TARGETS", "1")


def provider(folder, **changes):
    return STORAGE[folder.type]({**folder.config, **changes})


def failure(storage):
    with pytest.raises(CallbatchError) as caught:
        storage.test_connection()
    return caught.value


# -- listing and downloading -----------------------------------------------------------------


def test_listing_gives_size_time_and_checksum_and_companions_come_from_the_bucket(cloud_folder):
    audio = os.urandom(3000)
    cloud_folder.put("calls/a1.wav", audio)
    cloud_folder.put("calls/a1.json", b'{"segments": []}')
    cloud_folder.put("calls/sub/a2.wav", b"x" * 10)
    cloud_folder.put("other/a3.wav", b"y")
    storage = provider(cloud_folder, prefix="calls")

    listing = {f.path: f for f in storage.list_files()}
    assert set(listing) == {"calls/a1.wav", "calls/a1.json", "calls/sub/a2.wav"}
    first = listing["calls/a1.wav"]
    assert first.size == 3000 and first.name == "a1.wav"
    assert abs((datetime.now(timezone.utc) - first.modified).total_seconds()) < 120
    assert first.checksum == "md5:" + hashlib.md5(audio).hexdigest()
    assert {f.path for f in storage.list_files("sub/")} == {"calls/sub/a2.wav"}

    with storage.download_file("calls/a1.wav") as local_path:
        directory = os.path.dirname(local_path)
        assert open(local_path, "rb").read() == audio
        assert os.listdir(directory) == ["a1.wav"]  # companions are asked for, not downloaded beside it
    assert not os.path.exists(directory)
    companions = storage.companions_for("calls/a1.wav")
    assert companions.read("a1.json") == b'{"segments": []}'
    assert companions.read("a1.txt") is None and companions.read("manifest.csv") is None


def test_the_temporary_directory_goes_even_when_the_analysis_fails(cloud_folder):
    cloud_folder.put("a.wav", b"abc")
    with pytest.raises(RuntimeError):
        with provider(cloud_folder).download_file("a.wav") as local_path:
            raise RuntimeError("analysis broke")
    assert not os.path.exists(os.path.dirname(local_path))


def test_an_object_deleted_after_listing_is_file_not_found(cloud_folder):
    cloud_folder.put("gone.wav", b"abc")
    storage = provider(cloud_folder)
    assert [f.path for f in storage.list_files()] == ["gone.wav"]
    cloud_folder.delete("gone.wav")
    with pytest.raises(CallbatchError) as caught:
        with storage.download_file("gone.wav"):
            pass
    assert caught.value.code == "FILE_NOT_FOUND" and caught.value.category == "file_access"
    assert storage.stat("gone.wav") is None


def test_an_empty_prefix_connects_and_says_it_is_empty(cloud_folder):
    report = provider(cloud_folder, prefix="nothing-here/").test_connection()
    assert report["empty"] is True and "no objects" in report["message"] or "no blobs" in report["message"]
    assert list(provider(cloud_folder, prefix="nothing-here/").list_files()) == []


def test_s3_lists_2500_objects_across_pages(s3_folder):
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    for n in range(2500):  # seeded in moto's store: 2,500 uploads over HTTP would take ~20 s
        backend.put_object(s3_folder.bucket, f"bulk/{n:05d}.wav", b"r")
    storage = provider(s3_folder, prefix="bulk/")
    started = time.perf_counter()
    paths = [f.path for f in storage.list_files()]
    elapsed = time.perf_counter() - started
    assert len(paths) == 2500 == len(set(paths))
    assert storage.pages_read == 3  # 1000 + 1000 + 500, S3's own page size
    print(f"\nS3 listing of 2,500 objects: {elapsed:.2f} s in {storage.pages_read} pages")


def test_azure_lists_across_pages(azure_folder):
    for n in range(23):
        azure_folder.put(f"p/{n:02d}.wav", b"r")
    storage = provider(azure_folder)
    storage.page_size = 5
    assert len(list(storage.list_files())) == 23
    assert storage.pages_read == 5


def test_gcs_paging_follows_next_page_token(gcs_api_stub):
    """gcp-storage-emulator answers everything in one page, so the paging code runs against a
    local server answering two pages in the GCS JSON API's own format."""

    def item(name, size, data):
        return {
            "kind": "storage#object",
            "bucket": "calls",
            "name": name,
            "size": str(size),
            "updated": "2026-11-20T08:30:00.000Z",
            "storageClass": "STANDARD",
            "md5Hash": base64.b64encode(hashlib.md5(data).digest()).decode(),
            "crc32c": "AAAAAA==",
        }

    gcs_api_stub.pages = {
        "": ([item(f"c/{n}.wav", n + 1, b"a") for n in range(3)], "page-two"),
        "page-two": ([item("c/3.wav", 4, b"b"), item("c/dir/", 0, b"")], None),
    }
    storage = STORAGE["gcs"]({"bucket": "calls", "prefix": "c", "endpoint": gcs_api_stub.endpoint, "anonymous": True})
    storage.page_size = 3
    listing = list(storage.list_files())
    assert [f.path for f in listing] == ["c/0.wav", "c/1.wav", "c/2.wav", "c/3.wav"]  # the folder marker is left out
    assert listing[3].checksum == "md5:" + hashlib.md5(b"b").hexdigest()
    assert listing[0].modified == datetime(2026, 11, 20, 8, 30, tzinfo=timezone.utc)
    queries = [q for path, q in gcs_api_stub.requests if path == "/storage/v1/b/calls/o"]
    assert [q.get("pageToken") for q in queries] == [None, "page-two"]
    assert all(q["maxResults"] == "3" and q["prefix"] == "c/" for q in queries)
    assert storage.pages_read == 2


# -- Test connection -------------------------------------------------------------------------


def test_s3_connection_errors_are_told_apart(s3_folder):
    assert failure(provider(s3_folder, bucket="no-such-bucket-here")).code == "BUCKET_NOT_FOUND"
    unreachable = failure(provider(s3_folder, endpoint_url=CLOSED))
    assert unreachable.code == "STORAGE_UNAVAILABLE" and unreachable.category == "file_access"

    iam = aws_client("iam", s3_folder.endpoint)
    iam.create_user(UserName="reader")
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    iam.put_user_policy(
        UserName="reader",
        PolicyName="queues-only",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]}
        ),
    )
    moto_auth(s3_folder.endpoint, True)
    try:
        unknown = failure(provider(s3_folder))  # the fixture's key is in no IAM user
        wrong_secret = failure(provider(s3_folder, access_key_id=key["AccessKeyId"], secret_access_key="wrong" * 8))
        denied = failure(
            provider(s3_folder, access_key_id=key["AccessKeyId"], secret_access_key=key["SecretAccessKey"])
        )
    finally:
        moto_auth(s3_folder.endpoint, False)
    assert unknown.code == wrong_secret.code == "INVALID_CREDENTIALS"
    assert denied.code == "ACCESS_DENIED" and "ListBucket" in denied.message
    for err in (unknown, wrong_secret, denied):
        assert key["SecretAccessKey"] not in err.message and s3_folder.config["secret_access_key"] not in err.message


def test_azure_connection_errors_are_told_apart(azure_folder):
    from datetime import timedelta

    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    assert failure(provider(azure_folder, container="no-such-container")).code == "BUCKET_NOT_FOUND"
    wrong_key = base64.b64encode(b"k" * 64).decode()
    bad = failure(provider(azure_folder, connection_string=azurite_connection_string(azure_folder.blob_url, wrong_key)))
    assert bad.code == "INVALID_CREDENTIALS"
    bad_key = failure(
        STORAGE["azure"](
            {"container": azure_folder.container, "account_url": azure_folder.blob_url, "account_key": wrong_key}
        )
    )
    assert bad_key.code == "INVALID_CREDENTIALS"
    read_only = generate_container_sas(
        AZURITE_ACCOUNT,
        azure_folder.container,
        account_key=AZURITE_KEY,
        permission=ContainerSasPermissions(read=True),
        expiry=datetime.now(timezone.utc) + timedelta(hours=1),
    )
    denied = failure(
        STORAGE["azure"](
            {"container": azure_folder.container, "account_url": azure_folder.blob_url, "sas_token": read_only}
        )
    )
    assert denied.code == "ACCESS_DENIED" and "List" in denied.message
    unreachable = failure(
        provider(azure_folder, connection_string=azurite_connection_string(f"{CLOSED}/{AZURITE_ACCOUNT}"))
    )
    assert unreachable.code == "STORAGE_UNAVAILABLE"
    for err in (bad, bad_key, denied, unreachable):
        assert AZURITE_KEY not in err.message and wrong_key not in err.message and read_only not in err.message


def test_gcs_connection_errors_are_told_apart(gcs_folder, gcs_api_stub):
    assert failure(provider(gcs_folder, bucket="no-such-bucket-here")).code == "BUCKET_NOT_FOUND"
    assert failure(provider(gcs_folder, endpoint=CLOSED)).code == "STORAGE_UNAVAILABLE"
    # The emulator checks no credentials: a key refused by a (local) token endpoint, and a 403
    # from a local server in the JSON API's format, stand in for Google's answers.
    key = service_account_key(f"{gcs_api_stub.endpoint}/token")
    refused = failure(STORAGE["gcs"]({"bucket": "calls", "endpoint": gcs_api_stub.endpoint, "credentials_json": key}))
    assert refused.code == "INVALID_CREDENTIALS"
    assert ("/token", {}) in gcs_api_stub.requests
    gcs_api_stub.error = (403, "forbidden")
    denied = failure(STORAGE["gcs"]({"bucket": "calls", "endpoint": gcs_api_stub.endpoint, "anonymous": True}))
    assert denied.code == "ACCESS_DENIED"
    gcs_api_stub.error = (401, "required")
    assert (
        failure(STORAGE["gcs"]({"bucket": "calls", "endpoint": gcs_api_stub.endpoint, "anonymous": True})).code
        == "INVALID_CREDENTIALS"
    )
    private = json.loads(key)["private_key"]
    for err in (refused, denied):
        assert private not in err.message and "BEGIN PRIVATE KEY" not in err.message


# -- configuration ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "storage_type, config, expected",
    [
        ("s3", {}, "Bucket: enter"),
        ("s3", {"bucket": "Bad_Bucket"}, "not a valid bucket name"),
        ("s3", {"bucket": "calls", "access_key_id": "AKIA1"}, "both the access key ID and the secret"),
        ("s3", {"bucket": "calls", "endpoint_url": "minio:9000"}, "http:// or https://"),
        ("s3", {"bucket": "calls", "max_downloads": 0}, "Downloads at once"),
        ("azure", {"container": "calls"}, "enter a connection string"),
        ("azure", {"container": "calls", "connection_string": "nonsense"}, "paste the whole connection string"),
        ("azure", {"container": "calls", "account_url": "https://a.blob.core.windows.net"}, "account key or a SAS"),
        ("gcs", {"bucket": "calls", "credentials_json": "{not json"}, "paste the whole JSON key file"),
        ("gcs", {"bucket": "calls", "credentials_json": '{"type": "authorized_user"}'}, "not a service-account key"),
        ("gcs", {"bucket": "calls", "download_timeout": "soon"}, "Download timeout"),
    ],
)
def test_validate_config_explains_what_is_wrong(storage_type, config, expected):
    messages = STORAGE[storage_type].validate_config(config)
    assert any(expected in m for m in messages), messages


@pytest.mark.parametrize(
    "storage_type, config",
    [
        ("s3", {"bucket": "calls"}),
        ("s3", {"bucket": "calls", "access_key_id": "AKIA1", "secret_access_key": "s", "queue_url": "https://q"}),
        ("azure", {"container": "calls", "connection_string": azurite_connection_string("http://127.0.0.1:1/x")}),
        ("azure", {"container": "calls", "account_url": "https://a.blob.core.windows.net", "sas_token": "sv=1&sig=2"}),
        ("gcs", {"bucket": "calls"}),
        ("gcs", {"bucket": "calls", "anonymous": True, "endpoint": "http://127.0.0.1:1"}),
    ],
)
def test_validate_config_accepts_good_configs(storage_type, config):
    assert STORAGE[storage_type].validate_config(config) == []
    assert all(isinstance(m, str) for m in STORAGE[storage_type].validate_config({"bad": object()}))


def test_every_cloud_provider_declares_its_secrets():
    for storage_type, secrets in {
        "s3": {"access_key_id", "secret_access_key", "session_token"},
        "azure": {"connection_string", "account_key", "sas_token"},
        "gcs": {"credentials_json"},
    }.items():
        provider_class = STORAGE[storage_type]
        assert provider_class.type == storage_type and provider_class.label
        assert {f.name for f in provider_class.fields if f.kind == "secret"} == secrets


# -- no secret in any log line ---------------------------------------------------------------


def test_no_secret_reaches_the_logs_even_at_debug_level(s3_folder, azure_folder, caplog):
    from datetime import timedelta

    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    sas = generate_container_sas(
        AZURITE_ACCOUNT,
        azure_folder.container,
        account_key=AZURITE_KEY,
        permission=ContainerSasPermissions(read=True, list=True),
        expiry=datetime.now(timezone.utc) + timedelta(hours=1),
    )
    token = "FwoGZXIvYXdzE" + "t" * 40
    s3_folder.put("a.wav", b"abc")
    azure_folder.put("a.wav", b"abc")
    caplog.set_level(logging.DEBUG)
    s3 = provider(s3_folder, session_token=token)
    azure = STORAGE["azure"](
        {"container": azure_folder.container, "account_url": azure_folder.blob_url, "sas_token": sas}
    )
    for storage in (s3, azure):
        storage.test_connection()
        list(storage.list_files())
        with storage.download_file("a.wav"):
            pass
    failure(provider(s3_folder, endpoint_url=CLOSED, session_token=token))
    logged = caplog.text
    assert len(caplog.records) > 20  # the SDKs did log their requests
    signature = dict(part.split("=", 1) for part in sas.split("&"))["sig"]
    for secret in (s3_folder.config["secret_access_key"], token, signature, sas, AZURITE_KEY):
        assert secret not in logged
