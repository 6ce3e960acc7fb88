"""Call metrics from a transcript's timed segments."""
from . import hebrew

MONOLOGUE_GAP = 1.5  # seconds of pause that still belong to the same turn


def compute(transcript, duration):
    segments = sorted(transcript.segments, key=lambda s: s.start)
    end = max([s.end for s in segments], default=0.0)
    duration = float(duration) if duration else end
    words = sum(hebrew.word_count(s.text) for s in segments)
    speech = _union_length([(s.start, s.end) for s in segments], duration)
    questions = [s for s in segments for sentence in hebrew.sentences(s.text) if hebrew.is_question(sentence)]
    metrics = {
        "duration_seconds": round(duration, 2),
        "words": words,
        "words_per_minute": round(words / (duration / 60), 1) if duration > 0 else 0.0,
        "questions_asked": len(questions),
        "longest_monologue_seconds": round(_longest_turn(segments), 2),
        "speech_seconds": round(speech, 2),
        "silence_share": round(max(0.0, 1 - speech / duration), 3) if duration > 0 else 1.0,
        "segments": len(segments),
    }
    speakers = {s.speaker for s in segments if s.speaker}
    if speakers:
        metrics["questions_by_speaker"] = {sp: sum(1 for s in questions if s.speaker == sp) for sp in sorted(speakers)}
        metrics["talk_share"] = {
            sp: round(_union_length([(s.start, s.end) for s in segments if s.speaker == sp], duration) / speech, 3)
            if speech else 0.0 for sp in sorted(speakers)
        }
    return metrics


def _union_length(intervals, limit):
    total, current = 0.0, None
    for start, end in sorted((max(0.0, a), min(limit, b)) for a, b in intervals if b > a):
        if current and start <= current[1]:
            current[1] = max(current[1], end)
            continue
        if current:
            total += current[1] - current[0]
        current = [start, end]
    if current:
        total += current[1] - current[0]
    return total


def _longest_turn(segments):
    """The longest stretch one speaker holds the floor (pauses under MONOLOGUE_GAP included).
    Without speaker labels nobody can be told apart: the longest single segment counts."""
    longest, turn = 0.0, None
    for seg in segments:
        if turn and seg.speaker == turn["speaker"] and seg.start - turn["end"] <= MONOLOGUE_GAP \
                and (seg.speaker is not None):
            turn["end"] = max(turn["end"], seg.end)
        else:
            turn = {"speaker": seg.speaker, "start": seg.start, "end": seg.end}
        longest = max(longest, turn["end"] - turn["start"])
    return longest
