"""How far a transcript can be trusted: a verdict from the speech engine's own signals
(average log-probability, no-speech probability) and from the text itself (how well it
compresses, phrases repeated over and over, words per minute of speech).

A transcript that fails any check "needs review": its call is filed, but its score is
withheld (no overall score), because a score read off a looping or empty transcript says
nothing about the call. Transcripts without engine signals (delivered beside the recording,
or from a server that gives none) are judged by the text alone."""

import zlib
from dataclasses import dataclass, field

from . import hebrew, metrics

OK = "ok"
NEEDS_REVIEW = "needs_review"
VERDICTS = (OK, NEEDS_REVIEW)

# Whisper's own limits (faster_whisper.transcribe: log_prob_threshold, no_speech_threshold,
# compression_ratio_threshold), applied to the whole transcript instead of one window.
MIN_AVG_LOGPROB = -1.0
MAX_NO_SPEECH_PROB = 0.6
MAX_COMPRESSION_RATIO = 2.4
# The compression ratio is measured over stretches of this many words: natural Hebrew
# stays near 1.6-2.0 there, a loop goes far above; a whole long call compresses better
# than any stretch of it, so the whole text would flag honest long calls.
COMPRESSION_WINDOW_WORDS = 50
# The same phrase (1 to MAX_PHRASE_WORDS words) said more than this many times in a row.
MAX_PHRASE_REPEATS = 4
MAX_PHRASE_WORDS = 4
# Words per minute of speech time; checked once there is enough speech to tell.
MIN_WORDS_PER_MINUTE = 15
MAX_WORDS_PER_MINUTE = 320
RATE_MIN_SPEECH_SECONDS = 20

REASON_CODES = ("empty", "low_confidence", "no_speech", "compression", "repetition", "speech_rate")


@dataclass
class Verdict:
    quality: str
    reasons: list = field(default_factory=list)  # [{"code", "value", "limit"}]
    signals: dict = field(default_factory=dict)

    @property
    def needs_review(self):
        return self.quality == NEEDS_REVIEW


def judge(transcript, duration=None):
    """The verdict on `transcript` (an analysis.result.Transcript)."""
    words = hebrew.normalize(transcript.text).split()
    signals = {"words": len(words)}
    reasons = []
    if not words:
        return Verdict(NEEDS_REVIEW, [_reason("empty", 0, 1)], signals)

    engine = _engine_signals(transcript.segments)
    signals.update(engine)
    if "avg_logprob" in engine and engine["avg_logprob"] < MIN_AVG_LOGPROB:
        reasons.append(_reason("low_confidence", engine["avg_logprob"], MIN_AVG_LOGPROB))
    if "no_speech_prob" in engine and engine["no_speech_prob"] > MAX_NO_SPEECH_PROB:
        reasons.append(_reason("no_speech", engine["no_speech_prob"], MAX_NO_SPEECH_PROB))

    signals["compression_ratio"] = worst_compression_ratio(transcript.text.split())
    if signals["compression_ratio"] > MAX_COMPRESSION_RATIO:
        reasons.append(_reason("compression", signals["compression_ratio"], MAX_COMPRESSION_RATIO))
    signals["phrase_repeats"] = longest_repeat(words)
    if signals["phrase_repeats"] > MAX_PHRASE_REPEATS:
        reasons.append(_reason("repetition", signals["phrase_repeats"], MAX_PHRASE_REPEATS))

    speech = metrics.union_length([(s.start, s.end) for s in transcript.segments]) or float(duration or 0)
    signals["speech_seconds"] = round(speech, 2)
    if speech >= RATE_MIN_SPEECH_SECONDS:
        rate = round(len(words) / (speech / 60), 1)
        signals["words_per_minute"] = rate
        if rate > MAX_WORDS_PER_MINUTE:
            reasons.append(_reason("speech_rate", rate, MAX_WORDS_PER_MINUTE))
        elif rate < MIN_WORDS_PER_MINUTE:
            reasons.append(_reason("speech_rate", rate, MIN_WORDS_PER_MINUTE))
    return Verdict(NEEDS_REVIEW if reasons else OK, reasons, signals)


def compression_ratio(text):
    """Bytes of the text over bytes of its zlib compression, as Whisper computes it."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def worst_compression_ratio(words):
    """The highest compression ratio of any stretch of COMPRESSION_WINDOW_WORDS words
    (stretches overlap by half; a shorter text is one stretch)."""
    size = COMPRESSION_WINDOW_WORDS
    starts = range(0, max(1, len(words) - size // 2), size // 2)
    return round(max(compression_ratio(" ".join(words[i : i + size])) for i in starts), 2)


def longest_repeat(words):
    """How many times in a row the most repeated phrase of 1 to MAX_PHRASE_WORDS words is said."""
    best = 1 if words else 0
    for n in range(1, MAX_PHRASE_WORDS + 1):
        for start in range(n):  # each phase of the text in steps of n
            run, previous = 1, None
            for i in range(start, len(words) - n + 1, n):
                phrase = tuple(words[i : i + n])
                run = run + 1 if phrase == previous else 1
                previous = phrase
                best = max(best, run)
    return best


def _engine_signals(segments):
    """Averages of the engine's per-segment signals, weighted by each segment's length."""
    timed = [s for s in segments if s.avg_logprob is not None]
    if not timed:
        return {}
    weights = [max(s.end - s.start, 0.01) for s in timed]
    total = sum(weights)
    weighted = list(zip(timed, weights, strict=True))
    found = {"avg_logprob": round(sum(s.avg_logprob * w for s, w in weighted) / total, 3)}
    if all(s.no_speech_prob is not None for s in timed):
        found["no_speech_prob"] = round(sum(s.no_speech_prob * w for s, w in weighted) / total, 3)
    return found


def _reason(code, value, limit):
    return {"code": code, "value": value, "limit": limit}
