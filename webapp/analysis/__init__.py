"""Analysis of one recording: transcription (with who spoke, see diarizers), then scoring. Providers are built once per
process and reused for every file (an ASR model is loaded once per worker)."""

import json
import time
from functools import lru_cache

from ..errors import ConfigError, ProcessingError
from ..providers.storage.base import Companions
from . import metadata, metrics, pii, quality
from .diarizers import DIARIZERS
from .result import Analysis
from .scorers import SCORERS
from .transcribers import TRANSCRIBERS

REGISTRIES = {"transcriber": TRANSCRIBERS, "diarizer": DIARIZERS, "scorer": SCORERS}
DEFAULT_SCORER = {"type": "rubric"}
DEFAULT_DIARIZER = {"type": "channels"}


def analyze(audio_path, folder, defaults, duration=None, companions=None):
    """Transcribe and score one recording with the folder's providers (or the defaults), and
    read the customer metadata delivered with it. `companions` gives the files delivered
    beside the recording (from the folder's storage, see providers.storage.base.Companions)."""
    companions = companions or Companions.none(audio_path)
    meta, notes = metadata.read(companions)
    transcript, timings = _transcribe(audio_path, folder, defaults, duration, companions)
    # Redacted before anything reads the words: the stored transcript, the search and the
    # scorer's quoted evidence never hold the personal data.
    redactions, silenced = pii.redact_transcript(transcript) if redacts(folder) else (None, None)
    started = time.perf_counter()
    call_metrics = metrics.compute(transcript, duration)
    verdict = quality.judge(transcript, duration)
    call_metrics["quality"] = verdict.signals
    if verdict.needs_review:  # a score read off an unreliable transcript would mislead: withhold it
        scores, overall = withheld(verdict), None
    else:
        scores, overall = _scorer(folder, defaults).score(transcript, duration)
    timings["scoring_ms"] = _ms(started)
    return Analysis(
        transcript=transcript,
        duration=duration,
        scores=scores,
        overall_score=overall,
        metrics=call_metrics,
        timings=timings,
        metadata=meta,
        notes=notes,
        redactions=redactions,
        redacted_spans=silenced,
        quality=verdict.quality,
        quality_reasons=verdict.reasons,
    )


def _transcribe(audio_path, folder, defaults, duration, companions):
    """(transcript with who spoke, timings of the speech step)."""
    started = time.perf_counter()
    transcriber = provider("transcriber", _choose(folder, defaults, "transcriber"))
    diarizer = provider("diarizer", _choose(folder, defaults, "diarizer") or DEFAULT_DIARIZER)
    transcript = diarizer.transcribe(transcriber, audio_path, duration, companions=companions)
    timings = {"asr_ms": _ms(started)}
    if transcript.stats.get("loaded_now"):
        timings["model_load_ms"] = transcript.stats["model_load_ms"]
    if "model_loads" in transcript.stats:
        timings["model_loads"] = transcript.stats["model_loads"]  # loads in this process so far
    return transcript, timings


def _scorer(folder, defaults):
    try:
        return provider("scorer", _choose(folder, defaults, "scorer") or DEFAULT_SCORER)
    except ConfigError as err:
        raise ProcessingError(
            "The scorer settings are not valid: " + "; ".join(err.messages), code="SCORING_FAILED", retryable=False
        ) from err


def redacts(folder):
    """Whether the folder's transcripts have their personal data replaced (analysis_config.redact)."""
    return bool(folder is not None and (folder.analysis_config or {}).get("redact"))


def withheld(verdict):
    """The scores document of a call whose transcript needs review: no criteria, no overall."""
    empty = any(r["code"] == "empty" for r in verdict.reasons)
    summary = (
        "No speech was found in the recording, so there was nothing to score."
        if empty
        else "The transcript is unreliable, so the call was not scored; listen to it and review it."
    )
    return {
        "withheld": True,
        "empty": empty,
        "overall": None,
        "summary": summary,
        "criteria": [],
        "quality": {"verdict": verdict.quality, "reasons": verdict.reasons},
    }


def _choose(folder, defaults, kind):
    own = (folder.analysis_config or {}).get(kind) if folder is not None else None
    return own or defaults.get(kind)


def _ms(started):
    return round((time.perf_counter() - started) * 1000, 1)


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
