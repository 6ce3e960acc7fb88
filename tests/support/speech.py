"""Speech settings for the real demo Whisper base model (the `base_model` fixture) and the
short Hebrew conversation the `speak` fixture says by default."""

SHORT_CALL = [
    ("agent", "שלום, מדברת נועה מחברת אורנים."),
    ("customer", "כן, שלום."),
]


def asr_config(model_path, **overrides):
    """The transcriber settings for the base model at `model_path`: fast and deterministic."""
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
