"""Fixtures for the analysis tests: the real demo Whisper base model, assembled once per
run from its PyPI packages, and short Hebrew clips spoken by espeak-ng."""

import os
import shutil

import pytest

SHORT_CALL = [
    ("agent", "שלום, מדברת נועה מחברת אורנים."),
    ("customer", "כן, שלום."),
]


@pytest.fixture(scope="session")
def base_model(tmp_path_factory):
    """Path of the assembled Whisper base model (CTranslate2)."""
    from webapp.analysis import model_files

    path, _ = model_files.install_base(str(tmp_path_factory.mktemp("models")))
    return path


@pytest.fixture(scope="session")
def speak():
    """speak(path, lines) writes a Hebrew two-voice clip; returns its timeline."""
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is not installed (scripts/test installs it).")
    from webapp.samples import speak_call

    def make(path, lines=SHORT_CALL, **kwargs):
        return speak_call(str(path), lines, **kwargs)

    return make


def asr_config(model_path, **overrides):
    return {
        "type": "faster_whisper",
        "model": model_path,
        "language": "he",
        "compute_type": "int8",
        "cpu_threads": 2,
        "beam_size": 1,
        "temperature": 0.0,
        "condition_on_previous_text": False,
        **overrides,
    }


def hebrew_letters(text):
    return sum(1 for ch in text if "\u05d0" <= ch <= "\u05ea")


@pytest.fixture
def meta_for():
    def write(folder, file_name, **meta):
        stem = os.path.splitext(file_name)[0]
        import json

        with open(os.path.join(folder, stem + ".meta.json"), "w", encoding="utf-8") as f:
            json.dump(meta, f, ensure_ascii=False)

    return write
