"""No speaker split: the recording is transcribed as one (a two-channel file is mixed down)."""

from flask_babel import lazy_gettext as _l


class NoDiarizer:
    type = "none"
    label = _l("None: transcribe the recording as one channel")
    fields = ()

    def __init__(self, config):
        pass

    @classmethod
    def validate_config(cls, config):
        return []

    def transcribe(self, transcriber, audio_path, duration, companions=None):
        return transcriber.transcribe(audio_path, duration, companions=companions)
