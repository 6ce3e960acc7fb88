"""Speech-to-text through the OpenAI transcription API, or any server speaking it
(`base_url`). The key comes from an environment variable named in the settings."""

import os
import tempfile

from flask_babel import lazy_gettext as _l

from ...errors import ProcessingError, technical
from ...providers.storage.base import Field
from .. import openai_client
from ..audio import write_wav
from ..result import Segment, Transcript

DEFAULT_MODEL = "whisper-1"
# Models that answer with timed segments (verbose_json); the others give text only.
SEGMENTED = ("whisper-1",)


class OpenAITranscriber:
    type = "openai"
    label = _l("OpenAI transcription API (or a compatible server)")
    fields = (
        Field("model", _l("Model"), required=True, default=DEFAULT_MODEL, help=_l("e.g. whisper-1, gpt-4o-transcribe")),
        openai_client.BASE_URL_FIELD,
        openai_client.KEY_ENV_FIELD,
        Field("language", _l("Language"), default="he"),
        openai_client.TIMEOUT_FIELD,
        Field("prompt", _l("Prompt"), help=_l("Optional vocabulary hint (product and company names).")),
    )

    def __init__(self, config):
        self.config = dict(config)
        self.model = config.get("model") or DEFAULT_MODEL
        self.language = config.get("language", "he") or None
        self.prompt = config.get("prompt") or None
        segmented = config.get("segments")
        self.segmented = self.model in SEGMENTED if segmented is None else bool(segmented)

    @classmethod
    def validate_config(cls, config):
        return openai_client.validate(config, DEFAULT_MODEL)

    def transcribe(self, audio_path, duration, companions=None):
        import openai

        client = openai_client.make_client(self.config)
        options = {"model": self.model, "response_format": "verbose_json" if self.segmented else "json"}
        if self.segmented:
            options["timestamp_granularities"] = ["segment"]
        if self.language:
            options["language"] = self.language
        if self.prompt:
            options["prompt"] = self.prompt
        try:
            with open(audio_path, "rb") as audio, openai_client.guarded("TRANSCRIPTION_FAILED"):
                answer = client.audio.transcriptions.create(file=(os.path.basename(audio_path), audio), **options)
        except openai.OpenAIError as exc:
            raise openai_client.failure(exc, "TRANSCRIPTION_FAILED", "transcription") from exc
        except OSError as exc:
            raise ProcessingError(
                "The recording could not be read for upload.",
                code="TRANSCRIPTION_FAILED",
                details={"error": technical(exc)},
            ) from exc
        return self._transcript(answer, duration)

    def transcribe_audio(self, audio, duration):
        """One channel's 16 kHz samples, uploaded as a WAV file of their own (the API takes files)."""
        with tempfile.TemporaryDirectory(prefix="callbatch-channel-") as tmp:
            path = os.path.join(tmp, "channel.wav")
            write_wav(path, audio)
            return self.transcribe(path, duration)

    def _transcript(self, answer, duration):
        try:
            text = (answer.text or "").strip()
            raw = getattr(answer, "segments", None) or []
            segments = [
                Segment(float(_get(s, "start")), float(_get(s, "end")), str(_get(s, "text")).strip()) for s in raw
            ]
        except (AttributeError, TypeError, ValueError, KeyError) as exc:
            raise ProcessingError(
                f"The transcription service answered in an unexpected shape: {exc}", code="TRANSCRIPTION_FAILED"
            ) from exc
        if not segments and text:
            segments = [Segment(0.0, float(duration or 0.0), text)]  # the model gives no timings
        language = _language(getattr(answer, "language", None)) or self.language
        return Transcript(
            text or " ".join(s.text for s in segments), [s for s in segments if s.text], language, self.type, self.model
        )


def _get(item, name):
    return item[name] if isinstance(item, dict) else getattr(item, name)


def _language(value):
    """verbose_json names the language in English ('hebrew'); keep codes as they are."""
    if not value:
        return None
    return {"hebrew": "he", "english": "en", "arabic": "ar", "russian": "ru"}.get(value.lower(), value[:10])
