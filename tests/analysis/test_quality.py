"""How far a transcript can be trusted: the verdict on hand-built transcripts, and a call
whose transcript loops or is empty filed as "needs review" with its score withheld, seen
through the pages and the API filters, on PostgreSQL and in the embedded default (SQLite)."""

import json
import subprocess
import sys

import pytest
import sqlalchemy as sa

from tests.support.env import ROOT
from tests.support.helpers import configure, embedded_env, run_flask, run_json
from tests.support.recordings import name, write_call, write_wav
from webapp.analysis import quality
from webapp.analysis.result import Segment, Transcript

HEALTHY = [
    (0.3, 3.1, "שלום, מדברת נועה מחברת אורנים, מה שלומך היום?"),
    (3.6, 5.0, "בסדר גמור, תודה."),
    (5.5, 10.2, "רציתי לספר לך על מסלול חדש שיחסוך לך כסף בחשבון החודשי."),
    (10.8, 13.0, "כמה אתם משלמים היום בערך?"),
    (13.4, 15.9, "בערך מאתיים שקל בחודש, זה יקר לי."),
    (16.3, 21.4, "אצלנו זה יעלה מאה וחמישים, ובחודש הראשון בחינם. מתאים לך שנקבע?"),
]


def transcript(parts, engine="sidecar", **signals):
    segments = [Segment(start, end, text, **signals) for start, end, text in parts]
    return Transcript(" ".join(s.text for s in segments), segments, "he", engine)


def test_a_healthy_conversation_is_ok_with_or_without_engine_signals():
    for signals in ({}, {"avg_logprob": -0.35, "no_speech_prob": 0.05, "compression_ratio": 1.6}):
        verdict = quality.judge(transcript(HEALTHY, **signals), 22.0)
        assert verdict.quality == "ok" and verdict.reasons == [], verdict
        assert verdict.signals["words"] > 40 and verdict.signals["phrase_repeats"] <= 2
        assert verdict.signals["compression_ratio"] < quality.MAX_COMPRESSION_RATIO
        assert ("avg_logprob" in verdict.signals) == bool(signals)


def test_an_empty_transcript_needs_review():
    for parts in ([], [(0.0, 2.0, "  ...  ")]):
        verdict = quality.judge(transcript(parts), 30.0)
        assert verdict.needs_review and [r["code"] for r in verdict.reasons] == ["empty"]


def test_the_same_word_over_and_over_needs_review_for_repetition_and_compression():
    verdict = quality.judge(transcript([(0.0, 60.0, " ".join(["בסדר"] * 200))]), 60.0)
    codes = {r["code"] for r in verdict.reasons}
    assert verdict.needs_review and {"repetition", "compression"} <= codes
    assert verdict.signals["phrase_repeats"] == 200


def test_a_looping_phrase_is_caught_though_a_short_repeat_is_natural():
    loop = quality.judge(transcript([(0.0, 12.0, "לא ממית סלטס. " * 6)]), 12.0)
    assert "repetition" in {r["code"] for r in loop.reasons} and loop.signals["phrase_repeats"] == 6
    natural = quality.judge(transcript([(0.0, 3.0, "כן כן כן, בטח, מתאים לי מחר בבוקר.")]), 3.0)
    assert natural.quality == "ok", natural


def test_low_log_probability_needs_review_only_with_engine_signals():
    unsure = quality.judge(transcript(HEALTHY, engine="faster_whisper", avg_logprob=-1.6, no_speech_prob=0.2), 22.0)
    assert [r["code"] for r in unsure.reasons] == ["low_confidence"]
    assert unsure.reasons[0]["value"] == -1.6 and unsure.reasons[0]["limit"] == quality.MIN_AVG_LOGPROB
    silent = quality.judge(transcript(HEALTHY, engine="faster_whisper", avg_logprob=-0.3, no_speech_prob=0.9), 22.0)
    assert [r["code"] for r in silent.reasons] == ["no_speech"]


def test_too_many_words_for_the_speech_time_needs_review():
    import random

    letters = "אבגדהוזחטיכלמנסעפצקרשת"
    rng = random.Random(7)  # 400 made-up words that do not compress, in 30 s of speech
    words = " ".join("".join(rng.choice(letters) for _ in range(rng.randint(3, 6))) for _ in range(400))
    verdict = quality.judge(transcript([(0.0, 30.0, words)]), 30.0)
    assert [r["code"] for r in verdict.reasons] == ["speech_rate"]
    assert verdict.signals["words_per_minute"] == 800.0


def _loop_and_healthy(folder):
    loop = name("wav")
    write_wav(folder / loop, 2.0)
    (folder / loop.replace(".wav", ".txt")).write_text(" ".join(["בסדר"] * 200), encoding="utf-8")
    healthy = write_call(folder, seconds=2.0, text=" ".join(t for _s, _e, t in HEALTHY))
    return loop, healthy


def test_a_looping_transcript_is_filed_needs_review_and_found_by_the_filters(
    ctx, cli, web, tmp_path, private_targets, make_config, httpserver
):
    from webapp.extensions import db
    from webapp.models import FileProcessingRecord, NotificationDelivery, SalesCall
    from webapp.services import reports

    configure(scanning={"fileSettleSeconds": 0})
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    channel = make_config("webhook", {"url": httpserver.url_for("/hook")}, conditions=["needs_review"])
    loop, healthy = _loop_and_healthy(tmp_path)
    result, report = run_json(cli, tmp_path)
    assert result.exit_code == 0 and report["totals"]["completed"] == 2, result.output
    by_name = {f["file_name"]: f for f in report["files"]}
    assert by_name[loop]["quality"] == "needs_review" and by_name[loop]["overall_score"] is None
    assert by_name[healthy]["quality"] == "ok" and isinstance(by_name[healthy]["overall_score"], float)

    call = db.session.scalars(sa.select(SalesCall).where(SalesCall.overall_score.is_(None))).one()
    assert call.quality == "needs_review" and call.scores["withheld"] is True and call.scores["criteria"] == []
    assert {"repetition", "compression"} <= {r["code"] for r in call.quality_reasons}
    record = db.session.get(FileProcessingRecord, call.file_id)
    assert record.status == "completed" and "needs review" in record.events[-1].message
    assert record.events[-1].details["quality"] == "needs_review"
    # the commit announced it: the channel that asked for needs_review has a delivery for this file only
    deliveries = db.session.scalars(
        sa.select(NotificationDelivery).where(NotificationDelivery.config_id == channel.id)
    ).all()
    assert [(d.condition, d.payload["message"]["events"][0]["file_id"]) for d in deliveries] == [
        ("needs_review", call.file_id)
    ], [(d.status, d.kind) for d in deliveries]

    page = web["viewer"].get(f"/calls/{call.id}").get_data(as_text=True)
    assert 'id="quality"' in page and "200 times in a row" in page and "unreliable" in page
    assert 'id="quality"' in web["viewer"].get(f"/files/{call.file_id}").get_data(as_text=True)
    listed = web["viewer"].get("/calls/?quality=needs_review").get_data(as_text=True)
    assert call.call_uuid in listed and healthy.split(".")[0] not in listed
    files_page = web["viewer"].get("/files/?quality=needs_review").get_data(as_text=True)
    assert loop in files_page and healthy not in files_page

    calls = web["viewer"].get("/api/batch/calls?quality=needs_review").get_json()
    assert [c["id"] for c in calls["items"]] == [call.id] and calls["items"][0]["quality"] == "needs_review"
    ok_calls = web["viewer"].get("/api/batch/calls?quality=ok").get_json()
    assert [c["call_uuid"] for c in ok_calls["items"]] == [healthy.split(".")[0]]
    files = web["viewer"].get("/api/batch/files?quality=needs_review").get_json()
    assert [f["file_name"] for f in files["items"]] == [loop]
    one = web["viewer"].get(f"/api/batch/calls/{call.id}").get_json()
    assert one["quality"] == "needs_review" and one["overall_score"] is None and one["quality_reasons"]
    assert web["viewer"].get("/api/batch/calls?quality=bad").status_code == 422
    spec = web["viewer"].get("/api/openapi.json").get_json()
    params = {p["name"] for p in spec["paths"]["/api/batch/calls"]["get"]["parameters"]}
    assert "quality" in params

    scores = reports.scores(reports.parse_filters({}))
    assert scores["count"] == 1 and scores["needs_review"] == 1
    assert "1 calls need review" in web["viewer"].get("/reports/").get_data(as_text=True)


@pytest.mark.slow
def test_the_embedded_default_files_a_looping_transcript_as_needs_review(tmp_path):
    """No DATABASE_URL, no REDIS_URL: SQLite, the in-process queue; the API filters read the same."""
    env = embedded_env(tmp_path / "instance", CALLBATCH_LOCAL_ROOTS=str(tmp_path))
    calls = tmp_path / "calls"
    calls.mkdir()
    loop, healthy = _loop_and_healthy(calls)
    run = run_flask(env, "batch", "run", str(calls), "--json")
    assert run.returncode == 0, run.stderr[-2000:]
    by_name = {f["file_name"]: f for f in json.loads(run.stdout)["files"]}
    assert by_name[loop]["quality"] == "needs_review" and by_name[loop]["overall_score"] is None
    assert by_name[healthy]["quality"] == "ok" and by_name[healthy]["overall_score"] is not None
    script = (
        "import json\n"
        "from webapp import create_app\n"
        "from webapp.extensions import db\n"
        "from webapp.models import User\n"
        "from webapp.services.tokens import create_token\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        "    user = User(email='v@example.com', role='viewer'); user.set_password('correct horse battery staple')\n"
        "    db.session.add(user); db.session.commit()\n"
        "    _token, text, _errors = create_token(user, 'test')\n"
        "client = app.test_client()\n"
        "auth = {'Authorization': 'Bearer ' + text}\n"
        "print(json.dumps([client.get('/api/batch/calls?quality=needs_review', headers=auth).get_json(),\n"
        "                  client.get('/api/batch/files?quality=needs_review', headers=auth).get_json()]))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    calls_json, files_json = json.loads(out.stdout.strip().splitlines()[-1])
    assert [c["call_uuid"] for c in calls_json["items"]] == [loop.split(".")[0]]
    assert calls_json["items"][0]["overall_score"] is None
    assert [f["file_name"] for f in files_json["items"]] == [loop]


@pytest.mark.slow
def test_a_recording_that_makes_the_model_loop_is_flagged_and_not_scored(ctx, cli, base_model, speak, tmp_path):
    """The third sample conversation, spoken by espeak-ng: the base model hears one word and
    repeats it for the rest of the clip (with the old decoding settings and the new alike).
    The call is filed needs review, with no score, and the healthy delivered one beside it is scored."""
    from tests.support.speech import asr_config
    from webapp import samples
    from webapp.extensions import db
    from webapp.models import SalesCall

    configure(
        scanning={"fileSettleSeconds": 0},
        analysis={"transcriber": {**asr_config(base_model, vad_filter=False), "type": "auto"}},
    )
    spoken = name("wav")
    speak(tmp_path / spoken, samples.SCRIPTS[2])
    delivered = write_call(tmp_path, seconds=2.0, text=" ".join(t for _s, _e, t in HEALTHY))
    result, report = run_json(cli, tmp_path)
    assert result.exit_code == 0, result.output
    calls = {c.file.file_name: c for c in db.session.scalars(sa.select(SalesCall))}
    looped = calls[spoken]
    assert looped.engine == "faster_whisper" and looped.transcript, "the model wrote nothing"
    assert looped.quality == "needs_review" and looped.overall_score is None, looped.transcript[:200]
    assert {"repetition", "compression"} <= {r["code"] for r in looped.quality_reasons}, looped.quality_reasons
    assert looped.metrics["quality"]["phrase_repeats"] > quality.MAX_PHRASE_REPEATS
    assert calls[delivered].quality == "ok" and calls[delivered].overall_score is not None
    assert {f["file_name"]: f["quality"] for f in report["files"]} == {spoken: "needs_review", delivered: "ok"}


def test_the_decoding_defaults_are_the_measured_ones_and_their_limits_are_checked():
    from webapp.analysis.transcribers.faster_whisper import FasterWhisperTranscriber

    default = FasterWhisperTranscriber({"type": "faster_whisper"})
    assert default.vad_filter is True and default.condition_on_previous_text is False
    assert default.compression_ratio_threshold == 2.4 and default.temperature_fallback is False
    assert default.hallucination_silence_threshold == 0 and default._temperatures() == 0.0
    fallback = FasterWhisperTranscriber({"type": "faster_whisper", "temperature_fallback": True})
    assert fallback._temperatures() == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    fields = {f.name: f.default for f in FasterWhisperTranscriber.fields}
    assert fields["vad_filter"] is True and fields["compression_ratio_threshold"] == 2.4
    assert FasterWhisperTranscriber.validate_config(
        {"compression_ratio_threshold": -1, "hallucination_silence_threshold": "2"}
    ) == ["Repetition limit: a number from 0 to 100.", "Skip silence inside made-up text: a number from 0 to 60."]
