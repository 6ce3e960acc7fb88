"""Call intelligence on the processing path: personal data redacted before the transcript is
stored or scored, and the call_completed notification carrying the scorecard."""

import json
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from tests.support.helpers import configure
from tests.support.recordings import write_call
from webapp import queues
from webapp.batch import discovery, processing, status
from webapp.batch import folder_config as folders
from webapp.extensions import db
from webapp.models import CallTrackerHit, FileEvent, FileProcessingRecord, NotificationDelivery, SalesCall, Tracker
from webapp.notifications import conditions as c
from webapp.notifications import dispatch, events

SPOKEN = (
    "שלום, מדבר דני מחברת אורנג', הטלפון שלי 050-1234567 ותעודת זהות 123456782. "
    "המייל dana@example.com והכרטיס 4580 1234 5678 9015, מה המחיר שמתאים לך?"
)
PERSONAL = ("050-1234567", "1234567", "123456782", "dana@example.com", "4580 1234 5678 9015", "9015")


def process_one(path, redact, seconds=2.0):
    configure(scanning={"fileSettleSeconds": 0}, retryPolicy={"maxRetries": 0})
    write_call(str(path), seconds=seconds, text=SPOKEN)
    folder = folders.local_folder_for(str(path))
    folder.analysis_config = {"redact": True} if redact else {}
    db.session.commit()
    assert discovery.scan(folder, trigger="test").queued == 1
    record = db.session.scalars(
        sa.select(FileProcessingRecord).where(FileProcessingRecord.folder_id == folder.id)
    ).one()
    assert processing.process_file(record.id) == status.COMPLETED
    db.session.rollback()
    return db.session.scalars(sa.select(SalesCall).where(SalesCall.file_id == record.id)).one(), record


def test_a_redacting_folder_stores_and_scores_no_personal_data(ctx, tmp_path):
    call, record = process_one(tmp_path, redact=True)
    stored = json.dumps([call.transcript, call.segments, call.scores], ensure_ascii=False)
    for value in PERSONAL:
        assert value not in stored, value
    assert "[טלפון]" in call.transcript and "[ת.ז.]" in call.segments[0]["text"]
    quotes = [e["quote"] for crit in call.scores["criteria"] for e in crit["evidence"]]
    assert quotes and any("[טלפון]" in q for q in quotes)
    [event] = db.session.scalars(
        sa.select(FileEvent).where(FileEvent.file_id == record.id, FileEvent.details["kind"].as_string() == "redaction")
    )
    assert event.details["counts"] == {"phone": 1, "id": 1, "email": 1, "card": 1}
    assert "050" not in event.message and "1 phone" in event.message


def test_a_folder_that_does_not_redact_keeps_the_words_and_trackers_are_counted_when_filed(ctx, tmp_path):
    db.session.execute(sa.delete(Tracker))
    price = Tracker(name="מחיר", phrases=["מחיר", "יקר"])
    db.session.add(price)
    db.session.commit()
    queue = queues.queue(events.QUEUE)
    queue.empty()
    call, record = process_one(tmp_path, redact=False)
    # No config listens for call_completed: filing queued no event for it.
    assert not [e for job in queue.jobs for e in job.args[0] if e["condition"] == c.CALL_COMPLETED]
    hit = db.session.scalars(sa.select(CallTrackerHit).where(CallTrackerHit.call_id == call.id)).one()
    assert (hit.tracker_id, hit.count, hit.times) == (price.id, 1, [0.0])
    assert "050-1234567" in call.transcript
    assert not db.session.scalars(
        sa.select(FileEvent).where(FileEvent.file_id == record.id, FileEvent.details["kind"].as_string() == "redaction")
    ).all()


def test_call_completed_webhook_receives_the_scorecard(private_targets, make_config, ctx, tmp_path, httpserver):
    httpserver.expect_request("/crm", method="POST").respond_with_data("ok")
    make_config("webhook", {"url": httpserver.url_for("/crm")}, conditions=[c.CALL_COMPLETED], cooldown_minutes=0)
    queue = queues.queue(events.QUEUE)
    queue.empty()
    call, _record = process_one(tmp_path, redact=False)

    noted = [e for job in queue.jobs for e in job.args[0] if e["condition"] == c.CALL_COMPLETED]
    assert [e["call_id"] for e in noted] == [call.id]
    [delivery] = dispatch.dispatch(noted)
    assert dispatch.deliver(delivery.id) == "sent"
    body = httpserver.log[-1][0].get_json()
    assert body["event"] == c.CALL_COMPLETED
    [sent] = body["events"]
    assert sent["call_uuid"] == call.call_uuid and sent["overall_score"] == call.overall_score
    assert [(k["id"], k["score"]) for k in sent["criteria"]] == [(k["id"], k["score"]) for k in call.scores["criteria"]]
    assert body["links"]["Open the call"].endswith(f"/calls/{call.id}") and sent["link"].endswith(f"/calls/{call.id}")
    assert body["title"].startswith(f"Call filed: {call.call_uuid}")


def test_a_thousand_calls_send_one_email_and_one_digest_within_the_cooldown(make_config, ctx):
    config = make_config(
        "email",
        {"host": "127.0.0.1", "sender": "cb@example.com", "recipients": "m@example.com"},
        conditions=[c.CALL_COMPLETED],
        cooldown_minutes=10,
    )
    t0 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
    noted = [
        {
            "status": "call_completed",
            "call_id": n,
            "call_uuid": f"uuid-{n}",
            "overall_score": 70.0,
            "criteria": [],
            "folder_name": "מכירות",
        }
        for n in range(1000)
    ]
    found = events.to_events(noted)
    sent = dispatch.dispatch(found[:1], now=t0) + dispatch.dispatch(found[1:], now=t0 + timedelta(minutes=1))
    assert len(sent) == 1
    D = NotificationDelivery
    held = db.session.scalar(
        sa.select(sa.func.count()).select_from(D).where(D.config_id == config.id, D.status == "suppressed")
    )
    assert held == 999
    [digest] = dispatch.flush_digests(now=t0 + timedelta(minutes=11))
    assert digest.event_count == 999 and digest.summary == "999 calls filed in מכירות in the last 10 minutes"


def _levels(wav_bytes, rate_windows):
    """The loudest sample in each (from, to) second window of a 16-bit mono WAV."""
    import io
    import struct
    import wave

    with wave.open(io.BytesIO(wav_bytes)) as w:
        rate, frames = w.getframerate(), w.readframes(w.getnframes())
    samples = struct.unpack(f"<{len(frames) // 2}h", frames)
    return [max(abs(v) for v in samples[int(a * rate) : int(b * rate)]) for a, b in rate_windows]


def test_viewers_of_a_redacting_folder_hear_the_personal_data_silenced(web, tmp_path):
    call, _record = process_one(tmp_path, redact=True, seconds=12.0)
    spans = sorted(call.redacted_spans)
    assert len(spans) == 4 and all(0 <= a < b <= 12.0 for a, b in spans)
    heard = web["viewer"].get(f"/calls/{call.id}/audio")
    assert heard.status_code == 200 and heard.mimetype == "audio/wav"
    silent = [(a + 0.05, b - 0.05) for a, b in spans]
    spoken = [(0.0, spans[0][0] - 0.05), (spans[-1][1] + 0.05, 12.0)]
    assert _levels(heard.get_data(), silent) == [0, 0, 0, 0]
    assert min(_levels(heard.get_data(), spoken)) > 1000
    # A folder that stops redacting plays the recording as it is (its transcript stays redacted).
    call.file.folder.analysis_config = {}
    db.session.commit()
    original = web["viewer"].get(f"/calls/{call.id}/audio")
    assert min(_levels(original.get_data(), silent)) > 1000
