"""Transcripts delivered next to the recording by the phone system.

`<uuid>.json` ({"text", "language", "segments": [{"start", "end", "text", "speaker"}]}) is
preferred; `<uuid>.txt` is plain text, one utterance per line, spread evenly over the call."""
import json
import os

from ...errors import ProcessingError, TranscriptMissing
from ...providers.storage.base import Field
from ..result import Segment, Transcript


class SidecarTranscriber:
    type = "sidecar"
    label = "Transcript delivered beside the recording"
    fields = (
        Field("language", "Language", default="he", help="The calls' language when the transcript does not name it."),
    )

    def __init__(self, config):
        self.language = config.get("language", "he")

    @classmethod
    def validate_config(cls, config):
        return []

    def transcribe(self, audio_path, duration):
        stem = os.path.splitext(audio_path)[0]
        if os.path.exists(stem + ".json"):
            return self._from_json(stem + ".json")
        if os.path.exists(stem + ".txt"):
            return self._from_text(stem + ".txt", duration)
        name = os.path.basename(stem)
        raise TranscriptMissing(
            f"No transcript was delivered beside the recording (expected {name}.json or {name}.txt).",
            code="TRANSCRIPTION_FAILED",
        )

    def _from_json(self, path):
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
            segments = [
                Segment(float(s["start"]), float(s["end"]), str(s["text"]).strip(), s.get("speaker"))
                for s in data.get("segments", [])
            ]
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ProcessingError(
                f"The transcript file {os.path.basename(path)} is not valid: {exc}.", code="TRANSCRIPTION_FAILED"
            ) from exc
        text = data.get("text") or " ".join(s.text for s in segments)
        return Transcript(text, segments, data.get("language", self.language), self.type)

    def _from_text(self, path, duration):
        try:
            with open(path, encoding="utf-8") as f:
                lines = [line.strip() for line in f if line.strip()]
        except (OSError, UnicodeDecodeError) as exc:
            raise ProcessingError(
                f"The transcript file {os.path.basename(path)} could not be read: {exc}.",
                code="TRANSCRIPTION_FAILED",
            ) from exc
        step = (duration or 0) / len(lines) if lines else 0
        segments = [Segment(i * step, (i + 1) * step, line) for i, line in enumerate(lines)]
        return Transcript("\n".join(lines), segments, self.language, self.type)
