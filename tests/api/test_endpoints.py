"""Every API endpoint with every role: viewers read, managers act, admins configure; no
token → 401; a role too low → 403 with nothing changed. Plus the answers' shapes."""

import pytest
import sqlalchemy as sa

from tests.support.helpers import configure
from tests.support.recordings import write_calls
from webapp.batch import status
from webapp.extensions import db
from webapp.models import (
    AuditLog,
    BatchJob,
    Customer,
    ExternalFolder,
    FileEvent,
    FileProcessingRecord,
    NotificationConfig,
    SalesCall,
)
from webapp.models import job as job_status

RANK = {"viewer": 1, "manager": 2, "admin": 3}


@pytest.fixture
def world(ctx, tmp_path, monkeypatch, app):
    """A local folder with recordings, a finished job (one failed, one completed file with a
    call and a customer) and a webhook notification channel."""
    monkeypatch.setitem(app.config, "ALLOW_PRIVATE_TARGETS", True)
    configure(scanning={"fileSettleSeconds": 0})
    folder_dir = tmp_path / "calls"
    folder_dir.mkdir()
    write_calls(folder_dir, 2)
    folder = ExternalFolder(name="calls", storage_type="local", storage_config={"path": str(folder_dir)})
    db.session.add(folder)
    db.session.flush()
    job = BatchJob(
        folder_id=folder.id, status=job_status.COMPLETED_WITH_ERRORS, total_files=2, processed_files=1, failed_files=1
    )
    db.session.add(job)
    db.session.flush()
    failed = FileProcessingRecord(
        folder_id=folder.id,
        job_id=job.id,
        file_name="a.wav",
        file_path="a.wav",
        status=status.FAILED,
        error_code="TRANSCRIPTION_FAILED",
        error_category="processing",
        error_message="ASR crashed",
    )
    done = FileProcessingRecord(
        folder_id=folder.id, job_id=job.id, file_name="b.wav", file_path="b.wav", status=status.COMPLETED
    )
    db.session.add_all([failed, done])
    db.session.flush()
    db.session.add(FileEvent(file_id=failed.id, from_status="processing", to_status="failed", message="ASR crashed"))
    customer = Customer(name="דנה כהן", phone="+972501234567", call_count=1)
    db.session.add(customer)
    db.session.flush()
    call = SalesCall(
        file_id=done.id,
        job_id=job.id,
        customer_id=customer.id,
        content_sha256="0" * 64,
        call_uuid="3f2b8c1e-7a4d-4e2b-9c1f-0a1b2c3d4e5f",
        transcript="שלום",
        overall_score=80,
        segments=[{"start": 0, "end": 1, "text": "שלום"}],
        scores={"overall": 80, "criteria": []},
    )
    db.session.add(call)
    notification = NotificationConfig(
        name="ops", type="webhook", config={"url": "http://127.0.0.1:9/hook"}, conditions=["file_failed"]
    )
    db.session.add(notification)
    db.session.commit()
    return {
        "folder": folder.id,
        "job": job.id,
        "failed": failed.id,
        "done": done.id,
        "call": call.id,
        "customer": customer.id,
        "notification": notification.id,
        "dir": str(folder_dir),
    }


def endpoints(w):
    """(method, path, least role, json body, expected success status)."""
    f, j = w["folder"], w["job"]
    return [
        ("GET", "/api/batch/folders", "viewer", None, 200),
        ("GET", "/api/batch/folders/types", "viewer", None, 200),
        ("GET", f"/api/batch/folders/{f}", "viewer", None, 200),
        ("GET", f"/api/batch/folders/{f}/preview", "manager", None, 200),
        ("POST", f"/api/batch/folders/{f}/test", "manager", None, 200),
        (
            "POST",
            "/api/batch/folders/test",
            "admin",
            {"storage_type": "local", "storage_config": {"path": w["dir"]}},
            200,
        ),
        (
            "POST",
            "/api/batch/folders",
            "admin",
            {"name": "more", "storage_type": "local", "storage_config": {"path": w["dir"] + "/x"}},
            201,
        ),
        ("PATCH", f"/api/batch/folders/{f}", "admin", {"scan_interval": 600}, 200),
        ("GET", f"/api/batch/folders/{f}/webhook", "admin", None, 200),
        ("POST", f"/api/batch/folders/{f}/webhook", "admin", None, 201),
        ("POST", f"/api/batch/folders/{f}/scan", "manager", None, 202),
        ("GET", "/api/batch/jobs", "viewer", None, 200),
        ("GET", f"/api/batch/jobs/{j}", "viewer", None, 200),
        ("POST", f"/api/batch/jobs/{j}/retry", "manager", None, 200),
        ("POST", f"/api/batch/jobs/{j}/cancel", "manager", None, 200),
        ("POST", "/api/batch/jobs", "manager", {"folder_id": f}, 201),
        ("GET", "/api/batch/processing", "viewer", None, 200),
        ("POST", "/api/batch/processing/pause", "manager", None, 200),
        ("POST", "/api/batch/processing/resume", "manager", None, 200),
        ("GET", "/api/batch/files", "viewer", None, 200),
        ("GET", f"/api/batch/files/{w['failed']}", "viewer", None, 200),
        ("GET", f"/api/batch/files/{w['failed']}/logs", "viewer", None, 200),
        ("GET", f"/api/batch/files/{w['failed']}/error-details", "viewer", None, 200),
        ("POST", "/api/batch/files/retry", "manager", {"file_ids": [w["failed"]]}, 200),
        ("GET", "/api/batch/config", "viewer", None, 200),
        ("GET", "/api/batch/config/defaults", "viewer", None, 200),
        ("POST", "/api/batch/config/validation", "manager", {"scanning": {"scanInterval": 5}}, 200),
        ("PUT", "/api/batch/config", "admin", {"retryPolicy": {"maxRetries": 5}}, 200),
        ("POST", "/api/batch/config/reset", "admin", None, 200),
        ("GET", "/api/batch/notifications", "viewer", None, 200),
        ("GET", "/api/batch/notifications/options", "viewer", None, 200),
        ("GET", f"/api/batch/notifications/{w['notification']}", "viewer", None, 200),
        ("GET", f"/api/batch/notifications/{w['notification']}/deliveries", "viewer", None, 200),
        (
            "POST",
            "/api/batch/notifications",
            "admin",
            {"name": "n2", "type": "webhook", "conditions": ["file_failed"], "config": {"url": "http://127.0.0.1:9/x"}},
            201,
        ),
        ("PATCH", f"/api/batch/notifications/{w['notification']}", "admin", {"cooldown_minutes": 5}, 200),
        ("POST", f"/api/batch/notifications/{w['notification']}/test", "admin", None, 202),
        ("GET", "/api/batch/calls", "viewer", None, 200),
        ("GET", f"/api/batch/calls/{w['call']}", "viewer", None, 200),
        ("POST", f"/api/batch/calls/{w['call']}/assign", "manager", {"customer_id": w["customer"]}, 200),
        ("GET", "/api/batch/customers", "viewer", None, 200),
        ("GET", f"/api/batch/customers/{w['customer']}", "viewer", None, 200),
        ("GET", "/api/batch/status", "viewer", None, 200),
        ("GET", "/api/tokens", "viewer", None, 200),
        ("DELETE", f"/api/batch/folders/{f}/webhook", "admin", None, 204),
        ("DELETE", f"/api/batch/notifications/{w['notification']}", "admin", None, 204),
        ("POST", f"/api/batch/jobs/{j}/rollback", "manager", {"requeue": False}, 200),
        ("DELETE", f"/api/batch/folders/{f}", "admin", None, 204),
    ]


def audit_count():
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog))


def test_every_endpoint_with_every_role(api, world):
    for method, path, least, body, expected in endpoints(world):
        kwargs = {"json": body} if body is not None else {}
        anonymous = api.request(None, method, path, **kwargs)
        assert anonymous.status_code == 401, (method, path, anonymous.get_json())
        assert anonymous.get_json()["error"]["code"] == "UNAUTHORIZED"
        for role in ("viewer", "manager", "admin"):
            if RANK[role] < RANK[least]:
                before = audit_count()
                answer = api.request(role, method, path, **kwargs)
                assert answer.status_code == 403, (role, method, path, answer.get_json())
                assert answer.get_json()["error"]["code"] == "FORBIDDEN"
                assert audit_count() == before, (role, method, path)
            else:
                answer = api.request(role, method, path, **kwargs)
                assert answer.status_code == expected, (role, method, path, answer.get_json())
                break  # a change is made once, by the least role allowed; reads were checked above


def test_answers_have_the_documented_shapes(api, world):
    page = api.get("viewer", "/api/batch/files?status=failed&per_page=1").get_json()
    assert (page["total"], page["page"], page["per_page"], page["pages"]) == (1, 1, 1, 1)
    assert page["items"][0]["error_code"] == "TRANSCRIPTION_FAILED"
    details = api.get("viewer", f"/api/batch/files/{world['failed']}/error-details").get_json()
    assert details["error"]["code"] == "TRANSCRIPTION_FAILED" and details["error"]["fix"]
    logs = api.get("viewer", f"/api/batch/files/{world['failed']}/logs").get_json()
    assert [(e["from"], e["to"]) for e in logs["items"]] == [("processing", "failed")]
    job = api.get("viewer", f"/api/batch/jobs/{world['job']}").get_json()
    assert job["file_statuses"]["failed"] == 1 and job["calls"] == 1
    call = api.get("viewer", f"/api/batch/calls/{world['call']}").get_json()
    assert call["transcript"] == "שלום" and call["customer"]["name"] == "דנה כהן"
    customer = api.get("viewer", f"/api/batch/customers/{world['customer']}").get_json()
    assert customer["calls"][0]["id"] == world["call"] and customer["trend"][0]["score"] == 80
    jobs = api.get("viewer", "/api/batch/jobs?status=completed_with_errors").get_json()
    assert jobs["total"] == 1


def test_secrets_are_never_returned(api, world, ctx):
    created = api.post(
        "admin",
        "/api/batch/notifications",
        json={
            "name": "signed",
            "type": "webhook",
            "conditions": ["file_failed"],
            "config": {"url": "http://127.0.0.1:9/x", "secret": "hush-hush-123"},
        },
    )
    assert created.status_code == 201, created.get_json()
    assert "hush-hush-123" not in created.get_data(as_text=True)
    listed = api.get("viewer", "/api/batch/notifications").get_data(as_text=True)
    assert "hush-hush-123" not in listed
    folder = api.post(
        "admin",
        "/api/batch/folders",
        json={
            "name": "bucket",
            "storage_type": "s3",
            "storage_config": {"bucket": "calls", "access_key_id": "AKIAXXXX", "secret_access_key": "very-secret-key"},
        },
    )
    assert folder.status_code == 201, folder.get_json()
    text = api.get("viewer", f"/api/batch/folders/{folder.get_json()['id']}").get_data(as_text=True)
    assert "very-secret-key" not in text and "AKIAXXXX" not in text
    stored = db.session.get(ExternalFolder, folder.get_json()["id"]).storage_config
    assert stored["secret_access_key"].startswith("enc:")


def test_every_change_is_audited_with_the_token_user(api, world):
    api.patch("admin", f"/api/batch/folders/{world['folder']}", json={"scan_interval": 900})
    db.session.rollback()
    row = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "folder.update")).one()
    assert row.actor == "admin@example.com" and row.after["scan_interval"] == 900
    assert row.before["scan_interval"] == 300


def test_a_test_notification_is_audited_with_the_token_user(api, world):
    sent = api.post("admin", f"/api/batch/notifications/{world['notification']}/test")
    assert sent.status_code == 202, sent.get_json()
    db.session.rollback()
    row = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "notification.test")).one()
    assert (row.actor, row.target_type, row.target_id) == (
        "admin@example.com",
        "notification",
        str(world["notification"]),
    )
    assert row.after == {"delivery_id": sent.get_json()["id"]}
