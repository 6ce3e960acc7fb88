"""/api/batch/config/models and /test-speech: the installed speech models, and a test of the
speech engine on a bundled sample call (the same as `flask models list` and Settings)."""

from pydantic import BaseModel, ConfigDict

from ..services import speech_models as service
from . import bp
from .registry import operation

TAG = "config"


class TestSpeech(BaseModel):
    model_config = ConfigDict(extra="forbid")
    transcriber: dict | None = None


@operation(bp, "GET", "/batch/config/models", tag=TAG, summary="The installed speech models", role="admin")
def list_models():
    """Each model in the models folder: name, path, size and the settings and folders using it."""
    return {"models_dir": service.models_dir(), "models": service.installed()}


@operation(
    bp, "POST", "/batch/config/test-speech", tag=TAG, summary="Transcribe a sample call", role="admin", body=TestSpeech
)
def test_speech(body):
    """Transcribes a short bundled Hebrew sample call with the global transcriber, or with
    `transcriber` when given (unsaved settings), and answers {"ok", "text", "expected",
    "seconds", "engine", "model", "error"}; a failure is an answer with `ok` false and the
    reason in `error`."""
    return service.test_speech(body.transcriber)
