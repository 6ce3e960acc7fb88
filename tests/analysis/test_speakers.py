"""Who spoke: two-channel recordings split per channel (agent and customer), the talk metrics
per speaker, and the rubric's speaker limits on a split recording. The ASR tests use real
Whisper on real espeak-ng stereo clips made here; they check where each channel spoke, not
the words (a base model hears synthetic Hebrew poorly), except "שלום", which it hears in
the `he` voice."""

import uuid
import wave
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
import sqlalchemy as sa

from tests.support.helpers import configure, run_json
from tests.support.recordings import name, write_wav
from tests.support.speech import asr_config
from webapp.analysis import metrics
from webapp.analysis.result import Segment, Transcript

# speak_call labels lines by voice: the `he` voice ("agent" there) says the greeting, and with
# agent_channel=2 it is on the right channel, which a folder with the default split (agent on
# channel 1) hears as the CUSTOMER. The left channel (the other voice) is the folder's agent.
GREETING_ON_THE_RIGHT = [
    ("agent", "שלום, מדברת נועה מחברת אורנים תקשורת, מה שלומך?"),
    ("customer", "בסדר, תודה. במה מדובר היום?"),
]


def _stereo_call(speak, path):
    """A real two-channel clip; returns {side as the default split hears it: [(start, end)]}."""
    timeline = speak(path, GREETING_ON_THE_RIGHT, stereo=True, agent_channel=2)
    heard_as = {"agent": "customer", "customer": "agent"}  # see GREETING_ON_THE_RIGHT
    spoken = {"agent": [], "customer": []}
    for line in timeline:
        spoken[heard_as[line["speaker"]]].append((line["start"], line["end"]))
    return spoken, timeline[-1]["end"] + 0.45


def _where_each_spoke(segments, spoken):
    """Every segment lies where its speaker's channel spoke (VAD padding allowed)."""
    for seg in segments:
        middle = (seg["start"] + seg["end"]) / 2
        assert any(
            a - 0.3 <= seg["start"] and seg["end"] <= b + 0.3 and a <= middle <= b for a, b in spoken[seg["speaker"]]
        ), (seg, spoken)


def _opening(segments, duration):
    """The rubric's opening criterion on these segments. Scored here rather than read off the
    call: the small test model's transcript of synthetic speech may be judged unreliable, and
    then the call's own score is withheld (analysis.quality)."""
    from webapp.analysis import provider
    from webapp.analysis.result import Segment, Transcript

    transcript = Transcript(" ".join(s["text"] for s in segments), [Segment(**s) for s in segments], "he", "test")
    scores, _overall = provider("scorer", {"type": "rubric"}).score(transcript, duration)
    return next(c for c in scores["criteria"] if c["id"] == "opening")


@pytest.mark.slow
def test_two_channel_call_comes_out_as_agent_and_customer_through_a_batch_run(
    cli, ctx, base_model, speak, workers, web, tmp_path
):
    from webapp.extensions import db
    from webapp.models import SalesCall

    folder = tmp_path / "calls"
    folder.mkdir()
    spoken, duration = _stereo_call(speak, folder / name("wav"))
    configure(
        scanning={"fileSettleSeconds": 0},
        retryPolicy={"maxRetries": 0},
        analysis={"transcriber": asr_config(base_model)},
    )  # the diarizer is left at its default
    workers(1)
    result, report = run_json(cli, folder, "--workers", "0")
    assert report and report["totals"]["completed"] == 1, result.output
    call = db.session.scalars(sa.select(SalesCall)).one()

    assert {s["speaker"] for s in call.segments} == {"agent", "customer"}, call.segments
    _where_each_spoke(call.segments, spoken)
    customer_text = " ".join(s["text"] for s in call.segments if s["speaker"] == "customer")
    assert "שלום" in customer_text, call.segments  # the greeting was heard, on the customer's channel
    assert call.overall_score is not None or call.quality == "needs_review"
    opening = _opening(call.segments, duration)
    assert "greeting" in opening["missing"], opening  # ...so it earns the agent nothing
    assert all(e["speaker"] == "agent" for e in opening["evidence"])

    assert call.metrics["speakers_from"] == "channels"
    sides = call.metrics["speakers"]
    assert sides["agent"]["talk_seconds"] > 0 and sides["customer"]["talk_seconds"] > 0
    assert call.metrics["talk_ratio"] == sides["agent"]["talk_share"]
    assert sides["customer"]["talk_seconds"] > sides["agent"]["talk_seconds"]  # the customer's line is longer
    assert call.metrics["interruptions"] == 0  # one channel at a time in this clip
    assert call.duration_seconds == pytest.approx(duration, abs=0.1)

    page = web["viewer"].get(f"/calls/{call.id}").get_data(as_text=True)
    assert 'id="talk-metrics"' in page and 'class="speaker-agent"' in page
    assert f"{call.metrics['talk_ratio'] * 100:.0f}%" in page


@pytest.mark.slow
def test_swapped_channels_and_mono(ctx, base_model, speak, tmp_path):
    from webapp.analysis import analyze

    clip = tmp_path / name("wav")
    spoken, duration = _stereo_call(speak, clip)
    transcriber = asr_config(base_model)

    swapped = analyze(
        str(clip), None, {"transcriber": transcriber, "diarizer": {"type": "channels", "agent_channel": "2"}}, duration
    )
    segments = [s.to_dict() for s in swapped.transcript.segments]
    _where_each_spoke(segments, {"agent": spoken["customer"], "customer": spoken["agent"]})
    assert "שלום" in " ".join(s["text"] for s in segments if s["speaker"] == "agent")
    assert "greeting" not in _opening(segments, duration)["missing"]  # now the agent greeted

    mono = analyze(str(clip), None, {"transcriber": transcriber, "diarizer": {"type": "none"}}, duration)
    assert mono.transcript.segments and all(s.speaker is None for s in mono.transcript.segments)
    assert "talk_ratio" not in mono.metrics and "speakers_from" not in mono.metrics


def test_a_delivered_transcript_wins_over_the_channel_split(ctx, tmp_path):
    """auto + a delivered transcript: no speech model is asked (none is installed here)."""
    import json

    from webapp.analysis import analyze
    from webapp.providers.storage.local import LocalStorage

    clip = tmp_path / name("wav")
    _write_stereo(clip, [0.3] * 8000, [0.0] * 4000 + [0.2] * 4000)
    stem = clip.stem
    (tmp_path / f"{stem}.json").write_text(
        json.dumps(
            {
                "segments": [
                    {"start": 0, "end": 0.4, "text": "שלום, מדברת נועה", "speaker": "agent"},
                    {"start": 0.5, "end": 1.0, "text": "כן?", "speaker": "customer"},
                ]
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    companions = LocalStorage({"path": str(tmp_path)}).companions_for(clip.name)
    result = analyze(
        str(clip),
        None,
        {"transcriber": {"type": "auto", "models_dir": str(tmp_path / "none")}},
        1.0,
        companions=companions,
    )
    assert result.transcript.engine == "sidecar"
    assert [s.speaker for s in result.transcript.segments] == ["agent", "customer"]


def test_channels_of_a_recording(tmp_path):
    from webapp.analysis import audio

    mono = write_wav(tmp_path / "mono.wav", 0.5, rate=16000)
    assert audio.channel_count(str(mono)) == 1
    stereo = tmp_path / "stereo.wav"
    _write_stereo(stereo, [0.5] * 8000, [0.0] * 8000)
    assert audio.channel_count(str(stereo)) == 2
    left, right = audio.split_channels(str(stereo))
    assert left.max() > 0.4 and abs(right).max() < 0.01
    assert not audio.same_signal(left, right)
    assert audio.same_signal(left, left.copy())


def test_segments_over_joined_speech_go_back_to_their_stretches():
    from webapp.analysis.audio import restore_times

    rate = 16000
    voiced = [(1 * rate, 3 * rate), (10 * rate, 12 * rate)]  # 2 s of speech at 1 s, 2 s at 10 s
    segments = [Segment(0.5, 1.5, "אחת"), Segment(1.5, 3.5, "שתיים שלוש ארבע חמש")]
    restored = restore_times(segments, voiced, rate)
    assert [(s.start, s.end, s.text) for s in restored] == [
        (1.5, 2.5, "אחת"),
        (2.5, 3.0, "שתיים"),
        (10.0, 11.5, "שלוש ארבע חמש"),
    ]


def _write_stereo(path, left, right, rate=8000):
    samples = (np.stack([np.array(left), np.array(right)], axis=1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())


# -- talk metrics on hand-built segments ---------------------------------------------------------


def _call(*lines):
    return Transcript("", [Segment(a, b, text, speaker) for speaker, a, b, text in lines], "he", "test")


def test_talk_ratio_patience_and_monologues():
    result = metrics.compute(
        _call(
            ("agent", 0.0, 10.0, "שלום מדברת נועה מחברת אורנים מה שלומך היום?"),
            ("customer", 11.0, 15.0, "בסדר תודה"),
            ("agent", 17.0, 20.0, "כמה אתם משלמים?"),  # 2.0 s after the customer stopped
            ("agent", 20.5, 25.0, "ומה חשוב לך?"),  # the same turn (pause under 1.5 s)
            ("customer", 26.0, 30.0, "המחיר"),
            ("agent", 31.0, 32.0, "מבין"),  # 1.0 s after
        ),
        32.0,
    )
    assert result["talk_ratio"] == round(18.5 / 26.5, 3)
    assert result["patience_seconds"] == 1.5  # (2.0 + 1.0) / 2
    assert result["interruptions"] == 0
    agent, customer = result["speakers"]["agent"], result["speakers"]["customer"]
    assert agent["talk_seconds"] == 18.5 and customer["talk_seconds"] == 8.0
    assert agent["longest_monologue_seconds"] == 10.0 and customer["longest_monologue_seconds"] == 4.0
    assert agent["questions"] == 3 and customer["questions"] == 0
    assert agent["words"] == 15 and agent["words_per_minute"] == round(15 / (18.5 / 60), 1)
    assert customer["words_per_minute"] == round(3 / (8 / 60), 1)


def test_interruptions_count_who_started_over_the_other():
    result = metrics.compute(
        _call(
            ("agent", 0.0, 6.0, "אני רוצה להציע לך מסלול חדש"),
            ("customer", 4.0, 8.0, "רגע רגע"),  # starts while the agent talks: the customer interrupts
            ("agent", 7.5, 9.0, "כן?"),  # starts while the customer talks: the agent interrupts
            ("customer", 9.0, 10.0, "לא"),  # starts as the agent stops: no interruption
            ("agent", 10.5, 12.0, "בסדר"),
        ),
        12.0,
    )
    assert result["speakers"]["customer"]["interruptions"] == 1
    assert result["speakers"]["agent"]["interruptions"] == 1
    assert result["interruptions"] == 2
    assert result["patience_seconds"] == 0.5  # only the answer after "לא" waited for the customer to stop
    assert result["talk_ratio"] == round(9.0 / 14.0, 3)  # agent 9 s, customer 5 s (the overlaps count for both)


def test_no_talk_metrics_without_both_speakers():
    unknown = metrics.compute(_call((None, 0.0, 3.0, "שלום"), (None, 3.0, 5.0, "כן")), 5.0)
    assert "talk_ratio" not in unknown and "speakers" not in unknown
    agent_only = metrics.compute(
        _call(
            ("agent", 0.0, 3.0, "שלום"),
        ),
        5.0,
    )
    assert "talk_ratio" not in agent_only
    never_answered = metrics.compute(_call(("agent", 0.0, 3.0, "שלום"), ("customer", 3.5, 5.0, "כן")), 5.0)
    assert never_answered["patience_seconds"] is None and never_answered["talk_ratio"] == round(3 / 4.5, 3)


# -- settings, samples, reports ------------------------------------------------------------------


def test_the_diarizer_is_chosen_and_checked_like_the_transcriber(ctx, tmp_path):
    from webapp.batch import batch_config as settings
    from webapp.services import folders as folder_service

    assert settings.defaults()["analysis"]["diarizer"] == {"type": "channels"}
    document = settings.defaults()
    document["analysis"]["diarizer"] = {"type": "channels", "agent_channel": "3"}
    _config, errors = settings.validate(document)
    assert errors == [{"field": "analysis.diarizer", "message": "Agent's channel: 1 (left) or 2 (right)."}]
    document["analysis"]["diarizer"] = {"type": "pyannote"}
    assert "Unknown diarizer type 'pyannote'" in settings.validate(document)[1][0]["message"]

    analysis, errors = folder_service.analysis_from_form({"analysis_diarizer": "channels-swapped"})
    assert analysis == {"diarizer": {"type": "channels", "agent_channel": "2"}} and not errors
    assert folder_service.analysis_form_values(analysis)["diarizer"] == "channels-swapped"
    assert folder_service.analysis_from_form({"analysis_diarizer": "none"})[0] == {"diarizer": {"type": "none"}}
    assert folder_service.validate_analysis({"diarizer": {"type": "channels", "agent_channel": 2}}) == (
        {"diarizer": {"type": "channels", "agent_channel": 2}},
        [],
    )


def test_sample_calls_can_be_two_channel(tmp_path):
    from webapp import samples

    names = samples.make_folder(str(tmp_path), 4, formats=("wav",), metadata=False, speak=False, stereo="some")
    channels = []
    for file_name in names:
        with wave.open(str(tmp_path / file_name)) as w:
            channels.append(w.getnchannels())
    assert channels == [1, 2, 1, 2]
    import json

    from webapp.analysis import audio

    stereo = tmp_path / names[1]
    timeline = json.loads((tmp_path / names[1].replace(".wav", ".json")).read_text(encoding="utf-8"))["segments"]
    left, right = audio.split_channels(str(stereo))
    for line in timeline:  # each side is heard on its own channel only, silent on the other
        a, b = int((line["start"] + 0.05) * 16000), int((line["end"] - 0.05) * 16000)
        own, other = (left, right) if line["speaker"] == "agent" else (right, left)
        assert np.abs(own[a:b]).max() > 0.05 and np.abs(other[a:b]).max() < 0.01, line


def test_samples_make_writes_two_channel_calls(cli, tmp_path):
    from webapp.analysis import audio

    result = cli.invoke(args=["samples", "make", str(tmp_path), "--count", "2", "--stereo", "all"])
    assert result.exit_code == 0, result.output
    recordings = sorted(p for p in tmp_path.iterdir() if not p.name.endswith(".json"))
    assert len(recordings) == 2 and [audio.channel_count(str(p)) for p in recordings] == [2, 2]


def test_reports_average_the_talk_metrics_per_agent(ctx, web):
    from webapp.extensions import db
    from webapp.models import SalesCall
    from webapp.services import reports

    now = datetime.now(timezone.utc)
    rows = [
        ("נועה", {"talk_ratio": 0.6, "patience_seconds": 1.0, "interruptions": 2}),
        ("נועה", {"talk_ratio": 0.4, "patience_seconds": None, "interruptions": 1}),
        ("דני", {"talk_ratio": 0.7, "patience_seconds": 0.5, "interruptions": 0}),
        ("דני", {"words": 10}),
    ]  # speakers unknown: left out
    for agent, call_metrics in rows:
        db.session.add(
            SalesCall(
                content_sha256=uuid.uuid4().hex * 2,
                call_uuid=str(uuid.uuid4()),
                agent=agent,
                metrics=call_metrics,
                created_at=now - timedelta(hours=1),
            )
        )
    db.session.commit()
    talk = reports.talk(reports.parse_filters({}))
    assert talk == [
        {"agent": "דני", "calls": 1, "talk_ratio": 0.7, "patience_seconds": 0.5, "interruptions": 0.0},
        {"agent": "נועה", "calls": 2, "talk_ratio": 0.5, "patience_seconds": 1.0, "interruptions": 1.5},
    ]
    page = web["viewer"].get("/reports/").get_data(as_text=True)
    assert 'id="talk-by-agent"' in page and "50%" in page and "1.00 s" in page
