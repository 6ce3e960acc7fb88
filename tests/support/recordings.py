"""Real recordings and folder contents made inside the tests."""

import json
import math
import os
import random
import struct
import uuid
import wave


def name(ext="wav"):
    return f"{uuid.uuid4()}.{ext}"


def write_wav(path, seconds=1.0, pitch=None, rate=8000):
    """A short mono WAV with a tone; each call gives different content unless `pitch` repeats."""
    pitch = pitch or random.uniform(150, 400)
    frames = bytearray()
    for n in range(int(seconds * rate)):
        frames += struct.pack("<h", int(8000 * math.sin(2 * math.pi * pitch * n / rate)))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))
    return path


def write_call(folder, seconds=1.0, text="שלום, מה שלומך? אני מתקשר לגבי ההצעה.", ext="wav"):
    """A recording plus its sidecar transcript; returns the recording's file name."""
    file_name = name(ext)
    write_wav(os.path.join(folder, file_name), seconds)
    stem = os.path.splitext(file_name)[0]
    with open(os.path.join(folder, stem + ".json"), "w", encoding="utf-8") as f:
        json.dump({"language": "he", "segments": [{"start": 0.0, "end": seconds, "text": text}]}, f, ensure_ascii=False)
    return file_name


def write_calls(folder, count, **kwargs):
    return [write_call(folder, **kwargs) for _ in range(count)]
