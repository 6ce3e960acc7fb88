"""The default transcriber: the phone system's transcript when one was delivered beside the
recording, else faster-whisper with the best model this installation has — the one named in
the settings, else the largest in the models folder, else the recommended Hebrew model,
downloaded once where a model hub is reachable.

When no model can be had, every file fails at once with the fix in its message, and is not
retried. The failure is remembered per process for the same settings and the same models
folder contents, so the next files do not try the download again; changing the settings or
installing a model forgets it. A `local_files_only` setting (the speech test from a web
request passes it) never downloads."""

import json

from flask_babel import lazy_gettext as _l

from ...errors import ModelUnavailable, TranscriptMissing
from ...providers.storage.base import Field
from .. import model_files
from .faster_whisper import FasterWhisperTranscriber, _models_dir
from .sidecar import SidecarTranscriber

# (settings, models folder, model chosen) -> the ModelUnavailable it ended in, in this process
_UNAVAILABLE = {}


class AutoTranscriber:
    type = "auto"
    label = _l("Automatic: the delivered transcript, else the best local speech model")
    fields = (
        Field(
            "model",
            _l("Model"),
            help=_l(
                "Leave empty for the largest model in the models folder, else %(recommended)s (downloaded "
                "once where a model hub is reachable). Or a local directory, a name in the models folder, "
                "or a hub name.",
                recommended=model_files.RECOMMENDED,
            ),
        ),
    ) + tuple(f for f in FasterWhisperTranscriber.fields if f.name not in ("model", "local_files_only"))

    def __init__(self, config):
        self.config = dict(config)
        self.sidecar = SidecarTranscriber(config)
        self.given_models_dir = config.get("models_dir")
        self.speech_options = {k: v for k, v in config.items() if k not in ("type", "model", "models_dir")}

    @classmethod
    def validate_config(cls, config):
        return FasterWhisperTranscriber.validate_config(
            {**config, "model": config.get("model") or model_files.RECOMMENDED}
        )

    @property
    def models_dir(self):
        return self.given_models_dir or _models_dir()  # looked up each time: the instance is kept per process

    def chosen_model(self):
        """The model used for recordings without a transcript: a name, directory or hub name."""
        if self.config.get("model"):
            return self.config["model"]
        found = model_files.best(self.models_dir)
        return found.path if found else model_files.RECOMMENDED

    def transcribe(self, audio_path, duration, **kwargs):
        try:
            return self.sidecar.transcribe(audio_path, duration, **kwargs)
        except TranscriptMissing as missing:
            no_transcript = missing.message
        return self._speech(lambda speech: speech.transcribe(audio_path, duration), no_transcript)

    def delivered(self, audio_path, duration, companions=None):
        """The phone system's transcript delivered beside the recording, or None."""
        try:
            return self.sidecar.transcribe(audio_path, duration, companions=companions)
        except TranscriptMissing:
            return None

    def transcribe_audio(self, audio, duration):
        """One channel's samples through the chosen speech model (see diarizers.channels)."""
        return self._speech(lambda speech: speech.transcribe_audio(audio, duration))

    def transcribe_speech(self, audio_path, duration):
        """Speech-to-text with the chosen model, whatever lies beside the recording."""
        return self._speech(lambda speech: speech.transcribe(audio_path, duration))

    def _speech(self, run, no_transcript=None):
        model = self.chosen_model()
        key = (json.dumps(self.config, sort_keys=True), self.models_dir, model)
        remembered = _UNAVAILABLE.get(key)
        try:
            if remembered:
                raise remembered  # tried in this process already: fail fast, no second download
            speech = FasterWhisperTranscriber(
                {
                    **self.speech_options,
                    "model": model,
                    "models_dir": self.models_dir,
                    "local_files_only": bool(self.config.get("local_files_only")),
                }
            )
            return run(speech)
        except ModelUnavailable as err:
            _UNAVAILABLE[key] = err
            message = err.message
            if no_transcript:
                message = f"{no_transcript[:-1]}, and {message[0].lower() + message[1:]}"
            raise ModelUnavailable(message, details={**err.details, "tried_before": bool(remembered)}) from None
