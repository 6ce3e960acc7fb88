"""Two-channel recordings: call-centre systems record the agent and the customer on separate
channels. Each channel is transcribed on its own (with VAD, so the silence on each channel
while the other side talks is skipped) and the segments are merged in time order, labelled
`agent` and `customer`.

Anything else passes through to the transcriber unchanged: a mono recording, a stereo file
whose two channels carry the same sound, a transcript the phone system delivered beside the
recording, and a transcriber that only reads delivered transcripts (`sidecar`)."""

from flask_babel import lazy_gettext as _l

from ...errors import ProcessingError, technical
from ...providers.storage.base import Field
from ..audio import channel_count, same_signal, split_channels
from ..result import Transcript

CHANNELS = ("1", "2")


class ChannelsDiarizer:
    type = "channels"
    label = _l("Two-channel recordings: agent on one channel, customer on the other")
    fields = (
        Field(
            "agent_channel",
            _l("Agent's channel"),
            kind="select",
            default="1",
            choices=(("1", _l("1 (left)")), ("2", _l("2 (right)"))),
            help=_l("The channel the phone system records the agent on; the customer is on the other."),
        ),
    )

    def __init__(self, config):
        self.agent_channel = str(config.get("agent_channel", "1"))

    @classmethod
    def validate_config(cls, config):
        if str(config.get("agent_channel", "1")) not in CHANNELS:
            return ["Agent's channel: 1 (left) or 2 (right)."]
        return []

    def transcribe(self, transcriber, audio_path, duration, companions=None):
        per_channel = getattr(transcriber, "transcribe_audio", None)
        delivered = getattr(transcriber, "delivered", None)
        found = delivered(audio_path, duration, companions=companions) if delivered else None
        if found is not None:
            return found
        if per_channel is None or not _two_channels(audio_path):
            return transcriber.transcribe(audio_path, duration, companions=companions)
        try:
            left, right = split_channels(audio_path)
        except Exception as exc:
            raise ProcessingError(
                "The recording's two channels could not be read.",
                code="TRANSCRIPTION_FAILED",
                details={"error": technical(exc)},
            ) from exc
        if same_signal(left, right):
            return transcriber.transcribe(audio_path, duration, companions=companions)
        agent, customer = (left, right) if self.agent_channel == "1" else (right, left)
        return merge({"agent": per_channel(agent, duration), "customer": per_channel(customer, duration)})


def _two_channels(audio_path):
    try:
        return channel_count(audio_path) == 2
    except Exception:
        return False  # unreadable here: the transcriber reports it in its own words


def merge(by_speaker):
    """One transcript from each speaker's own, its segments labelled and in time order."""
    segments = sorted(
        ((seg, speaker) for speaker, t in by_speaker.items() for seg in t.segments),
        key=lambda pair: (pair[0].start, pair[0].end),
    )
    for seg, speaker in segments:
        seg.speaker = speaker
    segments = [seg for seg, _speaker in segments]
    parts = list(by_speaker.values())
    first, last = parts[0], parts[-1]
    stats = {**last.stats, "loaded_now": any(t.stats.get("loaded_now") for t in parts), "speakers_from": "channels"}
    language = next((t.language for t in parts if t.segments and t.language), first.language)
    return Transcript(" ".join(s.text for s in segments), segments, language, first.engine, first.model, stats)
