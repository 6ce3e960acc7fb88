"""Cloud folders through the whole pipeline with a real worker process: upload recordings and
sidecars to the emulator, scan, process, complete; bad objects get their codes; credentials
stay encrypted and out of every response and log. Plus the download bounds: slots per
folder, a timeout, and a connection cut mid-download (a file_access failure, retried)."""

import logging
import threading
import time

import pytest
import sqlalchemy as sa

from tests.support.cloud import make_folder
from tests.support.helpers import configure, wait_for
from tests.support.recordings import name, write_calls
from webapp import crypto
from webapp.batch import discovery, downloads, status
from webapp.batch import folder_config as folders
from webapp.errors import CallbatchError
from webapp.extensions import db
from webapp.models import ExternalFolder, FileEvent, FileProcessingRecord, SalesCall

pytestmark = pytest.mark.slow
FPR = FileProcessingRecord
MB = 1024 * 1024


def records():
    db.session.rollback()
    return {r.file_name: r for r in db.session.scalars(sa.select(FPR))}


def test_a_cloud_folder_is_scanned_and_processed_end_to_end(ctx, cloud_folder, workers, tmp_path, caplog):
    configure(
        scanning={"fileSettleSeconds": 0, "maxFileSize": 1 * MB},
        retryPolicy={"delaySeconds": 1, "maxRetries": 0, "exponentialBackoff": False},
    )
    caplog.set_level(logging.DEBUG)
    calls = write_calls(tmp_path, 3)
    cloud_folder.upload_calls(tmp_path, calls, prefix="in/")
    copy = name("wav")  # the same recording under another name: a duplicate by the service's checksum
    cloud_folder.put_file("in/" + copy, tmp_path / calls[0])
    cloud_folder.put_file("in/" + copy.replace(".wav", ".json"), tmp_path / calls[0].replace(".wav", ".json"))
    empty, big, gone = name("mp3"), name("wav"), name("wav")
    cloud_folder.put("in/" + empty, b"")
    cloud_folder.put("in/" + big, b"\0" * (MB + 1))
    cloud_folder.put("in/" + gone, (tmp_path / calls[1]).read_bytes()[:-10])
    cloud_folder.put("elsewhere/" + name("wav"), b"not this folder's")

    folder = make_folder(cloud_folder, prefix="in/", max_file_size=MB)
    shown = folders.shown_storage_config(folder)
    for secret in cloud_folder.secrets:
        assert secret not in str(shown) and secret not in str(folder.storage_config)
    assert folders.test_connection(folder.storage_type, shown, previous=folder.storage_config)["ok"] is True

    result = discovery.scan(folder, trigger="test")
    assert (result.queued, result.skipped) == (5, 2)
    cloud_folder.delete("in/" + gone)  # deleted between the listing and the download
    procs = workers(1)
    wait_for(
        lambda: all(r.status in status.TERMINAL for r in records().values()), timeout=90, message="every file finished"
    )

    by_name = records()
    assert {n: by_name[n].status for n in calls[1:]} == dict.fromkeys(calls[1:], status.COMPLETED)
    pair = sorted((by_name[calls[0]], by_name[copy]), key=lambda r: r.status)  # whichever came first is filed
    assert [r.status for r in pair] == [status.COMPLETED, status.SKIPPED]
    assert (by_name[empty].status, by_name[empty].error_code) == (status.SKIPPED, "CORRUPTED_FILE")
    assert (by_name[big].status, by_name[big].error_code) == (status.SKIPPED, "FILE_TOO_LARGE")
    assert (by_name[gone].status, by_name[gone].error_code) == (status.FAILED, "FILE_NOT_FOUND")
    assert by_name[gone].error_category == "file_access"
    original, duplicate = pair
    assert duplicate.error_code == "DUPLICATE_FILE"
    skip_event = db.session.scalars(
        sa.select(FileEvent).where(FileEvent.file_id == duplicate.id, FileEvent.to_status == status.SKIPPED)
    ).one()
    assert skip_event.details["by"] == "checksum"  # found before downloading
    assert original.source_checksum == duplicate.source_checksum
    transcripts = db.session.scalars(sa.select(SalesCall.transcript)).all()
    assert len(transcripts) == 3 and all("שלום" in t for t in transcripts)  # the sidecars came along

    for proc in procs:
        proc.terminate()
        proc.wait(10)
    worker_log = "".join(p.read_text("utf-8", "replace") for p in tmp_path.glob("worker-*.log"))
    stored = db.session.execute(sa.text("SELECT storage_config::text FROM external_folders")).scalar()
    messages = " ".join(e.message or "" for e in db.session.scalars(sa.select(FileEvent)))
    errors = " ".join(r.error_message or "" for r in by_name.values())
    for secret in cloud_folder.secrets:
        for where, text in {
            "database": stored,
            "events": messages,
            "errors": errors,
            "worker log": worker_log,
            "app log": caplog.text,
        }.items():
            assert secret not in text, f"a credential appears in the {where}"
    if cloud_folder.secrets:
        assert crypto.PREFIX in stored


def test_a_connection_cut_mid_download_is_a_file_access_failure_and_is_retried(
    ctx, s3_folder, proxy_factory, workers, tmp_path
):
    configure(
        scanning={"fileSettleSeconds": 0, "maxFileSize": 1 * MB},
        retryPolicy={"delaySeconds": 1, "maxRetries": 2, "exponentialBackoff": False},
    )
    proxy = proxy_factory(int(s3_folder.endpoint.rsplit(":", 1)[1]))
    proxy.mode = "cut"
    calls = write_calls(tmp_path, 1)
    s3_folder.upload_calls(tmp_path, calls)
    folder = make_folder(s3_folder, endpoint_url=f"http://127.0.0.1:{proxy.port}", max_file_size=MB)
    assert discovery.scan(folder, trigger="test").queued == 1
    workers(1)
    record_id = records()[calls[0]].id

    def failed_event():
        db.session.rollback()
        return db.session.scalars(
            sa.select(FileEvent).where(FileEvent.file_id == record_id, FileEvent.to_status == status.FAILED)
        ).first()

    event = wait_for(failed_event, timeout=60, message="the cut download to fail")
    proxy.mode = None
    assert event.details["category"] == "file_access" and event.details["code"] == "STORAGE_UNAVAILABLE"
    wait_for(lambda: records()[calls[0]].status == status.COMPLETED, timeout=60, message="the retry to complete")
    assert records()[calls[0]].retry_count >= 1


def test_downloads_of_a_folder_are_bounded_and_time_out(ctx, s3_folder, proxy_factory, tmp_path):
    app = ctx
    proxy = proxy_factory(int(s3_folder.endpoint.rsplit(":", 1)[1]))
    proxy.delay = 0.02  # per KB: a 16 KB recording takes about 0.3 s
    keys = write_calls(tmp_path, 6)
    s3_folder.upload_calls(tmp_path, keys)

    def download_all(limit):
        folder_id = make_folder(
            s3_folder, endpoint_url=f"http://127.0.0.1:{proxy.port}", max_downloads=limit, max_file_size=MB
        ).id
        proxy.max_in_flight = 0
        errors = []

        def one(key):
            with app.app_context():
                try:
                    folder = db.session.get(ExternalFolder, folder_id)
                    with downloads.fetch(folder, discovery.storage_for(folder), key) as local_path:
                        assert local_path.endswith(key)
                except Exception as err:  # reported below
                    errors.append(err)

        threads = [threading.Thread(target=one, args=(key,)) for key in keys]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not errors, errors
        return proxy.max_in_flight, time.perf_counter() - started

    bounded, bounded_seconds = download_all(2)
    free, free_seconds = download_all(6)
    print(
        f"\n6 paced downloads: {bounded_seconds:.2f} s with 2 slots (max {bounded} at once), "
        f"{free_seconds:.2f} s with 6 slots (max {free} at once)"
    )
    assert bounded == 2
    assert free > 2

    proxy.mode, proxy.delay = "stall", 0
    folder = make_folder(s3_folder, endpoint_url=f"http://127.0.0.1:{proxy.port}", max_file_size=MB)
    storage = discovery.storage_for(folder)
    storage.transfer.timeout = 2  # the form allows 10 s at least; a test waits less
    storage._client = None
    started = time.perf_counter()
    with pytest.raises(CallbatchError) as caught:
        with downloads.fetch(folder, storage, keys[0]):
            pass
    assert caught.value.code == "STORAGE_UNAVAILABLE" and "timed out" in caught.value.message
    assert time.perf_counter() - started < 10
