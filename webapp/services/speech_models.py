"""Speech models for people (`flask models`, the Settings page, /api/batch/config/test-speech):
what is installed and who uses it, choosing one, and a test of the speech engine on a
bundled sample call."""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import sqlalchemy as sa
from flask import current_app

from .. import audit_log
from ..analysis import model_files, provider
from ..batch import batch_config
from ..batch.validation import probe
from ..errors import CallbatchError, ConfigError
from ..extensions import db
from ..models import ExternalFolder, User
from . import settings as settings_service

# A short two-voice Hebrew call (espeak-ng, as the demo's samples), 16 kHz Opus, 15 KB.
SAMPLE_CALL = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "static", "samples", "test-call.ogg"
)
SAMPLE_TEXT = "שלום, מדברת נועה מחברת אורנים תקשורת, מה שלומך? בסדר, תודה. במה מדובר?"
SPEECH_TYPES = ("auto", "faster_whisper")

log = logging.getLogger(__name__)


def models_dir() -> str:
    return current_app.config["MODELS_DIR"]


def installed() -> list[dict[str, Any]]:
    """[{"name", "path", "size_bytes", "used_by": [{"kind": "settings"|"folder", "id", "name"}]}],
    largest first. A folder without a transcriber of its own uses the global one."""
    where = models_dir()
    found = model_files.installed(where)
    used_by = {m.path: [] for m in found}
    global_transcriber = settings_service.current()["analysis"]["transcriber"]
    global_path = model_path(global_transcriber, where)
    if global_path in used_by:
        used_by[global_path].append({"kind": "settings", "id": None, "name": "global settings"})
    for folder in db.session.scalars(sa.select(ExternalFolder).order_by(ExternalFolder.name)):
        own = (folder.analysis_config or {}).get("transcriber")
        path = model_path(own, where) if own else global_path
        if path in used_by:
            used_by[path].append({"kind": "folder", "id": folder.id, "name": folder.name})
    return [{"name": m.name, "path": m.path, "size_bytes": m.size_bytes, "used_by": used_by[m.path]} for m in found]


def model_path(transcriber: dict[str, Any] | None, where: str) -> str | None:
    """The installed model directory a transcriber setting uses for speech, or None."""
    if not transcriber or transcriber.get("type") not in SPEECH_TYPES:
        return None
    if transcriber["type"] == "auto" and not transcriber.get("model"):
        found = model_files.best(where)
        return found.path if found else None
    return model_files.resolve(transcriber.get("model"), where)


def use(
    name: str, user: User | None = None, actor: str | None = None
) -> tuple[dict[str, Any] | None, list[dict[str, str]]]:
    """Make an installed model (a name in the models folder or a path) the global speech
    model. A faster_whisper setting keeps its type; any other becomes `auto` with the model,
    so delivered transcripts are still used. Returns (transcriber setting, errors)."""
    path = model_files.resolve(name, models_dir())
    if path is None:
        return None, [_no_such_model(name)]
    document = settings_service.current()
    current = document["analysis"]["transcriber"]
    transcriber = _with_model(current, path)
    document["analysis"]["transcriber"] = transcriber
    config, errors = batch_config.validate(document)
    if errors:
        return None, errors
    audit_log.record(
        "settings.model",
        ("settings", 1),
        before={"transcriber": current},
        after={"transcriber": transcriber},
        actor=actor,
        user=user,
    )
    batch_config.save(config)  # commits the audit row with it
    return transcriber, []


def _no_such_model(name):
    pull = f" Download it first with `flask models pull {name}`." if model_files.HUB_NAME.match(name or "") else ""
    return {
        "field": "model",
        "message": f"There is no speech model '{name}' in {models_dir()}."
        f"{pull} `flask models list` shows the installed ones.",
    }


def _with_model(current, path):
    """The transcriber setting `current` with the model at `path` for speech."""
    if current.get("type") == "faster_whisper":
        return {**current, "model": path}
    return {
        "type": "auto",
        "model": path,
        "language": "he",
        "compute_type": "int8",
        "beam_size": 1,
        "temperature": 0.0,
        "condition_on_previous_text": False,
    }


def pull(name: str, progress: bool = True) -> str:
    """Download a hub model into the models folder; returns its path (ModelUnavailable when
    it cannot be had)."""
    return model_files.download(name, models_dir(), progress=progress)


def test_speech(transcriber: dict[str, Any] | None = None, download: bool = True) -> dict[str, Any]:
    """Transcribe the bundled sample call with `transcriber` (default: the global one; the
    Settings page may pass the form's unsaved setting). With download=False (a web request)
    a hub model that is not installed is reported, never downloaded. Returns {"ok", "text",
    "expected", "seconds", "audio_seconds", "engine", "model", "error"}: a failure is
    reported, not raised."""
    transcriber = transcriber or settings_service.current()["analysis"]["transcriber"]
    if not download and transcriber.get("type") in SPEECH_TYPES:
        transcriber = {**transcriber, "local_files_only": True}
    started = time.perf_counter()
    outcome = {
        "ok": False,
        "text": "",
        "expected": SAMPLE_TEXT,
        "audio_seconds": None,
        "engine": None,
        "model": None,
        "error": None,
    }
    if transcriber.get("type") == "sidecar":
        outcome.update(
            engine="sidecar",
            seconds=0.0,
            error="This transcriber only reads the transcripts delivered beside the recordings: "
            "there is no speech engine to test.",
        )
        return outcome
    _transcribe_sample(transcriber, outcome)
    outcome["seconds"] = round(time.perf_counter() - started, 2)
    return outcome


def _transcribe_sample(transcriber, outcome):
    """Fill `outcome` with what `transcriber` made of the sample call, or why it failed."""
    try:
        engine = provider("transcriber", transcriber)
        duration, _sha = probe(SAMPLE_CALL)
        outcome["audio_seconds"] = round(duration, 1)
        speech = getattr(engine, "transcribe_speech", engine.transcribe)  # auto: its speech model, not a transcript
        result = speech(SAMPLE_CALL, duration)
        outcome.update(text=result.text.strip(), engine=result.engine, model=result.model)
        outcome["ok"] = bool(outcome["text"])
        if not outcome["ok"]:
            outcome["error"] = "The speech engine gave no text for a sample call full of speech."
    except ConfigError as err:
        outcome["error"] = "The speech-to-text settings are not valid: " + " ".join(err.messages)
    except CallbatchError as err:
        outcome["error"] = err.message
    except Exception:  # a test reports what went wrong; it never breaks the page
        log.exception("the speech test failed unexpectedly")
        outcome["error"] = "The speech engine stopped with an unexpected error; the server log has the details."
