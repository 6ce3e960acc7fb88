"""The `openai` transcriber and scorer against a local HTTP stand-in speaking the OpenAI API."""

import json

import pytest
import sqlalchemy as sa
from werkzeug import Response

from tests.support.helpers import configure, run_json, wait_for
from tests.support.recordings import name, write_wav
from tests.support.transcripts import CLOSED_DEAL

KEY = "sk-test-not-a-real-key"


@pytest.fixture(scope="session")
def httpserver_listen_address():
    return ("127.0.0.1", 0)


@pytest.fixture
def api(httpserver, monkeypatch):
    monkeypatch.setenv("CALLBATCH_TEST_OPENAI_API_KEY", KEY)
    return httpserver


def transcriber_config(api, **extra):
    return {
        "type": "openai",
        "model": "whisper-1",
        "base_url": api.url_for("/v1"),
        "api_key_env": "CALLBATCH_TEST_OPENAI_API_KEY",
        "timeout": 5,
        **extra,
    }


VERBOSE = {
    "task": "transcribe",
    "language": "hebrew",
    "duration": 4.0,
    "text": "שלום, מדברת נועה. כן, שלום.",
    "segments": [
        {
            "id": 0,
            "seek": 0,
            "start": 0.0,
            "end": 2.1,
            "text": " שלום, מדברת נועה.",
            "tokens": [],
            "temperature": 0.0,
            "avg_logprob": -0.2,
            "compression_ratio": 1.0,
            "no_speech_prob": 0.01,
        },
        {
            "id": 1,
            "seek": 0,
            "start": 2.4,
            "end": 3.6,
            "text": " כן, שלום.",
            "tokens": [],
            "temperature": 0.0,
            "avg_logprob": -0.2,
            "compression_ratio": 1.0,
            "no_speech_prob": 0.01,
        },
    ],
}


def test_transcriber_sends_the_expected_request_and_reads_segments(ctx, api, tmp_path):
    from webapp.analysis import provider

    audio = write_wav(tmp_path / name("wav"), seconds=0.5)
    api.expect_request("/v1/audio/transcriptions", method="POST").respond_with_json(VERBOSE)
    transcript = provider("transcriber", transcriber_config(api)).transcribe(str(audio), 4.0)
    request, _ = api.log[0]
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert request.content_type.startswith("multipart/form-data")
    form = request.form.to_dict(flat=False)
    assert form["model"] == ["whisper-1"] and form["language"] == ["he"]
    assert form["response_format"] == ["verbose_json"]
    assert form["timestamp_granularities[]"] == ["segment"]
    assert request.files["file"].filename == audio.name
    assert request.files["file"].read() == audio.read_bytes()
    assert transcript.language == "he" and transcript.engine == "openai" and transcript.model == "whisper-1"
    assert [(s.start, s.end, s.text) for s in transcript.segments] == [
        (0.0, 2.1, "שלום, מדברת נועה."),
        (2.4, 3.6, "כן, שלום."),
    ]


def test_text_only_models_give_one_segment_over_the_call(ctx, api, tmp_path):
    from webapp.analysis import provider

    audio = write_wav(tmp_path / name("wav"), seconds=0.5)
    api.expect_request("/v1/audio/transcriptions").respond_with_json({"text": "שלום וברכה"})
    transcript = provider("transcriber", transcriber_config(api, model="gpt-4o-transcribe")).transcribe(str(audio), 7.5)
    assert api.log[0][0].form["response_format"] == "json"
    assert [(s.start, s.end, s.text) for s in transcript.segments] == [(0.0, 7.5, "שלום וברכה")]


def test_the_key_is_never_stored_in_settings(ctx):
    from webapp.analysis.transcribers.openai import OpenAITranscriber

    messages = OpenAITranscriber.validate_config({"type": "openai", "api_key": "sk-123"})
    assert any("never stored" in m for m in messages)


def test_rate_limit_fails_as_processing_then_the_retry_succeeds(cli, ctx, api, tmp_path):
    from webapp.extensions import db
    from webapp.models import FileEvent, SalesCall

    folder = tmp_path / "calls"
    folder.mkdir()
    write_wav(folder / name("wav"), seconds=0.5)
    api.expect_oneshot_request("/v1/audio/transcriptions").respond_with_json(
        {"error": {"message": "Rate limit reached for whisper-1", "type": "requests", "code": "rate_limit_exceeded"}},
        status=429,
    )
    api.expect_request("/v1/audio/transcriptions").respond_with_json(VERBOSE)
    configure(
        scanning={"fileSettleSeconds": 0},
        retryPolicy={"maxRetries": 2, "delaySeconds": 1, "exponentialBackoff": False},
        analysis={"transcriber": transcriber_config(api)},
    )
    result, report = run_json(cli, folder, "--workers", "1")
    assert report and report["totals"]["completed"] == 1, (result.output, report)
    assert len(api.log) == 2
    failed = db.session.scalars(sa.select(FileEvent).where(FileEvent.to_status == "failed")).one()
    assert failed.details["code"] == "TRANSCRIPTION_FAILED" and failed.details["category"] == "processing"
    assert "429" in failed.message and "Rate limit reached" in failed.message
    call = db.session.scalars(sa.select(SalesCall)).one()
    assert call.engine == "openai" and call.segments[1]["text"] == "כן, שלום."


def test_timeout_is_a_processing_error(ctx, api, tmp_path):
    import time

    from webapp.analysis import provider
    from webapp.errors import ProcessingError

    audio = write_wav(tmp_path / name("wav"), seconds=0.5)

    def slow(request):
        time.sleep(1.5)
        return Response(json.dumps(VERBOSE), content_type="application/json")

    api.expect_request("/v1/audio/transcriptions").respond_with_handler(slow)
    with pytest.raises(ProcessingError) as caught:
        provider("transcriber", transcriber_config(api, timeout=1)).transcribe(str(audio), 1.0)
    assert caught.value.code == "TRANSCRIPTION_FAILED" and caught.value.retryable
    assert "did not answer in time" in caught.value.message
    wait_for(lambda: api.log, timeout=5, message="the slow answer to finish")  # not to leak into the next test


def scorer_config(api, **extra):
    return {
        "type": "openai",
        "model": "gpt-4o-mini",
        "base_url": api.url_for("/v1"),
        "api_key_env": "CALLBATCH_TEST_OPENAI_API_KEY",
        "timeout": 5,
        **extra,
    }


def completion(content):
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content, "refusal": None}}
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def answer(**overrides):
    ids = ["opening", "discovery", "offer", "objection", "closing", "courtesy"]
    criteria = [{"id": i, "applicable": True, "score": 80, "reason": "ok", "evidence": []} for i in ids]
    criteria[0]["evidence"] = [{"quote": "בוקר טוב, כאן דני ממוקד המכירות של ביטוח ישיר."}]
    criteria[3].update(score=100, evidence=[{"quote": "אני מבין."}])
    criteria[5].update(applicable=False, score=0)
    for c in criteria:
        c.update(overrides.get(c["id"], {}))
    return {"criteria": criteria}


def test_scorer_sends_the_rubric_with_a_json_schema_and_returns_the_scorecard(ctx, api):
    from webapp.analysis import provider

    api.expect_request("/v1/chat/completions", method="POST").respond_with_json(
        completion(json.dumps(answer(), ensure_ascii=False))
    )
    scores, overall = provider("scorer", scorer_config(api)).score(CLOSED_DEAL)
    body = json.loads(api.log[0][0].get_data())
    assert body["model"] == "gpt-4o-mini" and body["temperature"] == 0
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["strict"] is True
    assert "objection: Objection handling (price)" in body["messages"][1]["content"]
    assert "[13.5-18.0] agent: אני מבין." in body["messages"][1]["content"]
    by_id = {c["id"]: c for c in scores["criteria"]}
    assert overall == round((80 * 15 + 80 * 20 + 80 * 20 + 100 * 20 + 80 * 15) / 90, 1)
    assert by_id["courtesy"]["applicable"] is False and by_id["courtesy"]["score"] is None
    assert by_id["objection"]["evidence"] == [
        {"quote": "אני מבין.", "start": 13.5, "end": 14.2, "speaker": "agent", "found": True}
    ]
    assert by_id["opening"]["evidence"][0]["start"] == 0.5
    assert scores["scorer"] == "openai" and scores["model"] == "gpt-4o-mini"


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"criteria": [', "not valid JSON"),
        (
            json.dumps(
                {"criteria": [{"id": "opening", "applicable": True, "score": 50, "reason": "", "evidence": []}]}
            ),
            "incomplete: no score for discovery",
        ),
        (json.dumps(answer(offer={"score": 250})), "does not fit the scorecard: criteria.2.score"),
        ("", "gave no answer"),
    ],
)
def test_scorer_invalid_or_partial_output_is_a_clear_processing_error(ctx, api, content, message):
    from webapp.analysis import provider
    from webapp.errors import ProcessingError

    api.expect_request("/v1/chat/completions").respond_with_json(completion(content))
    with pytest.raises(ProcessingError) as caught:
        provider("scorer", scorer_config(api)).score(CLOSED_DEAL)
    assert caught.value.code == "SCORING_FAILED" and caught.value.category == "processing"
    assert message in caught.value.message


def test_scorer_rate_limit_then_success(ctx, api):
    from webapp.analysis import provider
    from webapp.errors import ProcessingError

    api.expect_oneshot_request("/v1/chat/completions").respond_with_json(
        {"error": {"message": "Rate limit reached", "type": "requests"}}, status=429
    )
    api.expect_request("/v1/chat/completions").respond_with_json(completion(json.dumps(answer())))
    scorer = provider("scorer", scorer_config(api))
    with pytest.raises(ProcessingError) as caught:
        scorer.score(CLOSED_DEAL)
    assert caught.value.code == "SCORING_FAILED" and "429" in caught.value.message
    scores, overall = scorer.score(CLOSED_DEAL)
    assert overall > 0 and len(api.log) == 2


LOCAL_SERVER_ANSWERS = [
    "```json\n{}\n```",
    "Here is the scorecard for this call:\n\n```\n{}\n```\nLet me know if you need anything else.",
    "Sure! {} I scored every criterion.",
]


@pytest.mark.parametrize("wrapping", LOCAL_SERVER_ANSWERS, ids=["fence", "fence-and-text", "text-around"])
def test_scorer_reads_the_scorecard_a_local_server_wraps_in_a_fence_or_text(ctx, api, wrapping):
    from webapp.analysis import provider

    content = wrapping.replace("{}", json.dumps(answer(), ensure_ascii=False, indent=1))
    api.expect_request("/v1/chat/completions").respond_with_json(completion(content))
    scores, overall = provider("scorer", scorer_config(api, model="qwen2.5-7b-instruct")).score(CLOSED_DEAL)
    assert overall == round((80 * 15 + 80 * 20 + 80 * 20 + 100 * 20 + 80 * 15) / 90, 1)
    assert scores["model"] == "qwen2.5-7b-instruct" and len(scores["criteria"]) == 6


def test_scorer_asks_again_with_the_schema_in_the_prompt_when_a_server_refuses_structured_output(ctx, api):
    from webapp.analysis import provider

    def server(request):
        body = json.loads(request.get_data())
        if "response_format" in body:  # as a server without structured output answers
            return Response(
                json.dumps({"error": {"message": "response_format json_schema is not supported"}}),
                status=400,
                content_type="application/json",
            )
        return Response(
            json.dumps(completion("```json\n" + json.dumps(answer()) + "\n```")), content_type="application/json"
        )

    api.expect_request("/v1/chat/completions").respond_with_handler(server)
    scores, overall = provider("scorer", scorer_config(api)).score(CLOSED_DEAL)
    assert overall > 0 and len(api.log) == 2
    second = json.loads(api.log[1][0].get_data())
    assert "response_format" not in second and '"required": ["criteria"]' in second["messages"][1]["content"]


def test_a_wrong_answer_from_a_model_server_is_a_clear_scoring_failure(ctx, api):
    from webapp.analysis import provider
    from webapp.errors import ProcessingError

    api.expect_request("/v1/chat/completions").respond_with_json(
        completion("I am sorry, I cannot score this conversation.")
    )
    with pytest.raises(ProcessingError) as caught:
        provider("scorer", scorer_config(api)).score(CLOSED_DEAL)
    assert caught.value.code == "SCORING_FAILED"
    assert caught.value.message.startswith("The scoring model's answer is not valid JSON")
    assert "it begins “I am sorry, I cannot score this conversation.”" in caught.value.message


def test_a_batch_scored_by_a_local_model_server_withholds_the_unreliable_call(cli, ctx, api, tmp_path):
    """Through a batch run: the good call is scored by the server; the looping one is filed as
    needs review without asking the server at all."""
    from tests.support.recordings import write_call
    from webapp.extensions import db
    from webapp.models import SalesCall

    api.expect_request("/v1/chat/completions").respond_with_json(
        completion("```json\n" + json.dumps(answer(), ensure_ascii=False) + "\n```")
    )
    configure(
        scanning={"fileSettleSeconds": 0},
        retryPolicy={"maxRetries": 0},
        analysis={"transcriber": {"type": "sidecar"}, "scorer": scorer_config(api, model="llama3.1")},
    )
    good = write_call(tmp_path, seconds=2.0, text="בוקר טוב, כאן דני ממוקד המכירות. אני מבין, תודה רבה.")
    loop = write_call(tmp_path, seconds=2.0, text=" ".join(["הלו"] * 200))
    result, report = run_json(cli, tmp_path)
    assert result.exit_code == 0, result.output
    calls = {c.file.file_name: c for c in db.session.scalars(sa.select(SalesCall))}
    assert calls[good].scores["scorer"] == "openai" and calls[good].scores["model"] == "llama3.1"
    assert calls[good].overall_score > 0 and calls[good].quality == "ok"
    assert calls[loop].quality == "needs_review" and calls[loop].overall_score is None
    assert len(api.log) == 1  # only the reliable call was sent to the server


def test_a_two_channel_recording_is_uploaded_one_channel_at_a_time(ctx, api, tmp_path):
    """The stand-in hears each uploaded channel: it answers one segment where that file is loud."""
    import io
    import wave

    import numpy as np

    from webapp.analysis import analyze

    def answer(request):
        with wave.open(io.BytesIO(request.files["file"].read())) as w:
            assert (w.getnchannels(), w.getframerate()) == (1, 16000)
            samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        loud = np.flatnonzero(np.abs(samples) > 1000)
        start, end = loud[0] / 16000, (loud[-1] + 1) / 16000
        text = "שלום, מדברת נועה." if start < 0.1 else "כן, שלום."
        return Response(
            json.dumps(
                {
                    "text": text,
                    "language": "hebrew",
                    "segments": [{"start": round(start, 2), "end": round(end, 2), "text": text}],
                }
            ),
            content_type="application/json",
        )

    api.expect_request("/v1/audio/transcriptions", method="POST").respond_with_handler(answer)
    clip = tmp_path / name("wav")
    rate, half = 8000, 4000
    left = np.concatenate([np.full(half, 12000), np.zeros(half)])  # the agent, first half
    right = np.concatenate([np.zeros(half), np.full(half, 12000)])  # the customer, second half
    with wave.open(str(clip), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.stack([left, right], axis=1).astype("<i2").tobytes())
    result = analyze(str(clip), None, {"transcriber": transcriber_config(api)}, 1.0)
    assert len(api.log) == 2
    assert [(s.speaker, s.start, s.end, s.text) for s in result.transcript.segments] == [
        ("agent", 0.0, 0.5, "שלום, מדברת נועה."),
        ("customer", 0.5, 1.0, "כן, שלום."),
    ]
    assert result.metrics["talk_ratio"] == 0.5 and result.metrics["speakers_from"] == "channels"
