"""Analysis of one recording: transcription, then scoring. Providers are built once per
process and reused for every file (an ASR model is loaded once per worker)."""
import json
import time
from functools import lru_cache

from ..errors import ConfigError
from .result import Analysis
from .transcribers import TRANSCRIBERS

REGISTRIES = {"transcriber": TRANSCRIBERS}


def analyze(audio_path, folder, defaults, duration=None):
    """Transcribe and score one recording with the folder's providers (or the defaults)."""
    timings = {}
    started = time.perf_counter()
    transcriber = provider("transcriber", _choose(folder, defaults, "transcriber"))
    transcript = transcriber.transcribe(audio_path, duration)
    timings["asr_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return Analysis(transcript=transcript, duration=duration, timings=timings)


def _choose(folder, defaults, kind):
    own = (folder.analysis_config or {}).get(kind) if folder is not None else None
    return own or defaults[kind]


def provider(kind, config):
    """The provider instance for `config`, built once per process."""
    return _build(kind, json.dumps(config, sort_keys=True))


@lru_cache(maxsize=16)
def _build(kind, config_json):
    config = json.loads(config_json)
    registry = REGISTRIES[kind]
    name = config.get("type")
    if name not in registry:
        raise ConfigError([f"Unknown {kind} type '{name}' (known: {', '.join(sorted(registry))})."])
    cls = registry[name]
    messages = cls.validate_config(config)
    if messages:
        raise ConfigError(messages)
    return cls(config)
