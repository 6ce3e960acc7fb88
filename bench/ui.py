"""Web UI benchmark: with 100,000 file records and 10,000 calls in PostgreSQL, time through
the Flask test client (signed in, the whole app stack):
  - the dashboard status fragment (p95 target <= 50 ms),
  - the file list, filtered and paginated (p95 target <= 150 ms),
  - the CSV export of all 100,000 rows, streamed (peak RSS growth while streaming),
against a baseline measured in the same run: GET /readyz (one small query and a Redis ping through
the same stack).

Run: .venv/bin/python bench/ui.py [--files 100000] [--calls 10000] [--requests 200]
Needs PostgreSQL and Redis on 127.0.0.1; uses a database of its own, dropped at the end."""
import argparse
import os
import random
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

import psutil

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

from bench.services import own_services, percentile  # noqa: E402

STATUSES = ["completed"] * 80 + ["failed"] * 6 + ["skipped"] * 6 + ["queued"] * 4 + ["cancelled"] * 2 + ["retrying"] * 2
CODES = {"failed": [("TRANSCRIPTION_FAILED", "processing"), ("ACCESS_DENIED", "file_access"),
                    ("DATABASE_ERROR", "database")],
         "skipped": [("INVALID_FORMAT", "file_format"), ("DUPLICATE_FILE", "file_format"),
                     ("INVALID_FILENAME", "file_format")]}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with own_services("ui") as workdir:
        _run(args, workdir)


def _load(app, args, workdir):
    """Bulk-load folders, jobs, records and calls with COPY."""
    import json

    import sqlalchemy as sa
    from flask_migrate import upgrade

    from webapp.batch import folders
    from webapp.extensions import db
    from webapp.models import User

    with app.app_context():
        upgrade(revision="heads")
        user = User(email="manager@example.com", role="manager", language="en")
        user.set_password("bench password 1")
        db.session.add(user)
        folder_ids = []
        for n in range(4):
            path = os.path.join(workdir, f"folder{n}")
            os.makedirs(path)
            folder_ids.append(folders.local_folder_for(path).id)
        db.session.commit()
        started = time.perf_counter()
        now = datetime.now(timezone.utc)
        rng = random.Random(7)
        raw = db.engine.raw_connection()
        try:
            cur = raw.cursor()
            with cur.copy("COPY batch_jobs (id, folder_id, status, trigger, total_files, processed_files, "
                          "failed_files, skipped_files, cancelled_files, created_at) FROM STDIN") as copy:
                for job in range(1, 101):
                    copy.write_row((job, folder_ids[job % 4], "completed", "manual", args.files // 100,
                                    args.files // 100, 0, 0, 0, now - timedelta(hours=job)))
            cur.execute("SELECT setval(pg_get_serial_sequence('batch_jobs', 'id'), 100)")
            columns = ("id, folder_id, job_id, file_name, file_path, file_size, status, error_code, error_category, "
                       "error_message, retry_count, attempts, stage_timings, created_at, updated_at, finished_at")
            with cur.copy(f"COPY file_processing_records ({columns}) FROM STDIN") as copy:
                for i in range(1, args.files + 1):
                    status = rng.choice(STATUSES)
                    code, category = rng.choice(CODES[status]) if status in CODES else (None, None)
                    moment = now - timedelta(minutes=i * 10_080 / args.files * 6)  # spread over ~6 weeks
                    name = f"{uuid.UUID(int=rng.getrandbits(128))}.wav"
                    timings = json.dumps({"download_ms": rng.randint(1, 40), "transcribe_ms": rng.randint(500, 9000),
                                          "score_ms": rng.randint(5, 200), "db_ms": rng.randint(1, 20)}) \
                        if status == "completed" else None
                    copy.write_row((i, folder_ids[i % 4], (i % 100) + 1, name, f"/calls/{name}",
                                    rng.randint(10**5, 10**7), status, code, category,
                                    f"{code} on {name}" if code else None, 0, 1, timings,
                                    moment, moment, moment if status in ("completed", "failed", "skipped") else None))
            cur.execute("SELECT setval(pg_get_serial_sequence('file_processing_records', 'id'), %s)", (args.files,))
            columns = "file_id, job_id, content_sha256, call_uuid, overall_score, transcript, segments, created_at"
            with cur.copy(f"COPY sales_calls ({columns}) FROM STDIN") as copy:
                for n in range(args.calls):
                    file_id = n * (args.files // args.calls) + 1
                    copy.write_row((file_id, (file_id % 100) + 1, uuid.uuid4().hex * 2, str(uuid.uuid4()),
                                    round(rng.uniform(20, 100), 1), "שלום", "[]", now - timedelta(hours=n % 1000)))
            raw.commit()
        finally:
            raw.close()
        # what autovacuum does to a table after a bulk load: statistics and the visibility map
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
        return time.perf_counter() - started


def _timed(client, url, count, headers=None, check=None):
    times = []
    for n in range(count):
        target = url(n) if callable(url) else url
        started = time.perf_counter()
        response = client.get(target, headers=headers or {})
        body = response.get_data()
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (target, response.status_code, body[:300])
        if check:
            check(body)
    return times


def _line(name, times, target=None, baseline=None):
    p50, p95 = percentile(times, 50), percentile(times, 95)
    extra = f"   ratio p95/baseline {p95 / baseline:5.1f}x" if baseline else ""
    verdict = f"   target <= {target} ms: {'OK' if p95 <= target else 'MISSED'}" if target else ""
    print(f"{name:<44} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms{extra}{verdict}")
    return p95


def _run(args, workdir):
    from plugins_web import WebClient
    from webapp import create_app

    app = create_app()
    load_seconds = _load(app, args, workdir)
    print(f"loaded {args.files:,} file records, {args.calls:,} calls, 100 jobs in {load_seconds:.1f} s (COPY)")

    client = WebClient(app.test_client())
    response = client.post("/login", data={"email": "manager@example.com", "password": "bench password 1"})
    assert response.status_code == 302, response.status_code
    client._token = None
    n = args.requests
    for url in ("/readyz", "/partials/status", "/files/?status=failed"):  # warm up
        client.get(url, headers={"HX-Request": "true"})

    print(f"\n{n} requests each, Flask test client signed in as a manager (whole app stack):")
    base = _line("baseline GET /readyz (one query, a Redis ping)", _timed(client, "/readyz", n))
    _line("dashboard status fragment /partials/status", _timed(
        client, "/partials/status", n, headers={"HX-Request": "true"},
        check=lambda body: body.startswith(b'<section id="status"')), 50, base)
    today = datetime.now(timezone.utc).date()
    lists = [
        lambda i: f"/files/?status=failed&page={i % 20 + 1}",
        lambda i: f"/files/?status=completed&folder_id={i % 4 + 1}&page={i % 50 + 1}",
        lambda i: f"/files/?error_code=INVALID_FORMAT&page={i % 10 + 1}",
        lambda i: (f"/files/?date_from={today - timedelta(days=i % 30 + 5)}"
                   f"&date_to={today - timedelta(days=i % 30)}&page=2"),
        lambda i: f"/files/?job_id={i % 100 + 1}&status=completed",
        lambda i: f"/files/?q={'%x' % (i % 16)}{'%x' % (i % 7)}&page=1",
    ]
    _line("file list, filtered + paginated (full page)",
          _timed(client, lambda i: lists[i % len(lists)](i), n), 150, base)
    _line("file list, filtered + paginated (htmx part)",
          _timed(client, lambda i: lists[i % len(lists)](i), n,
                 headers={"HX-Request": "true", "HX-Target": "file-list"}), 150, base)
    _line("reports page (7 days, all folders)", _timed(client, "/reports/", max(10, n // 10)), None, base)

    # CSV export of every row, streamed: count lines and watch the process's RSS meanwhile
    proc = psutil.Process()
    import gc

    gc.collect()
    before = proc.memory_info().rss
    peak = [before]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    response = client.client.get("/files/export.csv", buffered=False)
    assert response.status_code == 200, response.status_code
    lines = size = chunks = 0
    for chunk in response.response:
        chunk = chunk.encode() if isinstance(chunk, str) else chunk
        lines += chunk.count(b"\n")
        size += len(chunk)
        chunks += 1
    response.close()
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    print(f"\nCSV export: {lines - 1:,} rows, {size / 1e6:.1f} MB in {chunks} chunks, {elapsed:.2f} s "
          f"({(lines - 1) / elapsed:,.0f} rows/s); RSS before {before / 2**20:.0f} MB, "
          f"peak growth while streaming {(peak[0] - before) / 2**20:.1f} MB "
          f"(the file itself is {size / 2**20:.1f} MB)")
    assert lines - 1 == args.files, lines


if __name__ == "__main__":
    main()
