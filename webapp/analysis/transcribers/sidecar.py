"""Transcripts delivered next to the recording by the phone system.

`<uuid>.json` ({"text", "language", "segments": [{"start", "end", "text", "speaker"}]}) is
preferred; `<uuid>.txt` is plain text, one utterance per line, spread evenly over the call.
Both are asked of the recording's folder (see providers.storage.base.Companions)."""

import json

from flask_babel import lazy_gettext as _l

from ...errors import ProcessingError, TranscriptMissing
from ...providers.storage.base import Companions, Field
from ..result import Segment, Transcript


class SidecarTranscriber:
    type = "sidecar"
    label = _l("Transcript delivered beside the recording")
    fields = (
        Field(
            "language",
            _l("Language"),
            default="he",
            help=_l("The calls' language when the transcript does not name it."),
        ),
    )

    def __init__(self, config):
        self.language = config.get("language", "he")

    @classmethod
    def validate_config(cls, config):
        return []

    def transcribe(self, audio_path, duration, companions=None):
        companions = companions or Companions.none(audio_path)
        name = companions.stem
        data = companions.read(name + ".json")
        if data is not None:
            return self._from_json(name + ".json", data)
        data = companions.read(name + ".txt")
        if data is not None:
            return self._from_text(name + ".txt", data, duration)
        raise TranscriptMissing(
            f"No transcript was delivered beside the recording (expected {name}.json or {name}.txt).",
            code="TRANSCRIPTION_FAILED",
        )

    def _from_json(self, file_name, data):
        try:
            data = json.loads(data.decode("utf-8"))
            segments = [
                Segment(float(s["start"]), float(s["end"]), str(s["text"]).strip(), s.get("speaker"))
                for s in data.get("segments", [])
            ]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ProcessingError(
                f"The transcript file {file_name} is not valid: {exc}.", code="TRANSCRIPTION_FAILED"
            ) from exc
        text = data.get("text") or " ".join(s.text for s in segments)
        return Transcript(text, segments, data.get("language", self.language), self.type)

    def _from_text(self, file_name, data, duration):
        try:
            lines = [line.strip() for line in data.decode("utf-8").splitlines() if line.strip()]
        except UnicodeDecodeError as exc:
            raise ProcessingError(
                f"The transcript file {file_name} could not be read: {exc}.",
                code="TRANSCRIPTION_FAILED",
            ) from exc
        step = (duration or 0) / len(lines) if lines else 0
        segments = [Segment(i * step, (i + 1) * step, line) for i, line in enumerate(lines)]
        return Transcript("\n".join(lines), segments, self.language, self.type)
