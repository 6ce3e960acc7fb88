"""When notifications fire: cooldown and digest on a controllable clock, filters, the
watchers on the tick, events from the status machine, and a channel that fails once."""

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from tests.support.helpers import wait_for
from webapp.extensions import db
from webapp.models import ExternalFolder, FileProcessingRecord, NotificationDelivery
from webapp.notifications import conditions as c
from webapp.notifications import dispatch, events, watch
from webapp.services import notifications as service

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
D = NotificationDelivery


def failure(file_id, code="CORRUPTED_FILE", folder_id=None, folder_name="שיחות מכירה", condition=c.FILE_FAILED):
    return {
        "condition": condition,
        "file_id": file_id,
        "file_name": f"{file_id}.wav",
        "folder_id": folder_id,
        "folder_name": folder_name,
        "job_id": None,
        "error_code": code,
        "message": "broken",
        "final": True,
    }


def rows(config, **where):
    db.session.rollback()
    query = sa.select(D).where(D.config_id == config.id).order_by(D.id)
    for key, value in where.items():
        query = query.where(getattr(D, key) == value)
    return db.session.scalars(query).all()


def test_cooldown_holds_events_and_sends_one_digest(private_targets, make_config, httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    config = make_config("webhook", {"url": httpserver.url_for("/hook")}, cooldown_minutes=10)

    [first] = dispatch.dispatch([failure(1)], now=T0)
    assert dispatch.deliver(first.id) == "sent"
    dispatch.dispatch([failure(2)], now=T0 + timedelta(minutes=1))
    dispatch.dispatch([failure(3, "TRANSCRIPTION_FAILED"), failure(4)], now=T0 + timedelta(minutes=2))
    assert [r.status for r in rows(config)] == ["sent", "suppressed", "suppressed", "suppressed"]

    assert dispatch.flush_digests(now=T0 + timedelta(minutes=9)) == []  # the window is still open
    [digest] = dispatch.flush_digests(now=T0 + timedelta(minutes=10, seconds=1))
    assert digest.kind == "digest" and digest.event_count == 3
    assert digest.summary == "3 files failed in שיחות מכירה in the last 10 minutes"
    assert dispatch.deliver(digest.id) == "sent"
    document = httpserver.log[-1][0].get_json()
    assert document["text"] == (
        "3 files failed in שיחות מכירה in the last 10 minutes: 2 CORRUPTED_FILE, 1 TRANSCRIPTION_FAILED."
    )
    assert [e["file_id"] for e in document["events"]] == [2, 3, 4]
    assert {r.digest_id for r in rows(config, status="suppressed")} == {digest.id}

    # The digest opened a new window: the next event waits for the next digest.
    dispatch.dispatch([failure(5)], now=T0 + timedelta(minutes=12))
    assert rows(config)[-1].status == "suppressed"
    assert dispatch.flush_digests(now=T0 + timedelta(minutes=15)) == []
    assert dispatch.flush_digests(now=T0 + timedelta(minutes=21))[0].event_count == 1
    # Other conditions have windows of their own; a config without cooldown sends everything.
    assert dispatch.dispatch([failure(6, condition=c.FILE_SKIPPED)], now=T0 + timedelta(minutes=22)) == []
    service.update_config(config, {"conditions": [c.FILE_FAILED, c.FILE_SKIPPED], "cooldown_minutes": 0})
    assert len(dispatch.dispatch([failure(7), failure(8)], now=T0 + timedelta(minutes=22))) == 2

    history = service.history(config.id)
    assert [h["status"] for h in history][:2] == ["pending", "pending"] and len(history) == 9


def test_folder_and_error_code_filters(private_targets, make_config, ctx):
    folder = ExternalFolder(name="מכירות", storage_type="local", storage_config={"path": "/tmp"})
    db.session.add(folder)
    db.session.commit()
    by_folder = make_config("webhook", {"url": "http://127.0.0.1:9/x"}, name="folder", folder_ids=[folder.id])
    by_code = make_config("webhook", {"url": "http://127.0.0.1:9/x"}, name="code", error_codes=["ACCESS_DENIED"])
    dispatch.dispatch([failure(1, folder_id=folder.id), failure(2, "ACCESS_DENIED", folder_id=folder.id + 1)], now=T0)
    assert [r.payload["message"]["events"][0]["file_id"] for r in rows(by_folder)] == [1]
    assert [r.payload["message"]["events"][0]["file_id"] for r in rows(by_code)] == [2]


def test_a_commit_of_status_changes_becomes_events():
    noted = [
        {"status": "failed", "file_id": 1},
        {"status": "retrying", "file_id": 1},
        {"status": "failed", "file_id": 2},
        {"status": "skipped", "file_id": 3},
        {"status": "job_finished", "job_id": 9},
    ]
    found = [(e["condition"], e.get("file_id") or e.get("job_id"), e.get("final")) for e in events.to_events(noted)]
    assert found == [
        (c.FILE_FAILED, 1, False),
        (c.FILE_FAILED, 2, True),
        (c.RETRIES_EXHAUSTED, 2, True),
        (c.FILE_SKIPPED, 3, None),
        ("job_finished", 9, None),
    ]


def test_a_call_filed_needs_review_becomes_a_needs_review_event(private_targets, make_config, httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    config = make_config("webhook", {"url": httpserver.url_for("/hook")}, conditions=[c.NEEDS_REVIEW])
    noted = [
        {
            "status": "needs_review",
            "file_id": 4,
            "file_name": "4.wav",
            "folder_id": None,
            "job_id": None,
            "reasons": ["repetition", "compression"],
        }
    ]
    [event] = events.to_events(noted)
    assert event["condition"] == c.NEEDS_REVIEW
    [delivery] = dispatch.dispatch([event], now=T0)
    assert dispatch.deliver(delivery.id) == "sent"
    body = httpserver.log[-1][0].get_json()
    assert body["event"] == c.NEEDS_REVIEW and body["title"] == "Call needs review: 4.wav"
    assert "unreliable (repetition, compression)" in body["text"] and "without a score" in body["text"]
    assert [r.status for r in rows(config)] == ["sent"]


def test_unreachable_folder_fires_once_until_it_recovers(ctx):
    folder = ExternalFolder(
        name="NAS",
        storage_type="local",
        storage_config={"path": "/x"},
        connection_status="error",
        last_error="The folder /x does not exist.",
    )
    db.session.add(folder)
    db.session.commit()
    [event] = watch.folder_events()
    assert event["condition"] == c.FOLDER_UNREACHABLE and "does not exist" in event["message"]
    assert watch.folder_events() == []
    folder.connection_status = "ok"
    db.session.commit()
    assert watch.folder_events() == []
    folder.connection_status = "error"
    db.session.commit()
    assert len(watch.folder_events()) == 1


def test_stall_is_noticed_after_the_configured_minutes(private_targets, make_config, ctx):
    config = make_config(
        "webhook", {"url": "http://127.0.0.1:9/x"}, conditions=[c.PROCESSING_STALLED], stall_minutes=15
    )
    folder = ExternalFolder(name="calls", storage_type="local", storage_config={"path": "/x"})
    db.session.add(folder)
    db.session.flush()
    db.session.add_all(
        [
            FileProcessingRecord(
                folder_id=folder.id, file_name="a.wav", file_path="a.wav", status="completed", updated_at=T0
            ),
            FileProcessingRecord(
                folder_id=folder.id,
                file_name="b.wav",
                file_path="b.wav",
                status="queued",
                updated_at=T0 + timedelta(minutes=1),
            ),
        ]
    )
    db.session.commit()
    assert watch.stall_events(T0 + timedelta(minutes=10)) == []
    [event] = watch.stall_events(T0 + timedelta(minutes=17))
    assert event["config_id"] == config.id and event["minutes"] == 16 and event["waiting"] == 1
    assert watch.stall_events(T0 + timedelta(minutes=30)) == []  # told once per stall
    assert c.message(event).title == "Processing stalled: nothing finished for 16 minutes"


def test_a_channel_answering_500_is_retried_by_the_worker(private_targets, make_config, httpserver, workers):
    httpserver.expect_ordered_request("/hook", method="POST").respond_with_data("boom", status=500)
    httpserver.expect_ordered_request("/hook", method="POST").respond_with_data("ok")
    config = make_config("webhook", {"url": httpserver.url_for("/hook")})
    workers(1)
    events.emit([failure(1)])
    wait_for(lambda: [r.status for r in rows(config)] == ["failed", "sent"], timeout=30, message="retry sent")
    failed, sent = rows(config)
    assert "HTTP 500" in failed.error and (failed.attempt, sent.attempt, sent.retry_of_id) == (1, 2, failed.id)
    assert len(httpserver.log) == 2
