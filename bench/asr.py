"""ASR throughput: the full stack against a bare faster-whisper loop, in the same run.

Ten synthesised Hebrew calls (espeak-ng), three minutes each by default as sales calls
run, go through PostgreSQL + Redis + one `flask worker`
(faster-whisper base, int8, 2 threads, greedy), then through a bare faster-whisper loop over
the same files with the same model and settings, then through the full stack again with VAD
and batched decoding. Prints throughputs (audio seconds per wall second), the ratios, the
worker's peak RSS and its model load count. Batched decoding gains with call length: a
call shorter than Whisper's 30-s window is one chunk, with nothing to batch (`--minutes 0`
runs the demo's 10-40 s conversations to show it).

Then the two-channel comparison: the same number of two-channel calls (agent on the left,
customer on the right), processed once as mono (diarizer `none`: the channels mixed down,
one pass) and once split (diarizer `channels`: each channel transcribed on its own with VAD),
each by a fresh worker; prints both times, the ratio split / mono (target <= 1.15) and each
worker's peak RSS. `--only channels` runs this part alone, `--only speed` the rest.

Usage: .venv/bin/python bench/asr.py [--calls 10] [--minutes 3] [--batch-size 4] [--only speed|channels]
(PostgreSQL and Redis on 127.0.0.1)
Environment: as bench/services.py describes."""

import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import sqlalchemy as sa  # noqa: E402

from bench.services import migrated_app, own_services, worker_process  # noqa: E402

THREADS = 2
DECODE = {"language": "he", "beam_size": 1, "temperature": 0.0, "condition_on_previous_text": False}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument(
        "--minutes",
        type=float,
        default=3,
        help="length of each call (0: the demo's single conversations, 10-40 s each)",
    )
    parser.add_argument("--only", choices=("speed", "channels"), help="run one part only")
    args = parser.parse_args()
    with own_services("asr") as work:
        from webapp.analysis import model_files

        app = migrated_app()
        model, _ = model_files.install_base(app.config["MODELS_DIR"])
        if args.only != "channels":
            _measure(args, work, dict(os.environ), app, model)
            _reset(app)
        if args.only != "speed":
            _channels(args, work, dict(os.environ), app, model)


def _channels(args, work, env, app, model):
    """Two-channel calls split per channel against the same calls mixed down to mono."""
    from webapp import samples

    folder = os.path.join(work, "stereo-calls")
    names = samples.make_folder(
        folder, args.calls, formats=("wav",), minutes=args.minutes, transcripts="none", stereo=True
    )
    warmup = os.path.join(work, "stereo-warmup")
    samples.make_folder(warmup, 1, formats=("wav",), metadata=False, transcripts="none", stereo=True)
    audio = sum(_duration(os.path.join(folder, n)) for n in names)
    print(f"two-channel: {len(names)} calls, {audio:.1f} s of audio each way")
    plain = {"type": "faster_whisper", "model": model, "compute_type": "int8", "cpu_threads": THREADS, **DECODE}
    results = {}
    for label, diarizer in (
        ("mono (mixed down, one pass)", {"type": "none"}),
        ("two channels (each channel, VAD)", {"type": "channels"}),
    ):
        _reset(app)
        _configure(app, plain, diarizer)
        worker = worker_process("--name", "bench-asr-channels", env=env)
        try:
            _batch(env, warmup)
            _reset(app)
            _batch(env, folder)
            busy, _stages = _latest_job(app)
            results[label] = (busy, _peak_rss(worker.pid))
        finally:
            worker.terminate()
            worker.wait(20)
        print(
            f"{label:40s} {busy:7.1f} s processing   {audio / busy:6.2f} audio s / wall s   "
            f"peak RSS {results[label][1] / 1024 / 1024:.0f} MB"
        )
    (mono, _), (split, _) = results.values()
    print(f"ratio two channels / mono: {split / mono:.3f}  (target <= 1.15)")


def _measure(args, work, env, app, model):
    worker = None
    try:
        from webapp import samples

        folder = os.path.join(work, "calls")
        names = samples.make_folder(folder, args.calls, formats=("wav",), minutes=args.minutes)
        files = [os.path.join(folder, n) for n in names]
        warmup = os.path.join(work, "warmup")
        samples.make_folder(warmup, 1, formats=("wav",), metadata=False)
        audio = sum(_duration(f) for f in files)
        print(
            f"{len(files)} calls, {audio:.1f} s of audio ({audio / len(files):.0f} s each on average); "
            f"model {model}; {THREADS} threads, int8, greedy"
        )

        worker = worker_process("--name", "bench-asr", env=env)
        plain = {"type": "faster_whisper", "model": model, "compute_type": "int8", "cpu_threads": THREADS, **DECODE}
        _configure(app, plain)
        _batch(env, warmup)  # the worker loads the model here; the timed runs measure processing
        stack = _batch(env, folder)
        stack_busy, stack_stages = _latest_job(app)
        _reset(app)
        bare = _bare_loop(model, files)
        _configure(app, {**plain, "vad_filter": True, "batch_size": args.batch_size})
        batched = _batch(env, folder)
        batched_busy, batched_stages = _latest_job(app)
        loads = _model_loads(app)
        peak_rss = _peak_rss(worker.pid)

        rows = [
            ("full stack: `flask batch run` end to end", stack),
            ("full stack: first claim to last file filed", stack_busy),
            ("bare faster-whisper loop", bare),
            (f"VAD + batched ({args.batch_size}): batch run end to end", batched),
            (f"VAD + batched ({args.batch_size}): first claim to last filed", batched_busy),
        ]
        for label, seconds in rows:
            print(f"{label:52s} {seconds:7.1f} s wall   {audio / seconds:6.2f} audio s / wall s")
        for label, stages in (("full stack", stack_stages), (f"VAD + batched ({args.batch_size})", batched_stages)):
            print(f"{label} inside the worker: " + ", ".join(f"{k[:-3]} {v:.1f} s" for k, v in stages.items()))
        print(
            f"ratio full stack / bare loop (end to end | processing): {bare / stack:.3f} | "
            f"{bare / stack_busy:.3f}  (target >= 0.95)"
        )
        print(
            f"ratio VAD + batched / bare loop (end to end | processing): {bare / batched:.3f} | "
            f"{bare / batched_busy:.3f}  (target >= 1.3)"
        )
        print(
            f"worker peak RSS:                                       {peak_rss / 1024 / 1024:.0f} MB  "
            "(target <= 1024 MB)"
        )
        print(
            f"worker model loads:                                     {loads}  (files processed: {2 * len(files) + 1})"
        )
    finally:
        if worker:
            worker.terminate()
            worker.wait(20)


def _duration(path):
    import wave

    with wave.open(path) as w:
        return w.getnframes() / w.getframerate()


def _configure(app, transcriber, diarizer=None):
    from webapp.batch import batch_config

    with app.app_context():
        config = batch_config.load()
        config.analysis.transcriber = transcriber
        config.analysis.diarizer = diarizer or {"type": "none"}
        config.scanning.fileSettleSeconds = 0
        config.retryPolicy.maxRetries = 0
        batch_config.save(config)


def _batch(env, folder):
    """Wall seconds of `flask batch run` on the folder, processed by the running worker."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "flask", "batch", "run", folder, "--json", "--workers", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    seconds = time.perf_counter() - started
    report = json.loads(result.stdout)
    if report["totals"]["completed"] != len(report["files"]):
        raise SystemExit(f"not every file completed: {report}\n{result.stderr[-2000:]}")
    return seconds


def _latest_job(app):
    """The latest job's processing wall time, from the first file's claim to the last file's
    completion (the stack's processing without `flask batch run`'s start-up and scan), and
    the seconds its calls spent in each stage, as the worker timed them."""
    from webapp.extensions import db
    from webapp.models import BatchJob, SalesCall
    from webapp.models import FileProcessingRecord as FPR
    from webapp.services.reports import STAGE_ORDER

    with app.app_context():
        job_id = db.session.scalar(sa.select(sa.func.max(BatchJob.id)))
        first, last = db.session.execute(
            sa.select(sa.func.min(FPR.started_at), sa.func.max(FPR.finished_at)).where(FPR.job_id == job_id)
        ).one()
        stages = {}
        for timings in db.session.scalars(sa.select(SalesCall.stage_timings).where(SalesCall.job_id == job_id)):
            for key in STAGE_ORDER:
                if key in timings:
                    stages[key] = stages.get(key, 0) + timings[key] / 1000
        return (last - first).total_seconds(), stages


def _reset(app):
    """Forget the processed files (not the settings) so the same recordings run again."""
    from webapp.extensions import db

    with app.app_context():
        keep = {"batch_settings", "alembic_version", "users"}
        tables = ", ".join(t.name for t in db.metadata.sorted_tables if t.name not in keep)
        with db.engine.begin() as conn:
            conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


def _bare_loop(model_path, files):
    from faster_whisper import WhisperModel

    model = WhisperModel(model_path, device="cpu", compute_type="int8", cpu_threads=THREADS)
    started = time.perf_counter()
    for path in files:
        segments, _ = model.transcribe(path, **DECODE)
        list(segments)
    seconds = time.perf_counter() - started
    del model
    return seconds


def _model_loads(app):
    from webapp.extensions import db
    from webapp.models import SalesCall

    with app.app_context():
        return max(c.stage_timings.get("model_loads", 0) for c in db.session.scalars(sa.select(SalesCall)))


def _peak_rss(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


if __name__ == "__main__":
    main()
