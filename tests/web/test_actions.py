"""What the pages change: folders (secrets never rendered back), settings with field errors,
import/export, CSV export, audio range requests, rollback, assignment; each with its audit row."""

import csv
import io
import json

import pytest
import sqlalchemy as sa

from tests.support.helpers import configure
from tests.support.recordings import write_calls


def _audit(action):
    from webapp.extensions import db
    from webapp.models import AuditLog

    db.session.expire_all()
    return db.session.scalars(sa.select(AuditLog).where(AuditLog.action == action)).all()


@pytest.fixture
def processed(ctx, tmp_path, cli):
    from webapp.extensions import db
    from webapp.models import SalesCall

    configure(scanning={"fileSettleSeconds": 0})
    write_calls(tmp_path, 3)
    (tmp_path / "bad-name.wav").write_bytes(b"RIFF")
    result = cli.invoke(args=["batch", "run", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    db.session.remove()
    calls = db.session.scalars(sa.select(SalesCall).order_by(SalesCall.id)).all()
    return {"calls": [c.id for c in calls], "job": calls[0].job_id, "folder": calls[0].file.folder_id}


def test_folder_crud_with_registry_fields_and_masked_secrets(web, tmp_path):
    from webapp.crypto import MASK
    from webapp.extensions import db
    from webapp.models import ExternalFolder

    admin = web["admin"]
    bad = admin.post(
        "/folders/new",
        data={
            "name": "",
            "storage_type": "local",
            "cfg.path": "relative/dir",
            "scan_interval": "5",
            "allowed_extensions": "",
            "max_file_size_mb": "500",
        },
    )
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "not an absolute path" in text and "Scan interval must be" in text and "at least one file extension" in text
    s3 = admin.post(
        "/folders/new",
        data={
            "name": "bucket",
            "storage_type": "s3",
            "cfg.bucket": "calls",
            "cfg.region": "eu-west-1",
            "cfg.access_key_id": "AKIAEXAMPLE",
            "cfg.secret_access_key": "super-secret-value",
            "monitor_type": "polling",
            "scan_interval": "300",
            "allowed_extensions": "mp3 wav",
            "max_file_size_mb": "100",
            "enabled": "on",
        },
    )
    assert s3.status_code == 302, s3.get_data(as_text=True)[:3000]
    folder = db.session.scalars(sa.select(ExternalFolder).where(ExternalFolder.name == "bucket")).one()
    stored = folder.storage_config["secret_access_key"]
    assert stored.startswith("enc:")
    for url in (f"/folders/{folder.id}", f"/folders/{folder.id}/edit"):
        page = admin.get(url).get_data(as_text=True)
        assert "super-secret-value" not in page and stored not in page
    assert MASK in admin.get(f"/folders/{folder.id}").get_data(as_text=True)
    # saving the edit form with the secret left blank keeps it
    edit = admin.post(
        f"/folders/{folder.id}/edit",
        data={
            "name": "bucket 2",
            "storage_type": "s3",
            "cfg.bucket": "calls",
            "cfg.region": "eu-west-1",
            "cfg.access_key_id": "",
            "cfg.secret_access_key": "",
            "monitor_type": "polling",
            "scan_interval": "600",
            "allowed_extensions": "mp3",
            "max_file_size_mb": "100",
            "enabled": "on",
        },
    )
    assert edit.status_code == 302
    db.session.expire_all()
    assert folder.name == "bucket 2" and folder.storage_config["secret_access_key"] == stored
    # the type's fields come from the registry (htmx fragment)
    fields = admin.get("/folders/fields?storage_type=gcs", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'name="cfg.bucket"' in fields
    local = admin.post(
        "/folders/new",
        data={
            "name": "here",
            "storage_type": "local",
            "cfg.path": str(tmp_path),
            "cfg.recursive": "on",
            "monitor_type": "polling",
            "scan_interval": "300",
            "allowed_extensions": "wav",
            "max_file_size_mb": "10",
            "enabled": "on",
        },
    )
    assert local.status_code == 302
    here = db.session.scalars(sa.select(ExternalFolder).where(ExternalFolder.name == "here")).one()
    result = admin.post(f"/folders/{here.id}/test", htmx=True).get_data(as_text=True)
    assert "Connected" in result
    write_calls(tmp_path, 1)
    (tmp_path / "x.txt").write_text("no")
    configure(scanning={"fileSettleSeconds": 0})
    preview = web["manager"].get(f"/folders/{here.id}/preview").get_data(as_text=True)
    assert "would queue <strong>1</strong>" in preview and "INVALID_" in preview
    assert admin.post(f"/folders/{folder.id}/delete").status_code == 302
    assert db.session.get(ExternalFolder, folder.id) is None
    assert [a.action for a in _audit("folder.create")] == ["folder.create", "folder.create"]
    assert _audit("folder.update")[0].before["name"] == "bucket"
    assert _audit("folder.delete")[0].actor == "admin@example.com"


def test_settings_field_errors_validate_reset_import_export(web):
    admin = web["admin"]
    form = {
        "processing.maxConcurrentFiles": "50",
        "processing.autoStart": "on",
        "retryPolicy.maxRetries": "3",
        "retryPolicy.delaySeconds": "30",
        "scanning.scanInterval": "300",
        "scanning.maxFileSize": "1048576",
        "scanning.allowedExtensions": "mp3 wav",
        "scanning.fileSettleSeconds": "10",
        "analysis.transcriber.type": "sidecar",
        "analysis.scorer.type": "rubric",
    }
    bad = admin.post("/settings/", data=form)
    assert bad.status_code == 422
    assert "processing.maxConcurrentFiles" in bad.get_data(as_text=True)
    checked = admin.post("/settings/validate", data=form, htmx=True).get_data(as_text=True)
    assert "less than or equal to 20" in checked
    form["processing.maxConcurrentFiles"] = "7"
    assert "are valid" in admin.post("/settings/validate", data=form, htmx=True).get_data(as_text=True)
    assert admin.post("/settings/", data=form).status_code == 302
    exported = json.loads(web["manager"].get("/settings/export.json").get_data())
    assert exported["processing"]["maxConcurrentFiles"] == 7 and exported["processing"]["immediateProcessing"] is False
    assert admin.post("/settings/reset").status_code == 302
    assert json.loads(admin.get("/settings/export.json").get_data())["processing"]["maxConcurrentFiles"] == 5
    exported["processing"]["retryConfig"]["maxRetries"] = 99
    refused = admin.post(
        "/settings/import",
        data={"file": (io.BytesIO(json.dumps(exported).encode()), "s.json")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422, refused.headers
    assert "processing.retryConfig.maxRetries" in refused.get_data(as_text=True)
    exported["processing"]["retryConfig"]["maxRetries"] = 2
    ok = admin.post(
        "/settings/import",
        data={"file": (io.BytesIO(json.dumps(exported).encode()), "s.json")},
        content_type="multipart/form-data",
    )
    assert ok.status_code == 302
    assert json.loads(admin.get("/settings/export.json").get_data())["processing"]["retryConfig"]["maxRetries"] == 2
    for action in ("settings.update", "settings.reset", "settings.import"):
        assert _audit(action), action
    assert _audit("settings.update")[0].after["processing"]["maxConcurrentFiles"] == 7


def test_rubric_editor(web):
    admin = web["admin"]
    assert "opening" in admin.get("/settings/rubric").get_data(as_text=True)
    bad = admin.post("/settings/rubric", data={"rubric": "criteria: []"})
    assert bad.status_code == 422 and "needs a list of criteria" in bad.get_data(as_text=True)
    rubric = (
        "id: mine\npass_mark: 50\ncriteria:\n  - id: hello\n    label: Greeting\n    weight: 1\n"
        "    parts:\n      - id: g\n        points: 100\n        phrases: [שלום]\n"
    )
    assert admin.post("/settings/rubric", data={"rubric": rubric}).status_code == 302
    from webapp.services import settings as service

    assert service.rubric()["source"] == "inline" and service.rubric()["document"]["id"] == "mine"
    assert _audit("rubric.update")


def test_csv_export_of_the_filtered_list(web, processed):
    manager = web["manager"]
    response = manager.get("/files/export.csv?status=completed")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 3 and {r["status"] for r in rows} == {"completed"}
    assert all(r["call_id"] for r in rows)
    skipped = list(csv.DictReader(io.StringIO(manager.get("/files/export.csv?q=bad-name").get_data(as_text=True))))
    assert [(r["file_name"], r["error_code"]) for r in skipped] == [("bad-name.wav", "INVALID_FILENAME")]
    page = manager.get("/files/?status=completed").get_data(as_text=True)
    assert "3 in all" in page


def test_audio_is_streamed_with_range_requests(web, processed):
    from webapp.extensions import db
    from webapp.models import SalesCall

    call = db.session.get(SalesCall, processed["calls"][0])
    path = call.file.folder.storage_config["path"] + "/" + call.file.file_path
    data = open(path, "rb").read()
    viewer = web["viewer"]
    whole = viewer.get(f"/calls/{call.id}/audio")
    assert whole.status_code == 200 and whole.get_data() == data and whole.headers["Accept-Ranges"] == "bytes"
    part = viewer.get(f"/calls/{call.id}/audio", headers={"Range": "bytes=100-299"})
    assert part.status_code == 206
    assert part.get_data() == data[100:300]
    assert part.headers["Content-Range"] == f"bytes 100-299/{len(data)}"
    page = viewer.get(f"/calls/{call.id}").get_data(as_text=True)
    assert 'dir="rtl"' in page and "data-seek=" in page and "Scorecard" in page


def test_rollback_removes_calls_and_reopens_files(web, processed):
    from webapp.extensions import db
    from webapp.models import BatchJob, FileProcessingRecord, SalesCall

    job = processed["job"]
    refused = web["manager"].post(f"/jobs/{job}/rollback", data={})
    assert refused.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SalesCall)) == 3
    done = web["manager"].post(f"/jobs/{job}/rollback", data={"confirm": "yes"})  # requeue unticked
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SalesCall)) == 0
    statuses = db.session.scalars(
        sa.select(FileProcessingRecord.status).where(FileProcessingRecord.job_id == job)
    ).all()
    assert sorted(statuses) == ["cancelled", "cancelled", "cancelled", "skipped"]
    record = db.session.scalars(
        sa.select(FileProcessingRecord).where(FileProcessingRecord.status == "cancelled")
    ).first()
    assert [e.to_status for e in record.events][-2:] == ["queued", "cancelled"]
    assert db.session.get(BatchJob, job).processed_files == 0
    row = _audit("job.rollback")[0]
    assert row.actor == "manager@example.com" and row.after["calls_removed"] == 3 and row.before["processed_files"] == 3


def test_assign_an_unassigned_call(web, processed):
    from webapp.extensions import db
    from webapp.models import Customer, SalesCall

    call_id = processed["calls"][0]
    made = web["manager"].post(f"/calls/{call_id}/assign", data={"new_name": "דנה כהן", "new_phone": "050-1234567"})
    assert made.status_code == 302
    db.session.expire_all()
    call = db.session.get(SalesCall, call_id)
    customer = db.session.get(Customer, call.customer_id)
    assert customer.name == "דנה כהן" and customer.phone == "0501234567" and customer.call_count == 1
    other = processed["calls"][1]
    assert web["manager"].post(f"/calls/{other}/assign", data={"customer_id": customer.id}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Customer, customer.id).call_count == 2
    page = web["viewer"].get(f"/customers/{customer.id}").get_data(as_text=True)
    assert "<svg" in page and "Call history" in page
    assert len(_audit("call.assign")) == 2 and _audit("customer.create")


def test_users_page_and_audit_page(web):
    admin = web["admin"]
    created = admin.post("/users", data={"email": "new@example.com", "role": "manager", "password": ""})
    assert created.status_code == 302
    from webapp.services import users as service

    user = service.by_email("new@example.com")
    assert user.role == "manager"
    assert admin.post(f"/users/{user.id}", data={"role": "viewer", "language": "he"}).status_code == 302
    me = service.by_email("admin@example.com")
    admin.post(f"/users/{me.id}", data={"role": "viewer", "language": "en", "active": "on"})
    from webapp.extensions import db

    db.session.expire_all()
    assert me.role == "admin"  # the last admin stays admin
    audit = web["manager"].get("/audit?action=user.").get_data(as_text=True)
    assert "user.create" in audit and "user.update" in audit and "admin@example.com" in audit


def test_pause_resume_and_retry_quick_actions(web, processed):
    from webapp.services import jobs

    manager = web["manager"]
    fragment = manager.post("/processing/pause", htmx=True).get_data(as_text=True)
    assert 'id="status"' in fragment and "Resume processing" in fragment
    assert jobs.is_paused()
    manager.post("/processing/resume")
    assert not jobs.is_paused()
    assert [a.action for a in _audit("processing.pause")] == ["processing.pause"]


def test_only_a_pending_job_can_be_started_from_the_page(web, ctx, tmp_path):
    from webapp.extensions import db
    from webapp.models import BatchJob, ExternalFolder, FileProcessingRecord

    folder = ExternalFolder(name="calls", storage_type="local", storage_config={"path": str(tmp_path)})
    db.session.add(folder)
    db.session.flush()
    job = BatchJob(folder_id=folder.id, status="cancelled", total_files=1)
    db.session.add(job)
    db.session.flush()
    db.session.add(
        FileProcessingRecord(
            folder_id=folder.id, job_id=job.id, file_name="a.wav", file_path="a.wav", status="discovered"
        )
    )
    db.session.commit()
    refused = web["manager"].post(f"/jobs/{job.id}/start", data={"confirm": "yes"})
    assert refused.status_code == 302 and refused.headers["Location"].endswith(f"/jobs/{job.id}")
    page = web["manager"].get(f"/jobs/{job.id}").get_data(as_text=True)
    assert f"Job {job.id} is cancelled; only a job whose files are waiting can be started." in page
    db.session.expire_all()
    assert db.session.scalars(sa.select(FileProcessingRecord.status)).all() == ["discovered"]
    assert db.session.get(BatchJob, job.id).status == "cancelled" and _audit("job.start") == []
