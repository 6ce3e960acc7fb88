"""Token lifecycle, browser sessions with CSRF, bad input (always a 4xx naming the field and
the reason, nothing half-written) and Idempotency-Key."""

import sqlalchemy as sa

from webapp.batch import batch_config as settings
from webapp.extensions import db
from webapp.models import ApiToken, AuditLog, BatchJob, ExternalFolder, NotificationConfig, User


def count(model):
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_token_lifecycle_create_use_revoke(api, ctx):
    created = api.post("viewer", "/api/tokens", json={"name": "crm", "expires_in_days": 30})
    assert created.status_code == 201
    body = created.get_json()
    text, token_id = body["token"], body["id"]
    assert text.startswith("cb_") and body["state"] == "active" and body["last_used_at"] is None
    row = db.session.get(ApiToken, token_id)
    assert text not in (row.token_hash, row.prefix) and len(row.token_hash) == 64  # stored hashed

    headers = {"Authorization": f"Bearer {text}"}
    assert api.get(None, "/api/batch/jobs", headers=headers).status_code == 200
    db.session.rollback()
    assert db.session.get(ApiToken, token_id).last_used_at is not None  # last use noted
    listed = api.get(None, "/api/tokens", headers=headers).get_json()
    assert token_id in [t["id"] for t in listed["items"]] and all("token" not in t for t in listed["items"])
    assert api.post(None, "/api/batch/folders/1/scan", headers=headers).status_code == 403  # a viewer's token

    # someone else cannot revoke it; its owner can, and then it stops working at once
    assert api.delete("manager", f"/api/tokens/{token_id}").status_code == 404
    assert api.delete(None, f"/api/tokens/{token_id}", headers=headers).status_code == 204
    refused = api.get(None, "/api/batch/jobs", headers=headers)
    assert refused.status_code == 401 and "revoked" in refused.get_json()["error"]["message"]
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert api.get(None, "/api/batch/jobs", headers={"Authorization": "Bearer cb_nonsense"}).status_code == 401
    db.session.rollback()
    assert {"token.create", "token.revoke"} <= set(db.session.scalars(sa.select(AuditLog.action)))


def test_a_browser_session_needs_the_csrf_token_to_change_things(app, tokens, ctx):
    from flask import session as request_session
    from flask_wtf.csrf import generate_csrf

    raw = "r" * 40
    client = app.test_client()
    with app.app_context():
        with client.session_transaction() as session:  # signed in as the admin, as the pages do
            admin = db.session.scalar(sa.select(User).where(User.email == "admin@example.com"))
            session.update({"_user_id": admin.get_id(), "_fresh": True, "csrf_token": raw})
        with app.test_request_context():
            request_session["csrf_token"] = raw
            token = generate_csrf()  # what the page puts in its meta tag / hx-headers
    with app.app_context():
        assert client.get("/api/batch/config").status_code == 200  # reading needs no token
    with app.app_context():
        refused = client.post("/api/batch/config/reset")
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "CSRF_FAILED"
    with app.app_context():
        accepted = client.post("/api/batch/config/reset", headers={"X-CSRFToken": token})
    assert accepted.status_code == 200, accepted.get_json()


def fields(answer):
    return {d["field"]: d["reason"] for d in answer.get_json()["error"]["details"]}


def test_bad_input_is_a_4xx_with_field_and_reason_and_nothing_is_written(api, folder_id, app):
    before = (count(ExternalFolder), count(NotificationConfig), count(AuditLog), settings.load().model_dump())

    malformed = api.post("admin", "/api/batch/folders", data=b'{"name": "x",', content_type="application/json")
    assert malformed.status_code == 400 and malformed.get_json()["error"]["code"] == "BAD_REQUEST"
    assert api.post("admin", "/api/batch/folders", data=b"", content_type="application/json").status_code == 400
    assert api.post("admin", "/api/batch/folders", data=b"NaN", content_type="application/json").status_code == 400

    wrong_type = api.post(
        "admin",
        "/api/batch/folders",
        json={"name": "x", "storage_type": "local", "scan_interval": "often", "enabled": "maybe"},
    )
    assert wrong_type.status_code == 422
    assert set(fields(wrong_type)) == {"scan_interval", "enabled"}

    unknown = api.post("admin", "/api/batch/folders", json={"name": "x", "storage_type": "local", "colour": "red"})
    assert unknown.status_code == 422 and fields(unknown) == {"colour": "Unknown field."}

    not_object = api.post("admin", "/api/batch/folders", json=[1, 2])
    assert not_object.status_code == 422

    interval = api.put("admin", "/api/batch/config", json={"scanning": {"scanInterval": 5}})
    assert interval.status_code == 422
    assert "greater than or equal to 30" in fields(interval)["scanning.scanInterval"]
    retries = api.put("admin", "/api/batch/config", json={"retryPolicy": {"maxRetries": 99}})
    assert retries.status_code == 422 and "retryPolicy.maxRetries" in fields(retries)
    both = api.put(
        "admin",
        "/api/batch/config",
        json={"scanning": {"scanInterval": 5, "bogus": 1}, "retryPolicy": {"maxRetries": 99}},
    )
    assert set(fields(both)) == {"scanning.scanInterval", "scanning.bogus", "retryPolicy.maxRetries"}
    validation = api.post("manager", "/api/batch/config/validation", json={"scanning": {"scanInterval": 5}})
    assert validation.get_json()["valid"] is False

    folder_interval = api.patch("admin", f"/api/batch/folders/{folder_id}", json={"scan_interval": 5})
    assert folder_interval.status_code == 422 and "scan_interval" in fields(folder_interval)
    relative = api.patch("admin", f"/api/batch/folders/{folder_id}", json={"storage_config": {"path": "rel/dir"}})
    assert relative.status_code == 422 and "storage_config" in fields(relative)  # the service's own check
    duplicate = api.post(
        "admin",
        "/api/batch/folders",
        json={"name": "calls", "storage_type": "local", "storage_config": {"path": "/tmp"}},
    )
    assert duplicate.status_code == 422 and "name" in fields(duplicate)

    bad_channel = api.post(
        "admin",
        "/api/batch/notifications",
        json={"name": "n", "type": "webhook", "conditions": ["file_failed"], "config": {}, "cooldown_minutes": 5000},
    )
    assert bad_channel.status_code == 422 and "cooldown_minutes" in fields(bad_channel)
    no_url = api.post(
        "admin",
        "/api/batch/notifications",
        json={"name": "n", "type": "webhook", "conditions": ["file_failed"], "config": {}},
    )
    assert no_url.status_code == 422 and "config" in fields(no_url)

    nul = api.post("admin", "/api/batch/folders", json={"name": "a\x00b", "storage_type": "local"})
    assert nul.status_code == 422 and fields(nul) == {"name": "contains a NUL character"}

    app.config["MAX_CONTENT_LENGTH"], limit = 2048, app.config["MAX_CONTENT_LENGTH"]
    try:
        huge = api.post("admin", "/api/batch/folders", json={"name": "x" * 5000, "storage_type": "local"})
    finally:
        app.config["MAX_CONTENT_LENGTH"] = limit
    assert huge.status_code == 413 and huge.get_json()["error"]["code"] == "PAYLOAD_TOO_LARGE"

    for path in (
        "/api/batch/folders/999",
        "/api/batch/jobs/999",
        "/api/batch/files/999",
        "/api/batch/calls/999",
        "/api/batch/customers/999",
        "/api/batch/notifications/999",
        "/api/batch/folders/99999999999",
    ):
        missing = api.get("admin", path)
        assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "NOT_FOUND", path
    assert api.post("manager", "/api/batch/jobs", json={"folder_id": 999}).status_code == 404
    assert api.get("viewer", "/api/batch/files?per_page=0").status_code == 422
    assert api.get("viewer", "/api/batch/files?status=lost").status_code == 422
    assert api.get("viewer", "/api/batch/files?date_from=yesterday").status_code == 422
    assert api.request("admin", "PUT", "/api/batch/jobs").status_code == 405

    after = (count(ExternalFolder), count(NotificationConfig), count(AuditLog), settings.load().model_dump())
    assert after == before


def test_an_idempotency_key_creates_one_job(api, folder_id):
    headers = {"Idempotency-Key": "crm-order-42"}
    first = api.post("manager", "/api/batch/jobs", json={"folder_id": folder_id}, headers=headers)
    assert first.status_code == 201, first.get_json()
    again = api.post("manager", "/api/batch/jobs", json={"folder_id": folder_id}, headers=headers)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert count(BatchJob) == 1
    other = api.post("manager", "/api/batch/jobs", json={"folder_id": folder_id + 1}, headers=headers)
    assert other.status_code == 422 and other.get_json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    # keys are per user: another user's same key is a new request (nothing new to find now)
    fresh = api.post("admin", "/api/batch/jobs", json={"folder_id": folder_id}, headers=headers)
    assert fresh.status_code == 200 and fresh.get_json()["job"] is None
    assert count(BatchJob) == 1
    bad = api.post("manager", "/api/batch/jobs", json={"folder_id": folder_id}, headers={"Idempotency-Key": " "})
    assert bad.status_code == 422
