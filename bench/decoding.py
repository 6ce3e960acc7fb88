"""Decoding settings against hallucinated repetition, measured in one run.

The sample calls (`flask samples make` material: espeak-ng Hebrew, left to the speech model)
plus hard audio with no conversation in it (noise, a repeated tone, music-like chords, a
long near-silence) go through the faster-whisper transcriber (base model, int8, 2 threads,
greedy) under each set of decoding settings: the old defaults first, then the candidates.
Each set runs in a process of its own, so its peak memory is its own. For each it prints the
share of degenerate transcripts (analysis.quality says "needs review" with a repetition,
compression or speech-rate reason: the model made text up), the share of sample calls that
lost all their words (a filter too eager), the time per file and the peak RSS.

Usage: .venv/bin/python bench/decoding.py [--calls 6] [--hard-seconds 40] [--only NAME ...]"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

BASE = {
    "type": "faster_whisper",
    "language": "he",
    "compute_type": "int8",
    "cpu_threads": 2,
    "beam_size": 1,
    "temperature": 0.0,
    "condition_on_previous_text": False,
}
OLD = {
    "vad_filter": False,
    "compression_ratio_threshold": 2.4,
    "temperature_fallback": False,
    "hallucination_silence_threshold": 0,
}
SETTINGS = {
    "old": OLD,
    "vad": {**OLD, "vad_filter": True},
    "vad+fallback": {**OLD, "vad_filter": True, "temperature_fallback": True},
    "vad+silence": {**OLD, "vad_filter": True, "hallucination_silence_threshold": 2.0},
    "fallback": {**OLD, "temperature_fallback": True},
    "prev-text": {**OLD, "vad_filter": True, "condition_on_previous_text": True},
}
MADE_UP = {"repetition", "compression", "speech_rate", "no_speech"}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=6)
    parser.add_argument("--hard-seconds", type=float, default=40)
    parser.add_argument("--only", nargs="*", default=None, help="settings to run (default: all)")
    parser.add_argument("--run", help=argparse.SUPPRESS)  # one set of settings, in a child process
    parser.add_argument("--work", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        print(json.dumps(_run(args.run, args.work)))
        return
    with tempfile.TemporaryDirectory(prefix="callbatch-decoding-") as work:
        _prepare(work, args.calls, args.hard_seconds)
        rows = []
        for name in args.only or SETTINGS:
            out = subprocess.run(
                [sys.executable, __file__, "--run", name, "--work", work], check=True, capture_output=True, text=True
            ).stdout
            rows.append(json.loads(out.strip().splitlines()[-1]))
            _print_row(rows[-1])
        print()
        print(json.dumps(rows, ensure_ascii=False))


def _prepare(work, calls, hard_seconds):
    from webapp import samples
    from webapp.analysis import model_files

    model_files.install_base(os.path.join(work, "models"))
    samples.make_folder(os.path.join(work, "calls"), count=calls, formats=("wav",), metadata=False, transcripts="none")
    hard = os.path.join(work, "hard")
    os.makedirs(hard)
    for kind in samples.HARD_AUDIO:
        samples.write_hard_audio(os.path.join(hard, f"{kind}.wav"), kind, hard_seconds)


def _run(name, work):
    import wave

    from webapp.analysis import quality
    from webapp.analysis.transcribers.faster_whisper import FasterWhisperTranscriber

    transcriber = FasterWhisperTranscriber(
        {**BASE, **SETTINGS[name], "model": "whisper-base", "models_dir": os.path.join(work, "models")}
    )
    transcriber.model()  # the load is not part of any file's time
    files = []
    for group in ("calls", "hard"):
        folder = os.path.join(work, group)
        for file_name in sorted(os.listdir(folder)):
            path = os.path.join(folder, file_name)
            with wave.open(path) as w:
                duration = w.getnframes() / w.getframerate()
            started = time.perf_counter()
            transcript = transcriber.transcribe(path, duration)
            seconds = time.perf_counter() - started
            verdict = quality.judge(transcript, duration)
            codes = {r["code"] for r in verdict.reasons}
            files.append(
                {
                    "group": group,
                    "file": file_name,
                    "seconds": round(seconds, 2),
                    "audio_seconds": round(duration, 1),
                    "made_up": bool(codes & MADE_UP),
                    "empty": "empty" in codes,
                    "reasons": sorted(codes),
                    "words": verdict.signals["words"],
                }
            )
    calls = [f for f in files if f["group"] == "calls"]
    return {
        "settings": name,
        "files": len(files),
        "degenerate_share": round(sum(f["made_up"] for f in files) / len(files), 3),
        "calls_degenerate_share": round(sum(f["made_up"] for f in calls) / len(calls), 3),
        "calls_emptied_share": round(sum(f["empty"] for f in calls) / len(calls), 3),
        "seconds_per_file": round(sum(f["seconds"] for f in files) / len(files), 2),
        "calls_seconds_per_file": round(sum(f["seconds"] for f in calls) / len(calls), 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "detail": files,
    }


def _print_row(row):
    print(
        f"{row['settings']:14} degenerate {row['degenerate_share']:.0%} (calls {row['calls_degenerate_share']:.0%}, "
        f"calls emptied {row['calls_emptied_share']:.0%})  {row['seconds_per_file']:.1f} s/file "
        f"(calls {row['calls_seconds_per_file']:.1f})  peak RSS {row['peak_rss_mb']} MB",
        flush=True,
    )


if __name__ == "__main__":
    main()
