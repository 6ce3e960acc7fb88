"""Attacks on what Callbatch reads from a folder, made for real on disk: links to /etc/passwd
and to the instance's secret key beside real recordings, recordings linked out of the folder,
link loops, dangling links, directories and FIFOs named like recordings, file names that are
not UTF-8, folder roots that are system directories or hold the app's own secrets, and a
root swapped for a link after the folder was saved."""

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import threading

import pytest
import sqlalchemy as sa

from tests.support.env import ROOT
from tests.support.helpers import configure, run_json
from tests.support.recordings import name, write_call, write_wav

PASSWD = "/etc/passwd"


def stem(file_name):
    return os.path.splitext(file_name)[0]


@pytest.fixture
def secret_key(app):
    """The instance's secret key file, as the app keeps it when SECRET_KEY is not set."""
    path = os.path.join(app.instance_path, "secret_key")
    made = not os.path.exists(path)
    if made:
        with open(path, "w") as f:
            f.write(os.urandom(32).hex())
    with open(path) as f:
        value = f.read().strip()
    yield path, value
    if made:
        os.remove(path)


def everything_stored():
    """Every text a user could be shown about files and calls, as one string."""
    from webapp.extensions import db
    from webapp.models import Customer, FileEvent, FileProcessingRecord, SalesCall

    db.session.expire_all()
    parts = []
    for call in db.session.scalars(sa.select(SalesCall)):
        parts += [call.transcript or "", json.dumps(call.segments, ensure_ascii=False), call.agent or ""]
    for customer in db.session.scalars(sa.select(Customer)):
        parts += [customer.name or "", customer.phone or "", customer.external_id or ""]
    parts += [e.message or "" for e in db.session.scalars(sa.select(FileEvent))]
    parts += [r.error_message or "" for r in db.session.scalars(sa.select(FileProcessingRecord))]
    return "\n".join(parts)


def events_of(file_name):
    from webapp.extensions import db
    from webapp.models import FileEvent, FileProcessingRecord

    record = db.session.scalars(
        sa.select(FileProcessingRecord).where(FileProcessingRecord.file_name == file_name)
    ).one()
    return [e.message for e in db.session.scalars(sa.select(FileEvent).where(FileEvent.file_id == record.id))]


def call_of(file_name):
    from webapp.extensions import db
    from webapp.models import FileProcessingRecord, SalesCall

    return db.session.scalars(
        sa.select(SalesCall)
        .join(FileProcessingRecord, SalesCall.file_id == FileProcessingRecord.id)
        .where(FileProcessingRecord.file_name == file_name)
    ).one()


# -- companions -------------------------------------------------------------------------------


def test_companions_linked_out_of_the_folder_are_refused_and_never_become_a_call(ctx, cli, tmp_path, secret_key):
    key_path, key = secret_key
    passwd_lines = [line for line in open(PASSWD).read().splitlines() if line.strip()]
    configure(scanning={"fileSettleSeconds": 0}, retryPolicy={"maxRetries": 0})
    to_passwd = name("wav")
    write_wav(tmp_path / to_passwd)
    os.symlink(PASSWD, tmp_path / f"{stem(to_passwd)}.txt")
    to_key = name("wav")
    write_wav(tmp_path / to_key)
    os.symlink(key_path, tmp_path / f"{stem(to_key)}.json")
    meta_to_key = write_call(tmp_path)
    os.symlink(key_path, tmp_path / f"{stem(meta_to_key)}.meta.json")
    (tmp_path / "sub").mkdir()
    manifest_to_passwd = write_call(tmp_path / "sub")
    os.symlink(PASSWD, tmp_path / "sub" / "manifest.csv")
    # A link that stays inside the folder is read like the file it names.
    linked_inside = name("wav")
    write_wav(tmp_path / linked_inside)
    (tmp_path / "transcripts").mkdir()
    (tmp_path / "transcripts" / "t.txt").write_text("שלום, כאן דנה\nתודה ולהתראות\n", encoding="utf-8")
    os.symlink(os.path.join("transcripts", "t.txt"), tmp_path / f"{stem(linked_inside)}.txt")

    result, report = run_json(cli, tmp_path)
    assert result.exit_code == 0, result.output
    files = {f["file_name"]: f for f in report["files"]}
    for refused, companion in ((to_passwd, ".txt"), (to_key, ".json")):
        entry = files[refused]
        assert (entry["status"], entry["error_code"]) == ("skipped", "ACCESS_DENIED"), entry
        assert f"{stem(refused)}{companion} is a link leading outside the folder" in entry["error_message"]
    for kept in (meta_to_key, manifest_to_passwd, linked_inside):
        assert files[kept]["status"] == "completed", files[kept]
    assert any(
        f"{stem(meta_to_key)}.meta.json is a link leading outside the folder" in m for m in events_of(meta_to_key)
    )
    assert any("sub/manifest.csv is a link leading outside the folder" in m for m in events_of(manifest_to_passwd))
    assert call_of(meta_to_key).customer_id is None and call_of(manifest_to_passwd).customer_id is None
    assert call_of(linked_inside).transcript == "שלום, כאן דנה\nתודה ולהתראות"

    shown = everything_stored()
    assert key not in shown
    assert not [line for line in passwd_lines if line in shown]


def test_a_recording_linked_out_of_the_folder_is_skipped_in_one_scan(ctx, tmp_path):
    from webapp.batch import discovery
    from webapp.batch import folder_config as folders
    from webapp.extensions import db
    from webapp.models import FileProcessingRecord

    configure(scanning={"fileSettleSeconds": 3600})  # a settle wait must not hold a link that leads out
    outside = tmp_path / "outside"
    outside.mkdir()
    write_wav(outside / "elsewhere.wav")
    root = tmp_path / "calls"
    root.mkdir()
    links = [name("wav"), name("mp3")]
    os.symlink(outside / "elsewhere.wav", root / links[0])
    os.symlink(PASSWD, root / links[1])

    result = discovery.scan(folders.local_folder_for(str(root)))
    assert (result.skipped, result.still_writing) == (2, 0)
    records = db.session.scalars(sa.select(FileProcessingRecord)).all()
    assert sorted(r.file_name for r in records) == sorted(links)
    for record in records:
        assert (record.status, record.error_code) == ("skipped", "ACCESS_DENIED")
        assert "is a link leading outside the folder" in record.error_message


def test_loops_dangling_links_directories_and_fifos_never_block_a_scan_or_a_worker(ctx, service_env, tmp_path):
    configure(scanning={"fileSettleSeconds": 0}, retryPolicy={"maxRetries": 0})
    root = tmp_path / "calls"
    root.mkdir()
    loop, loop_a, loop_b, dangling, directory, fifo = (
        name("mp3"),
        name("wav"),
        name("wav"),
        name("wav"),
        name("mp3"),
        name("mp3"),
    )
    os.symlink(root / loop, root / loop)
    os.symlink(root / loop_b, root / loop_a)
    os.symlink(root / loop_a, root / loop_b)
    os.symlink(root / "nowhere.wav", root / dangling)
    (root / directory).mkdir()
    os.mkfifo(root / fifo)
    fifo_transcript = name("wav")
    write_wav(root / fifo_transcript)
    os.mkfifo(root / f"{stem(fifo_transcript)}.json")
    fifo_meta = write_call(root)
    os.mkfifo(root / f"{stem(fifo_meta)}.meta.json")
    good = write_call(root)

    run = subprocess.run(
        [sys.executable, "-m", "flask", "batch", "run", str(root), "--json"],
        cwd=ROOT,
        env={**os.environ, **service_env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    files = {f["file_name"]: f for f in json.loads(run.stdout)["files"]}
    assert set(files) == {fifo, fifo_transcript, fifo_meta, good}  # loops, dangling links, directories: nothing to read
    assert (files[fifo]["status"], files[fifo]["error_code"]) == ("skipped", "ACCESS_DENIED")
    assert "is a named pipe (FIFO), not a regular file" in files[fifo]["error_message"]
    assert (files[fifo_transcript]["status"], files[fifo_transcript]["error_code"]) == ("skipped", "ACCESS_DENIED")
    assert f"{stem(fifo_transcript)}.json is a named pipe (FIFO)" in files[fifo_transcript]["error_message"]
    assert files[fifo_meta]["status"] == files[good]["status"] == "completed"
    assert any(f"{stem(fifo_meta)}.meta.json is a named pipe (FIFO)" in m for m in events_of(fifo_meta))


def test_a_recording_replaced_by_a_fifo_after_the_scan_is_skipped_by_the_worker(app, ctx, tmp_path):
    from webapp.batch import discovery, processing
    from webapp.batch import folder_config as folders
    from webapp.batch.validation import probe
    from webapp.errors import SkipFile
    from webapp.extensions import db
    from webapp.models import BatchJob, FileProcessingRecord

    configure(scanning={"fileSettleSeconds": 0}, processing={"immediateProcessing": False})
    recording = write_call(tmp_path)
    folder = folders.local_folder_for(str(tmp_path))
    job_id = discovery.scan(folder).job_id
    os.remove(tmp_path / recording)
    os.mkfifo(tmp_path / recording)
    with pytest.raises(SkipFile, match="named pipe"):
        with discovery.storage_for(folder).download_file(recording):
            pass
    with pytest.raises(SkipFile, match="not a regular file"):
        probe(str(tmp_path / recording))

    discovery.start_job(db.session.get(BatchJob, job_id))
    record = db.session.scalars(sa.select(FileProcessingRecord)).one()
    outcome = {}

    def work():
        with app.app_context():
            outcome["status"] = processing.process_file(record.id, record.rq_job_id, "fifo-test")

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(30)
    assert not worker.is_alive(), "the worker blocked on the FIFO"
    db.session.expire_all()
    record = db.session.get(FileProcessingRecord, record.id)
    assert (outcome["status"], record.error_code) == ("skipped", "ACCESS_DENIED")
    assert "named pipe" in record.error_message


# -- file names -------------------------------------------------------------------------------


def test_names_that_are_not_utf8_are_skipped_and_shown_readably(ctx, cli, web, tmp_path):
    from webapp.batch import discovery
    from webapp.batch import folder_config as folders
    from webapp.extensions import db
    from webapp.models import FileProcessingRecord

    configure(scanning={"fileSettleSeconds": 0})
    root = tmp_path / "calls"
    root.mkdir()
    fd = os.open(os.fsencode(root) + b"/\xff\xfe.mp3", os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, b"not audio")
    os.close(fd)
    odd_directory = os.fsencode(root) + b"/caf\xe9"
    os.mkdir(odd_directory)
    inside = name("wav")
    write_wav(os.fsdecode(odd_directory + b"/" + inside.encode()))
    good = write_call(root)

    result, report = run_json(cli, root)
    assert result.exit_code == 0 and report, result.output
    files = {f["file_name"]: f for f in report["files"]}
    assert files[good]["status"] == "completed"
    assert (files["\\xff\\xfe.mp3"]["status"], files["\\xff\\xfe.mp3"]["error_code"]) == ("skipped", "INVALID_FILENAME")
    assert "'\\xff\\xfe.mp3' is not valid UTF-8" in files["\\xff\\xfe.mp3"]["error_message"]
    assert (files[inside]["status"], files[inside]["error_code"]) == ("skipped", "INVALID_FILENAME")
    assert f"caf\\xe9/{inside}" in files[inside]["error_message"]

    rescan = discovery.scan(folders.local_folder_for(str(root)))
    assert (rescan.job_id, rescan.known) == (None, 3)  # the readable names are the files' stable identity

    manager = web["manager"]
    export = manager.get("/files/export.csv")
    assert export.status_code == 200
    exported = {r["file_name"]: r for r in csv.DictReader(io.StringIO(export.get_data(as_text=True)))}
    assert exported["\\xff\\xfe.mp3"]["error_code"] == "INVALID_FILENAME"
    page = manager.get("/files/?status=skipped")
    assert page.status_code == 200 and "\\xff\\xfe.mp3" in page.get_data(as_text=True)
    record = db.session.scalars(sa.select(FileProcessingRecord).where(FileProcessingRecord.file_name == inside)).one()
    detail = manager.get(f"/files/{record.id}")
    assert detail.status_code == 200 and "caf\\xe9" in detail.get_data(as_text=True)


# -- which folders may be watched -------------------------------------------------------------


def refused_roots(app, tmp_path):
    to_etc = tmp_path / "looks-harmless"
    os.symlink("/etc", to_etc)
    return {
        "/": "system directory",
        "/etc": "system directory",
        "/proc": "system directory",
        "/sys": "system directory",
        "/dev": "system directory",
        "/root": "system directory",
        "/etc/ssl": "system directory",
        str(to_etc): "system directory",
        app.instance_path: "instance folder",
        os.path.dirname(app.instance_path): "instance folder",
        ROOT: "own code",
        os.path.join(ROOT, "webapp"): "own code",
        "/var/lib": "outside the directories Callbatch may watch",
    }


def test_folder_roots_outside_the_allow_list_are_refused_by_the_form_and_the_cli(app, web, cli, tmp_path):
    for path, reason in refused_roots(app, tmp_path).items():
        form = web["admin"].post(
            "/folders/new",
            data={
                "name": "x",
                "storage_type": "local",
                "cfg.path": path,
                "monitor_type": "polling",
                "scan_interval": "300",
                "allowed_extensions": "mp3 wav",
                "max_file_size_mb": "500",
            },
        )
        page = form.get_data(as_text=True)
        assert form.status_code == 422 and reason in page and "CALLBATCH_LOCAL_ROOTS" in page, (path, page[:2000])
        if os.path.isdir(path):
            run = cli.invoke(args=["batch", "run", path, "--json", "--workers", "0"])
            assert run.exit_code == 2 and reason in run.output and "CALLBATCH_LOCAL_ROOTS" in run.output, run.output
    assert folder_count() == 0


def test_folder_roots_outside_the_allow_list_are_refused_by_the_api(app, api, tmp_path):
    for path, reason in refused_roots(app, tmp_path).items():
        for url, extra in (("/api/batch/folders", {"name": "x"}), ("/api/batch/folders/test", {})):
            answer = api.post("admin", url, json={**extra, "storage_type": "local", "storage_config": {"path": path}})
            body = answer.get_json()
            assert answer.status_code in (200, 422), (path, url, body)
            text = json.dumps(body, ensure_ascii=False)
            assert reason in text and "CALLBATCH_LOCAL_ROOTS" in text, (path, url, body)
            assert body.get("ok") is not True
    assert folder_count() == 0


def folder_count():
    from webapp.extensions import db
    from webapp.models import ExternalFolder

    return db.session.scalar(sa.select(sa.func.count()).select_from(ExternalFolder))


def test_by_default_only_folders_inside_the_instance_folder_are_allowed(app, ctx, tmp_path, monkeypatch):
    from webapp.providers.storage.local import refusal

    monkeypatch.setitem(app.config, "LOCAL_ROOTS", [])
    assert refusal(os.path.join(app.instance_path, "demo-calls")) is None
    assert "CALLBATCH_LOCAL_ROOTS (not set)" in refusal(str(tmp_path))
    assert "instance folder" in refusal(app.instance_path)
    monkeypatch.setitem(app.config, "LOCAL_ROOTS", [str(tmp_path)])
    assert refusal(str(tmp_path / "calls")) is None and refusal(str(tmp_path)) is None


def test_a_root_swapped_for_a_link_to_etc_after_saving_is_not_scanned_or_read(ctx, tmp_path):
    from webapp.batch import discovery
    from webapp.batch import folder_config as folders
    from webapp.errors import FileAccessError
    from webapp.extensions import db
    from webapp.models import ExternalFolder, FileProcessingRecord

    root = tmp_path / "calls"
    root.mkdir()
    write_call(root)
    folder = folders.local_folder_for(str(root))
    shutil.rmtree(root)
    os.symlink("/etc", root)
    with pytest.raises(FileAccessError) as caught:
        discovery.scan(folder)
    assert caught.value.code == "ACCESS_DENIED" and "system directory" in caught.value.message
    with pytest.raises(FileAccessError, match="system directory"):
        with discovery.storage_for(folder).download_file("passwd"):
            pass
    with pytest.raises(FileAccessError, match="system directory"):
        discovery.storage_for(folder).read_companion("passwd")
    db.session.expire_all()
    assert folder.connection_status == "error" and "CALLBATCH_LOCAL_ROOTS" in folder.last_error

    saved_before_the_rule = ExternalFolder(name="old", storage_type="local", storage_config={"path": "/etc"})
    db.session.add(saved_before_the_rule)
    db.session.commit()
    with pytest.raises(FileAccessError, match="system directory"):
        discovery.scan(saved_before_the_rule)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FileProcessingRecord)) == 0


# -- cloud folders ----------------------------------------------------------------------------


def test_cloud_companions_come_from_the_bucket_and_never_from_local_disk(app, ctx, s3_folder, tmp_path, monkeypatch):
    from tests.support.cloud import make_folder
    from webapp.batch import discovery, processing
    from webapp.extensions import db
    from webapp.models import FileProcessingRecord

    configure(scanning={"fileSettleSeconds": 0}, retryPolicy={"maxRetries": 0})
    with_transcript, without = name("wav"), name("wav")
    for recording in (with_transcript, without):
        write_wav(tmp_path / recording)
        s3_folder.put_file(f"calls/{recording}", tmp_path / recording)
    s3_folder.put(
        f"calls/{stem(with_transcript)}.json",
        json.dumps({"segments": [{"start": 0, "end": 1, "text": "מהדלי"}]}, ensure_ascii=False).encode(),
    )
    # The same relative paths on local disk, where a plain open() would find them.
    local = tmp_path / "cwd" / "calls"
    local.mkdir(parents=True)
    (local / f"{stem(without)}.txt").write_text("LOCAL-DISK-TEXT")
    (local / f"{stem(with_transcript)}.meta.json").write_text(json.dumps({"name": "LOCAL-DISK-NAME"}))
    monkeypatch.chdir(tmp_path / "cwd")

    folder = make_folder(s3_folder)
    assert discovery.scan(folder).queued == 2
    for record in db.session.scalars(sa.select(FileProcessingRecord)).all():
        processing.process_file(record.id, record.rq_job_id, "cloud-test")
    db.session.expire_all()
    records = {r.file_name: r for r in db.session.scalars(sa.select(FileProcessingRecord))}
    assert records[with_transcript].status == "completed"
    assert call_of(with_transcript).transcript == "מהדלי" and call_of(with_transcript).customer_id is None
    assert (records[without].status, records[without].error_code) == ("failed", "TRANSCRIPTION_FAILED")
    assert "No transcript was delivered" in records[without].error_message
    assert "LOCAL-DISK" not in everything_stored()
