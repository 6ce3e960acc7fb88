"""No speaker split: the recording is transcribed as one (a two-channel file is mixed down)."""


class NoDiarizer:
    type = "none"
    label = "None: transcribe the recording as one channel"
    fields = ()

    def __init__(self, config):
        pass

    @classmethod
    def validate_config(cls, config):
        return []

    def transcribe(self, transcriber, audio_path, duration, companions=None):
        return transcriber.transcribe(audio_path, duration, companions=companions)
