"""The speech engine as the Settings page and the setup guide try it: "Test speech"
transcribes a sample call with a transcriber's settings (saved or only typed), and the
models installed in the models folder are listed with their sizes."""
import json
import os
import tempfile
import time

from flask import current_app

from .. import samples
from ..analysis import provider
from ..errors import CallbatchError, ConfigError

MAX_TEXT = 600


def test_speech(config):
    """Transcribe one synthetic Hebrew sample call (spoken by espeak-ng where installed, its
    phone-system transcript written beside it) with transcriber settings `config`; a model
    not installed yet is reported, never downloaded here. Returns
    {"ok", "engine", "text", "expected", "seconds", "audio_seconds"} or {"ok": False,
    "engine", "message"}."""
    engine = (config or {}).get("type") or "?"
    if engine == "faster_whisper":  # a model hub download is `flask models` work, not a web request's
        config = {**config, "local_files_only": True}
    try:
        transcriber = provider("transcriber", config or {})
    except ConfigError as err:
        return {"ok": False, "engine": engine, "message": "; ".join(err.messages)}
    with tempfile.TemporaryDirectory(prefix="callbatch-speech-") as tmp:
        name = samples.make_folder(tmp, count=1, formats=("wav",), metadata=False)[0]
        audio = os.path.join(tmp, name)
        with open(os.path.splitext(audio)[0] + ".json", encoding="utf-8") as f:
            segments = json.load(f)["segments"]
        audio_seconds = segments[-1]["end"] if segments else 0.0
        started = time.perf_counter()
        try:
            transcript = transcriber.transcribe(audio, audio_seconds)
        except CallbatchError as err:
            return {"ok": False, "engine": engine, "message": err.message}
        seconds = time.perf_counter() - started
    text = transcript.text.strip()
    return {"ok": bool(text), "engine": engine, "text": _short(text), "seconds": round(seconds, 2),
            "audio_seconds": round(audio_seconds, 1), "expected": _short(" ".join(s["text"] for s in segments)),
            "spoken": samples.can_speak(),
            "message": "" if text else "The engine answered with no text for a call full of speech."}


def installed_models():
    """[{"name", "path", "size"}] for each CTranslate2 model (a directory holding model.bin)
    in the models folder, the demo model included once installed."""
    root = current_app.config["MODELS_DIR"]
    found = []
    for base, dirs, files in os.walk(root):
        if "model.bin" in files:
            size = sum(os.path.getsize(os.path.join(base, f)) for f in files)
            found.append({"name": os.path.relpath(base, root), "path": base, "size": size})
            dirs[:] = []  # a model's own folders hold no other model
    return sorted(found, key=lambda m: m["name"])


def models_dir():
    return current_app.config["MODELS_DIR"]


def _short(text):
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT].rstrip() + "…"
