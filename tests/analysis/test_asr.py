"""Real speech-to-text with the assembled Whisper base model on espeak-ng Hebrew clips.
Synthetic Hebrew is transcribed poorly by a base model, so these check the path (Hebrew
script, segment times inside the clip, one model load per process), not the words."""

import json
import os

import pytest
import sqlalchemy as sa

from tests.support.helpers import configure, run_json
from tests.support.recordings import name
from tests.support.speech import asr_config, hebrew_letters

pytestmark = pytest.mark.slow


def test_base_model_transcribes_a_short_hebrew_clip(ctx, base_model, speak, tmp_path):
    from webapp.analysis import provider
    from webapp.analysis.transcribers import faster_whisper

    clip = tmp_path / name("wav")
    timeline = speak(clip)
    duration = timeline[-1]["end"] + 0.45
    assert duration <= 15
    transcriber = provider("transcriber", asr_config(base_model))
    transcript = transcriber.transcribe(str(clip), duration)
    assert transcript.engine == "faster_whisper" and transcript.model == "whisper-base"
    assert transcript.language == "he"
    assert transcript.segments, "no segments"
    assert hebrew_letters(transcript.text) >= 5, transcript.text
    for seg in transcript.segments:
        assert 0 <= seg.start < seg.end <= duration + 0.5, (seg, duration)
    loads = faster_whisper.LOADS["count"]
    again = provider("transcriber", asr_config(base_model)).transcribe(str(clip), duration)
    assert faster_whisper.LOADS["count"] == loads  # same process: the model is reused
    assert again.text == transcript.text  # greedy at temperature 0 is deterministic


def test_batched_decoding_transcribes_a_call_longer_than_one_window(ctx, base_model, tmp_path, monkeypatch):
    """A one-minute sample call (the conversations one after another) through VAD + batched
    decoding: Hebrew, in order, inside the clip, and past the first 30-s window."""
    import random
    import wave

    from webapp import samples
    from webapp.analysis import provider

    # The sample's speed and pauses are drawn at random; a fixed draw makes the clip, and so
    # where the decoder's windows fall, the same on every run.
    monkeypatch.setattr(samples, "random", random.Random(1))
    folder = tmp_path / "calls"
    (file_name,) = samples.make_folder(str(folder), 1, formats=("wav",), metadata=False, minutes=1)
    with wave.open(str(folder / file_name)) as w:
        duration = w.getnframes() / w.getframerate()
    timeline = json.loads((folder / file_name.replace(".wav", ".json")).read_text(encoding="utf-8"))["segments"]
    assert 60 <= duration <= 80 and timeline[-1]["end"] <= duration
    spoken = [s["text"] for s in timeline]
    in_turn = [line for script in samples.SCRIPTS * 2 for _speaker, line in script]
    assert spoken == in_turn[: len(spoken)] and len(spoken) > len(samples.SCRIPTS[0])  # the next one follows

    transcript = provider("transcriber", asr_config(base_model, vad_filter=True, batch_size=4)).transcribe(
        str(folder / file_name), duration
    )
    assert hebrew_letters(transcript.text) >= 50, transcript.text
    starts = [seg.start for seg in transcript.segments]
    assert starts == sorted(starts) and max(starts) > 30, starts
    for seg in transcript.segments:
        assert 0 <= seg.start < seg.end <= duration + 0.5, (seg, duration)


def test_silence_gives_an_empty_transcript_and_a_scorecard_that_says_so(ctx, base_model, tmp_path):
    import wave

    from webapp.analysis import analyze

    clip = tmp_path / name("wav")
    with wave.open(str(clip), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(bytes(16000 * 2 * 3))
    result = analyze(str(clip), None, {"transcriber": asr_config(base_model), "scorer": {"type": "rubric"}}, 3.0)
    assert result.transcript.text == "" and result.transcript.segments == []
    assert result.overall_score is None
    assert result.scores["empty"] is True
    assert "No speech" in result.scores["summary"]
    assert result.metrics["words"] == 0 and result.metrics["silence_share"] == 1.0


def test_a_missing_model_fails_as_a_processing_error(ctx, tmp_path):
    from webapp.analysis import provider
    from webapp.errors import ProcessingError

    transcriber = provider("transcriber", asr_config(str(tmp_path / "no-such-model")))
    with pytest.raises(ProcessingError) as caught:
        transcriber.transcribe(str(tmp_path / "x.wav"), 1.0)
    assert caught.value.code == "TRANSCRIPTION_FAILED" and caught.value.category == "processing"
    assert "install-base" in caught.value.message


def test_install_base_command_is_idempotent_and_can_select_the_model(cli, ctx, base_model):
    from webapp.batch import batch_config as settings

    dest = os.path.dirname(base_model)
    result = cli.invoke(args=["models", "install-base", "--dest", dest, "--use"])
    assert result.exit_code == 0, result.output
    assert "Already installed" in result.output
    transcriber = settings.load().analysis.transcriber
    assert transcriber["type"] == "auto" and transcriber["model"] == base_model  # delivered transcripts still win
    manifest = json.load(open(os.path.join(base_model, "callbatch-model.json")))
    assert os.path.getsize(os.path.join(base_model, "model.bin")) == manifest["model_bin_bytes"]


def test_one_worker_loads_the_model_once_for_several_files(cli, ctx, base_model, speak, workers, tmp_path, meta_for):
    from webapp.extensions import db
    from webapp.models import Customer, SalesCall

    folder = tmp_path / "calls"
    folder.mkdir()
    lines = [
        [("agent", "שלום, מדברת נועה מחברת אורנים.")],
        [("agent", "בוקר טוב, כאן דני ממוקד המכירות.")],
        [("customer", "המחיר גבוה מדי בשבילי.")],
    ]
    for script in lines:
        file_name = name("wav")
        speak(folder / file_name, script)
        meta_for(folder, file_name, phone="050-123-4567", name="יוסי כהן", agent="נועה")
    configure(
        scanning={"fileSettleSeconds": 0},
        retryPolicy={"maxRetries": 0},
        analysis={"transcriber": asr_config(base_model)},
    )
    workers(1)
    result, report = run_json(cli, folder, "--workers", "0")
    assert report, result.output
    assert report["totals"]["completed"] == 3, report
    calls = db.session.scalars(sa.select(SalesCall).order_by(SalesCall.id)).all()
    assert [c.stage_timings["model_loads"] for c in calls] == [1, 1, 1]
    assert sum(1 for c in calls if "model_load_ms" in c.stage_timings) == 1
    for call in calls:
        assert call.engine == "faster_whisper" and call.model == "whisper-base" and call.language == "he"
        assert hebrew_letters(call.transcript) > 0, call.transcript
        assert all(0 <= s["start"] < s["end"] <= call.duration_seconds + 0.5 for s in call.segments)
        assert {"download_ms", "asr_ms", "scoring_ms", "db_ms"} <= set(call.stage_timings)
        assert call.metrics["duration_seconds"] > 0 and "words" in call.metrics["quality"]
        # scored, or (the base model garbles synthetic Hebrew) withheld with the verdict's reasons
        assert call.scores["criteria"] if call.quality == "ok" else call.quality_reasons and not call.overall_score
        assert call.agent == "נועה"
    customer = db.session.scalars(sa.select(Customer)).one()
    assert customer.phone == "+972501234567" and customer.call_count == 3
