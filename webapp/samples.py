"""Sample sales calls for the demo and the tests: a folder of recordings, each with the
transcript a phone system delivers beside it (`<uuid>.json`, the script as spoken; with
`transcripts="some"` only every other call has one, the others are left to the speech
model) and the customer metadata (`<uuid>.meta.json`; every sixth call has none and stays
unassigned).

With espeak-ng installed the calls are spoken Hebrew: two voices (`he` for the agent, `he+f3`
at a higher pitch for the customer), mixed to one telephone channel and encoded as wav, mp3,
ogg or m4a with ffmpeg. Without espeak-ng each line is a tone of the speaker's pitch. With
`stereo` the calls are two-channel recordings as call-centre systems make them: the agent on
channel 1 (left), the customer on channel 2 (right), each silent while the other talks."""

import itertools
import json
import math
import os
import random
import shutil
import struct
import subprocess
import tempfile
import uuid
import wave

# Short Hebrew sales conversations: (speaker, line).
SCRIPTS = [
    [
        ("agent", "שלום, מדברת נועה מחברת אורנים תקשורת, מה שלומך?"),
        ("customer", "בסדר, תודה. במה מדובר?"),
        ("agent", "רציתי לשאול, כמה אתם משלמים היום על האינטרנט בעסק?"),
        ("customer", "בערך מאתיים שקל בחודש, וזה יקר לי."),
        ("agent", "יש לנו מסלול סיבים במאה וארבעים שקל עם התקנה חינם."),
        ("customer", "נשמע טוב, אבל אני צריך לחשוב על זה."),
        ("agent", "בשמחה. אפשר לקבוע שיחה ביום שלישי בעשר כדי לסגור?"),
        ("customer", "כן, יום שלישי מתאים. תודה רבה."),
    ],
    [
        ("agent", "בוקר טוב, כאן דני ממוקד המכירות של ביטוח ישיר."),
        ("customer", "היי, כן."),
        ("agent", "מה חשוב לך בפוליסה לרכב? כיסוי מלא או רק צד ג'?"),
        ("customer", "כיסוי מלא, אבל המחיר שהציעו לי קודם היה גבוה מדי."),
        ("agent", "אני מבין. אם נצרף את הדירה נוכל לתת הנחה של חמישה עשר אחוז."),
        ("customer", "אוקיי, זה כבר נשמע אחרת."),
        ("agent", "מעולה, אז אני שולח לך עכשיו את ההצעה במייל לחתימה."),
        ("customer", "סגרנו. תודה."),
    ],
    [
        ("agent", "הלו, זה מחברת סולאר פלוס."),
        ("customer", "לא מעוניין, תודה."),
        ("agent", "רק דקה, אנחנו מציעים מערכת סולארית על הגג."),
        ("customer", "אמרתי שאני לא מעוניין."),
    ],
]

RATE = 8000
SPEECH_RATE = 16000
FORMATS = ("wav", "mp3", "ogg", "m4a")
VOICES = {"agent": ("he", 45), "customer": ("he+f3", 70)}  # espeak-ng voice, pitch 0-99
CUSTOMERS = [
    {"phone": "050-123-4567", "name": "יוסי כהן", "external_id": "CRM-1001"},
    {"phone": "+972 52 765 4321", "name": "מירב לוי", "external_id": "CRM-1002"},
    {"phone": "03-6123456", "name": "אבי מזרחי", "external_id": "CRM-1003"},
]
AGENTS = ["נועה", "דני", "רוני"]


def can_speak():
    return shutil.which("espeak-ng") is not None


TRANSCRIPTS = ("all", "some", "none")


def make_folder(path, count=6, formats=None, metadata=True, speak=None, minutes=0, transcripts="all", stereo=False):
    """Write `count` sample calls into `path`; returns their file names. `formats` rotates
    the containers (default: all four when ffmpeg is there, else wav); `speak` forces
    (True) or refuses (False) espeak-ng, default: use it when installed. With `minutes`,
    each call carries on through the next conversations until it is that long, as real
    sales calls are (one script alone lasts 10-40 s). `transcripts`: which calls come with
    the phone system's transcript — all, some (the 1st, 3rd, 5th, ...) or none. `stereo`:
    two-channel recordings (True for all; "some" for the 2nd, 4th, ...)."""
    os.makedirs(path, exist_ok=True)
    speak = can_speak() if speak is None else speak
    if formats is None:
        formats = FORMATS if speak and shutil.which("ffmpeg") else ("wav",)
    names = []
    for i in range(count):
        call_id = str(uuid.uuid4())
        target = os.path.join(path, f"{call_id}.{formats[i % len(formats)]}")
        two = stereo is True or stereo == "some" and i % 2 == 1
        segments = _record(target, _conversation(i, minutes), speak, minutes * 60, two)
        if transcripts == "all" or transcripts == "some" and i % 2 == 0:
            _write_json(os.path.join(path, f"{call_id}.json"), {"language": "he", "segments": segments})
        if metadata and i % 6 != 5:
            _write_json(os.path.join(path, f"{call_id}.meta.json"), _metadata(i))
        names.append(os.path.basename(target))
    return names


def _record(target, script, speak, seconds, stereo):
    """One sample recording at `target`, spoken by espeak-ng or as tones; returns its timeline."""
    if speak:
        # speed and pauses vary per call, so no two recordings have the same content
        return speak_call(
            target,
            script,
            speed=random.randint(150, 165),
            gap=random.uniform(0.35, 0.6),
            seconds=seconds,
            stereo=stereo,
        )
    segments = _timeline(script, seconds=seconds)
    _write_wav(target, segments, voice_shift=random.uniform(-20, 20), stereo=stereo)
    return segments


def _metadata(number):
    """The customer and agent facts delivered with sample call `number`."""
    return {
        **CUSTOMERS[number % len(CUSTOMERS)],
        "agent": AGENTS[number % len(SCRIPTS) % len(AGENTS)],
        "called_at": f"2026-11-{1 + number % 28:02d}T{9 + number % 8:02d}:15:00+02:00",
    }


def _write_json(path, document):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(document, f, ensure_ascii=False, indent=1)


def _conversation(number, minutes):
    """The lines of sample call `number`: its script, or with `minutes` every script in turn
    from it on, without end (the speaker stops once the call is long enough)."""
    if not minutes:
        return SCRIPTS[number % len(SCRIPTS)]
    return itertools.chain.from_iterable(SCRIPTS[(number + k) % len(SCRIPTS)] for k in itertools.count())


def speak_call(target, script, speed=155, gap=0.45, rate=SPEECH_RATE, seconds=0, stereo=False, agent_channel=1):
    """Synthesise a two-speaker call with espeak-ng into `target` (its extension picks the
    format), stopping after the line that reaches `seconds` if given; returns the timeline
    [{"start", "end", "text", "speaker"}]. With `stereo` the agent speaks on channel
    `agent_channel` (1 left, 2 right) and the customer on the other."""
    frames, segments = bytearray(), []
    tracks = {"agent": bytearray(), "customer": bytearray()}  # each side's own channel, for stereo
    t = 0.3
    frames += _silence(t, rate)
    for track in tracks.values():
        track += _silence(t, rate)
    with tempfile.TemporaryDirectory(prefix="callbatch-say-") as tmp:
        for n, (speaker, line) in enumerate(script):
            if seconds and t >= seconds:
                break
            audio = _say(line, speaker, speed, rate, os.path.join(tmp, f"{n}.wav"))
            length = len(audio) / 2 / rate
            segments.append({"start": round(t, 2), "end": round(t + length, 2), "text": line, "speaker": speaker})
            frames += audio + _silence(gap, rate)
            for side, track in tracks.items():
                track += audio if side == (speaker if speaker in tracks else "agent") else bytes(len(audio))
                track += _silence(gap, rate)
            t += length + gap
        if stereo:
            left, right = (
                (tracks["agent"], tracks["customer"]) if agent_channel == 1 else (tracks["customer"], tracks["agent"])
            )
            _write_audio(target, [left, right], rate, tmp)
        else:
            _write_audio(target, [frames], rate, tmp)
    return segments


def _say(line, speaker, speed, rate, wav_path):
    """The line spoken in the speaker's voice, as 16-bit samples at `rate`."""
    voice, pitch = VOICES.get(speaker, VOICES["agent"])
    subprocess.run(
        ["espeak-ng", "-v", voice, "-p", str(pitch), "-s", str(speed), "-w", wav_path, line],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return _resampled(wav_path, rate)


def _write_audio(target, channels, rate, tmp):
    """The channels' samples into `target`: a WAV, or another format through ffmpeg."""
    if target.endswith(".wav"):
        _write_pcm(target, channels, rate)
        return
    wav_path = os.path.join(tmp, "call.wav")
    _write_pcm(wav_path, channels, rate)
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", wav_path, "-ac", str(len(channels)), target],
        check=True,
        capture_output=True,
        timeout=120,
    )


def _write_pcm(path, channels, rate):
    """A 16-bit WAV from one bytes object of samples per channel (interleaved for stereo)."""
    import numpy as np

    samples = np.stack([np.frombuffer(bytes(c), dtype="<i2") for c in channels], axis=1)
    with wave.open(path, "wb") as w:
        w.setnchannels(len(channels))
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype("<i2").tobytes())


def _silence(seconds, rate):
    return bytes(int(seconds * rate) * 2)


def _resampled(path, rate):
    """A mono 16-bit WAV's samples at `rate` (linear interpolation; espeak-ng speaks at 22050 Hz)."""
    import numpy as np

    with wave.open(path, "rb") as w:
        source_rate, raw = w.getframerate(), w.readframes(w.getnframes())
    samples = np.frombuffer(raw, dtype="<i2")
    if source_rate == rate or not len(samples):
        return raw
    positions = np.arange(int(len(samples) * rate / source_rate)) * (source_rate / rate)
    return np.interp(positions, np.arange(len(samples)), samples).astype("<i2").tobytes()


def _timeline(script, seconds=0):
    segments, t = [], 0.3
    for speaker, line in script:
        if seconds and t >= seconds:
            break
        length = 0.6 + 0.07 * len(line)
        segments.append({"start": round(t, 2), "end": round(t + length, 2), "text": line, "speaker": speaker})
        t += length + 0.4
    return segments


def _write_wav(path, segments, voice_shift=0.0, stereo=False):
    """A telephone-quality WAV whose voiced stretches follow the transcript's timeline (a tone
    per speaker), so its duration and pauses match the transcript; with `stereo` the agent's
    tones on channel 1 and the customer's on channel 2."""
    total = int((segments[-1]["end"] + 0.5) * RATE)
    tracks = {side: bytearray(total * 2) for side in ("agent", "customer")}
    for seg in segments:
        pitch = (180 if seg["speaker"] == "agent" else 120) + voice_shift
        track = tracks["customer" if seg["speaker"] == "customer" else "agent"]
        for n in range(int(seg["start"] * RATE), min(total, int(seg["end"] * RATE))):
            value = int(6000 * math.sin(2 * math.pi * pitch * n / RATE) * (0.6 + 0.4 * math.sin(n / 700)))
            struct.pack_into("<h", track, n * 2, value)
    if stereo:
        _write_pcm(path, [tracks["agent"], tracks["customer"]], RATE)
    else:
        import numpy as np

        mixed = np.frombuffer(bytes(tracks["agent"]), "<i2") + np.frombuffer(bytes(tracks["customer"]), "<i2")
        _write_pcm(path, [mixed.astype("<i2").tobytes()], RATE)


HARD_AUDIO = ("noise", "tone", "music", "silence")


def write_hard_audio(path, kind, seconds=30.0, seed=1):
    """A recording with no conversation in it, of the kinds that make a speech model invent
    text: `noise` (steady hiss), `tone` (a beep every other half second), `music` (a chord
    that swells and fades), `silence` (one spoken-like beep, then a long near-silence)."""
    import numpy as np

    rate = SPEECH_RATE
    t = np.arange(int(seconds * rate)) / rate
    if kind == "noise":
        audio = np.random.default_rng(seed).normal(0, 0.1, len(t))
    elif kind == "tone":
        audio = 0.3 * np.sin(2 * np.pi * 440 * t) * (np.floor(t * 2) % 2)
    elif kind == "music":
        chord = sum(np.sin(2 * np.pi * f * t) for f in (262, 330, 392))
        audio = 0.2 * chord * (1 + np.sin(2 * np.pi * 0.5 * t)) / 2
    elif kind == "silence":
        audio = np.random.default_rng(seed).normal(0, 0.003, len(t))
        audio[:rate] += 0.3 * np.sin(2 * np.pi * 300 * t[:rate])
    else:
        raise ValueError(f"unknown kind {kind!r} (known: {', '.join(HARD_AUDIO)})")
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    return seconds
