"""Call metrics from a transcript's timed segments; with speaker labels, the talk metrics
per speaker as Gong defines them (talk ratio, longest monologue, interruptions, patience,
questions, speech rate)."""

from . import hebrew

MONOLOGUE_GAP = 1.5  # seconds of pause that still belong to the same turn
OVERLAP = 0.1  # seconds a speaker must start before the other stops to interrupt
SIDES = ("agent", "customer")


def compute(transcript, duration):
    segments = sorted(transcript.segments, key=lambda s: s.start)
    end = max([s.end for s in segments], default=0.0)
    duration = float(duration) if duration else end
    words = sum(hebrew.word_count(s.text) for s in segments)
    speech = union_length([(s.start, s.end) for s in segments], duration)
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
            sp: round(union_length([(s.start, s.end) for s in segments if s.speaker == sp], duration) / speech, 3)
            if speech
            else 0.0
            for sp in sorted(speakers)
        }
    if speakers >= set(SIDES):
        metrics.update(talk(segments, duration))
    if transcript.stats.get("speakers_from"):
        metrics["speakers_from"] = transcript.stats["speakers_from"]
    return metrics


def talk(segments, duration):
    """The talk metrics of a call whose segments say who spoke (agent and customer):
    {"talk_ratio": the agent's share of the talking time, "patience_seconds": the agent's
    average pause before answering after the customer stops (None if the agent never
    answered), "interruptions": the number of times either started while the other talked,
    "speakers": {side: {talk_seconds, talk_share, longest_monologue_seconds, interruptions,
    questions, words, words_per_minute}}}."""
    segments = sorted((s for s in segments if s.speaker in SIDES), key=lambda s: (s.start, s.end))
    own = {side: [s for s in segments if s.speaker == side] for side in SIDES}
    monologues = _longest_turns(segments)
    seconds = {side: union_length([(s.start, s.end) for s in own[side]], duration) for side in SIDES}
    talking = sum(seconds.values())
    speakers = {}
    for side in SIDES:
        words = sum(hebrew.word_count(s.text) for s in own[side])
        speakers[side] = {
            "talk_seconds": round(seconds[side], 2),
            "talk_share": round(seconds[side] / talking, 3) if talking else 0.0,
            "longest_monologue_seconds": round(monologues.get(side, 0.0), 2),
            "interruptions": _interruptions(own[side], [s for s in segments if s.speaker != side]),
            "questions": sum(hebrew.is_question(sentence) for s in own[side] for sentence in hebrew.sentences(s.text)),
            "words": words,
            "words_per_minute": round(words / (seconds[side] / 60), 1) if seconds[side] > 0 else 0.0,
        }
    pauses = _answer_pauses(segments, "customer", "agent")
    return {
        "talk_ratio": speakers["agent"]["talk_share"],
        "patience_seconds": round(sum(pauses) / len(pauses), 2) if pauses else None,
        "interruptions": sum(speakers[side]["interruptions"] for side in SIDES),
        "speakers": speakers,
    }


def _interruptions(mine, theirs):
    """How many of `mine` start while one of `theirs` is still going."""
    return sum(1 for s in mine if any(o.start < s.start < o.end - OVERLAP for o in theirs))


def _answer_pauses(segments, asker, answerer):
    """The silences between the end of each `asker` turn and the `answerer` turn after it
    (an answer begun before the other stopped is an interruption, not a pause)."""
    pauses, turn_end, previous = [], None, None
    for seg in segments:
        if seg.speaker == asker:
            turn_end = seg.end if previous != asker else max(turn_end, seg.end)
        elif seg.speaker == answerer and previous == asker and seg.start >= turn_end:
            pauses.append(seg.start - turn_end)
        previous = seg.speaker
    return pauses


def union_length(intervals, limit=float("inf")):
    """Seconds covered by the (start, end) intervals, overlaps counted once, within 0..limit."""
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
    return max(_longest_turns(segments).values(), default=0.0)


def _longest_turns(segments):
    """{speaker: the longest stretch that speaker held the floor}; the other side speaking
    ends a turn."""
    longest, turn = {}, None
    for seg in segments:
        if (
            turn
            and seg.speaker == turn["speaker"]
            and seg.start - turn["end"] <= MONOLOGUE_GAP
            and (seg.speaker is not None)
        ):
            turn["end"] = max(turn["end"], seg.end)
        else:
            turn = {"speaker": seg.speaker, "start": seg.start, "end": seg.end}
        longest[seg.speaker] = max(longest.get(seg.speaker, 0.0), turn["end"] - turn["start"])
    return longest
