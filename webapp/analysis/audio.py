"""Reading a recording's channels (PyAV, as faster-whisper decodes) and writing samples back
to a WAV file."""

import wave
from dataclasses import replace

SAMPLING_RATE = 16000


def channel_count(path):
    """How many channels the recording's first audio stream has (0 when it has none)."""
    import av

    with av.open(path, mode="r", metadata_errors="ignore") as container:
        streams = container.streams.audio
        return streams[0].codec_context.channels if streams else 0


def split_channels(path):
    """(left, right) as 16 kHz mono float32 arrays."""
    from faster_whisper.audio import decode_audio

    return decode_audio(path, sampling_rate=SAMPLING_RATE, split_stereo=True)


def same_signal(left, right, tolerance=0.02):
    """Whether both channels carry the same sound (a mono call saved as stereo)."""
    import numpy as np

    if len(left) != len(right):
        return False
    loudest = float(np.max(np.abs(left), initial=0.0)) or 1.0
    return float(np.max(np.abs(left - right), initial=0.0)) <= tolerance * loudest


def write_wav(path, samples, rate=SAMPLING_RATE):
    """Float samples (-1..1) as a 16-bit mono WAV."""
    import numpy as np

    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def voiced_stretches(samples, min_silence_ms=500, pad_ms=200):
    """[(start, end)] sample ranges where someone speaks (Silero VAD, as faster-whisper uses),
    split at pauses of `min_silence_ms`: short enough to part two turns of one channel."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    found = get_speech_timestamps(samples, VadOptions(min_silence_duration_ms=min_silence_ms, speech_pad_ms=pad_ms))
    return [(c["start"], c["end"]) for c in found]


def windows(length, seconds=30.0, rate=SAMPLING_RATE):
    """Consecutive clips of at most `seconds` over `length` samples, in seconds (as
    BatchedInferencePipeline's clip_timestamps)."""
    total = length / rate
    starts = [i * seconds for i in range(int(total // seconds) + 1) if i * seconds < total]
    return [{"start": s, "end": min(total, s + seconds)} for s in starts]


def restore_times(segments, voiced, rate=SAMPLING_RATE):
    """Segments timed on the voiced stretches joined end to end, back on the recording's own
    clock: a segment running over the join of two stretches is cut into one piece per
    stretch, its words shared out by the pieces' lengths (pieces left without a word drop)."""
    spans, offset = [], 0.0  # (start in the joined audio, end there, start in the recording)
    for a, b in voiced:
        length = (b - a) / rate
        spans.append((offset, offset + length, a / rate))
        offset += length
    restored = []
    for seg in segments:
        pieces = [
            (max(seg.start, s), min(seg.end, e), origin - s)
            for s, e, origin in spans
            if min(seg.end, e) > max(seg.start, s)
        ]
        if len(pieces) <= 1:
            shift = pieces[0][2] if pieces else _shift_at(seg.start, spans)
            restored.append(replace(seg, start=seg.start + shift, end=seg.end + shift))
            continue
        words = seg.text.split()
        total = sum(e - s for s, e, _ in pieces)
        taken, elapsed = 0, 0.0
        for s, e, shift in pieces:
            elapsed += e - s
            upto = round(len(words) * elapsed / total)
            if upto > taken:
                restored.append(replace(seg, start=s + shift, end=e + shift, text=" ".join(words[taken:upto])))
                taken = upto
    return restored


def _shift_at(moment, spans):
    for s, e, origin in spans:
        if moment < e:
            return origin - s
    return spans[-1][2] - spans[-1][0] if spans else 0.0
