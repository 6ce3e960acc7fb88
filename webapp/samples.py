"""Sample sales calls for the demo and the tests: a folder of `<uuid>.wav` recordings, each
with the transcript a phone system delivers beside it (`<uuid>.json`)."""
import json
import math
import os
import random
import struct
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


def make_folder(path, count=6):
    """Write `count` sample calls into `path`; returns their file names."""
    os.makedirs(path, exist_ok=True)
    names = []
    for i in range(count):
        call_id = str(uuid.uuid4())
        script = SCRIPTS[i % len(SCRIPTS)]
        segments = _timeline(script)
        _write_wav(os.path.join(path, f"{call_id}.wav"), segments, voice_shift=random.uniform(-20, 20))
        with open(os.path.join(path, f"{call_id}.json"), "w", encoding="utf-8") as f:
            json.dump({"language": "he", "segments": segments}, f, ensure_ascii=False, indent=1)
        names.append(f"{call_id}.wav")
    return names


def _timeline(script):
    segments, t = [], 0.3
    for speaker, line in script:
        length = 0.6 + 0.07 * len(line)
        segments.append({"start": round(t, 2), "end": round(t + length, 2), "text": line, "speaker": speaker})
        t += length + 0.4
    return segments


def _write_wav(path, segments, voice_shift=0.0):
    """A telephone-quality mono WAV whose voiced stretches follow the transcript's timeline
    (a tone per speaker), so its duration and pauses match the transcript."""
    total = int((segments[-1]["end"] + 0.5) * RATE)
    samples = bytearray(total * 2)
    for seg in segments:
        pitch = (180 if seg["speaker"] == "agent" else 120) + voice_shift
        for n in range(int(seg["start"] * RATE), min(total, int(seg["end"] * RATE))):
            value = int(6000 * math.sin(2 * math.pi * pitch * n / RATE) * (0.6 + 0.4 * math.sin(n / 700)))
            struct.pack_into("<h", samples, n * 2, value)
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(bytes(samples))
