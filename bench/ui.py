"""Web UI benchmark at a year of batches: the same measurements with 100,000 file records and
again after growing the same database to --records (default 1,000,000), with a sales call
for every tenth record and a job per 1,000 records, timed through the Flask test client
(signed in, the whole app stack):
  - the dashboard status fragment (p95 target <= 50 ms),
  - the file list filtered by status and folder, its first page and a page 90% of the way
    down (p95 target <= 150 ms), and a mix of other filters (no target),
  - the reports page, and the CSV export of every row, streamed (peak RSS growth),
against a baseline measured in the same run: GET /readyz (one small query and a Redis ping
through the same stack). Prints each figure at both sizes and the ratio, and the process's
peak RSS.

Run: .venv/bin/python bench/ui.py [--records 1000000] [--baseline 100000] [--requests 200] [--explain]
Needs PostgreSQL and Redis on 127.0.0.1; uses a database of its own, dropped at the end."""

import argparse
import gc
import json
import os
import random
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone

import psutil

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench.services import PeakRss, migrated_app, own_services, percentile, signed_in_client  # noqa: E402

STATUSES = ["completed"] * 80 + ["failed"] * 6 + ["skipped"] * 6 + ["queued"] * 4 + ["cancelled"] * 2 + ["retrying"] * 2
CODES = {
    "failed": [
        ("TRANSCRIPTION_FAILED", "processing"),
        ("ACCESS_DENIED", "file_access"),
        ("DATABASE_ERROR", "database"),
    ],
    "skipped": [
        ("INVALID_FORMAT", "file_format"),
        ("DUPLICATE_FILE", "file_format"),
        ("INVALID_FILENAME", "file_format"),
    ],
}
FOLDERS = 4
FILES_PER_JOB = 1000
CALL_EVERY = 10
YEAR = timedelta(days=365)
PASSWORD = "bench password 1"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--baseline", type=int, default=100_000, help="the smaller run, measured first")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--explain", action="store_true", help="print the file list's query plans too")
    args = parser.parse_args()
    if min(args.records, args.baseline) < FILES_PER_JOB or args.baseline >= args.records:
        parser.error(f"--baseline must be at least {FILES_PER_JOB} (one job's files) and below --records")
    with own_services("ui") as workdir:
        _run(args, workdir)


def _setup(app, workdir):
    from webapp.batch import folder_config
    from webapp.extensions import db
    from webapp.models import User

    with app.app_context():
        user = User(email="manager@example.com", role="manager", language="en")
        user.set_password(PASSWORD)
        db.session.add(user)
        ids = []
        for n in range(FOLDERS):
            path = os.path.join(workdir, f"folder{n}")
            os.makedirs(path)
            ids.append(folder_config.local_folder_for(path).id)
        db.session.commit()
        return ids


def _load(app, folder_ids, start, end, records):
    """Bulk-load records start+1..end (and their jobs and calls) with COPY. Record i was made
    at a moment in the year that ends now: the higher the id, the newer."""
    import sqlalchemy as sa

    from webapp.extensions import db

    started = time.perf_counter()
    now = datetime.now(timezone.utc)
    step = YEAR / records
    rng = random.Random(start)
    with app.app_context():
        raw = db.engine.raw_connection()
        try:
            cur = raw.cursor()
            with cur.copy(
                "COPY batch_jobs (id, folder_id, status, trigger, total_files, processed_files, "
                "failed_files, skipped_files, cancelled_files, created_at) FROM STDIN"
            ) as copy:
                for job in range(start // FILES_PER_JOB + 1, end // FILES_PER_JOB + 1):
                    copy.write_row(
                        (
                            job,
                            folder_ids[job % FOLDERS],
                            "completed",
                            "manual",
                            FILES_PER_JOB,
                            FILES_PER_JOB,
                            0,
                            0,
                            0,
                            now - (records - job * FILES_PER_JOB) * step,
                        )
                    )
            cur.execute("SELECT setval(pg_get_serial_sequence('batch_jobs', 'id'), %s)", (end // FILES_PER_JOB,))
            columns = (
                "id, folder_id, job_id, file_name, file_path, file_size, status, error_code, error_category, "
                "error_message, retry_count, attempts, stage_timings, created_at, updated_at, finished_at"
            )
            with cur.copy(f"COPY file_processing_records ({columns}) FROM STDIN") as copy:
                for i in range(start + 1, end + 1):
                    status = rng.choice(STATUSES)
                    code, category = rng.choice(CODES[status]) if status in CODES else (None, None)
                    moment = now - (records - i) * step
                    name = f"{uuid.UUID(int=rng.getrandbits(128))}.wav"
                    timings = (
                        json.dumps(
                            {
                                "download_ms": rng.randint(1, 40),
                                "transcribe_ms": rng.randint(500, 9000),
                                "score_ms": rng.randint(5, 200),
                                "db_ms": rng.randint(1, 20),
                            }
                        )
                        if status == "completed"
                        else None
                    )
                    copy.write_row(
                        (
                            i,
                            folder_ids[i % FOLDERS],
                            (i - 1) // FILES_PER_JOB + 1,
                            name,
                            f"/calls/{name}",
                            rng.randint(10**5, 10**7),
                            status,
                            code,
                            category,
                            f"{code} on {name}" if code else None,
                            0,
                            1,
                            timings,
                            moment,
                            moment,
                            moment if status in ("completed", "failed", "skipped") else None,
                        )
                    )
            cur.execute("SELECT setval(pg_get_serial_sequence('file_processing_records', 'id'), %s)", (end,))
            columns = "file_id, job_id, content_sha256, call_uuid, overall_score, transcript, segments, created_at"
            with cur.copy(f"COPY sales_calls ({columns}) FROM STDIN") as copy:
                for file_id in range(start + 1, end + 1, CALL_EVERY):
                    copy.write_row(
                        (
                            file_id,
                            (file_id - 1) // FILES_PER_JOB + 1,
                            uuid.uuid4().hex * 2,
                            str(uuid.uuid4()),
                            round(rng.uniform(20, 100), 1),
                            "שלום",
                            "[]",
                            now - (records - file_id) * step,
                        )
                    )
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


def _measure(app, args, folder_ids, size):
    """{name: (times, target)} at the database's present size, and the CSV export's figures."""
    import sqlalchemy as sa

    from webapp.extensions import db
    from webapp.models import FileProcessingRecord as FPR

    client = signed_in_client(app, "manager@example.com", PASSWORD)
    n = args.requests
    with app.app_context():
        folder = folder_ids[1]
        per_status = dict(
            db.session.execute(
                sa.select(FPR.status, sa.func.count()).where(FPR.folder_id == folder).group_by(FPR.status)
            ).all()
        )
    deep = {s: max(1, int(count / 50 * 0.9)) for s, count in per_status.items()}
    for url in ("/readyz", "/partials/status", "/files/?status=failed"):  # warm up
        client.get(url, headers={"HX-Request": "true"})
    first_page = [f"/files/?status={s}&folder_id={folder}" for s in ("completed", "failed", "queued")]
    deep_page = [f"/files/?status={s}&folder_id={folder}&page={deep[s]}" for s in ("completed", "failed", "queued")]
    start_day = (datetime.now(timezone.utc) - YEAR).date()  # the oldest records: there at both sizes
    others = [
        lambda i: f"/files/?status=failed&page={i % 20 + 1}",
        lambda i: f"/files/?error_code=INVALID_FORMAT&page={i % 10 + 1}",
        lambda i: (
            f"/files/?date_from={start_day + timedelta(days=i % 30)}"
            f"&date_to={start_day + timedelta(days=i % 30 + 3)}&page=2"
        ),
        lambda i: f"/files/?job_id={i % (size // FILES_PER_JOB) + 1}&status=completed",
        lambda i: f"/files/?q={'%x' % (i % 16)}{'%x' % (i % 7)}&page=1",
    ]
    results = {}
    peak = PeakRss()
    with peak:
        results["baseline GET /readyz"] = (_timed(client, "/readyz", n), None)
        results["dashboard status fragment"] = (
            _timed(
                client,
                "/partials/status",
                n,
                headers={"HX-Request": "true"},
                check=lambda body: body.startswith(b'<section id="status"'),
            ),
            50,
        )
        results["files: status + folder, first page"] = (
            _timed(client, lambda i: first_page[i % 3], n, check=_has_rows),
            150,
        )
        results["files: status + folder, 90% deep page"] = (
            _timed(client, lambda i: deep_page[i % 3], n, check=_has_rows),
            150,
        )
        results["files: status + folder, htmx part"] = (
            _timed(
                client,
                lambda i: (first_page + deep_page)[i % 6],
                n,
                headers={"HX-Request": "true", "HX-Target": "file-list"},
            ),
            150,
        )
        results["files: other filters (error, date, job, name)"] = (
            _timed(client, lambda i: others[i % len(others)](i), max(10, n // 4)),
            None,
        )
        results["reports page (7 days, all folders)"] = (_timed(client, "/reports/", max(5, n // 20)), None)
    results["_peak_rss"] = peak.peak
    results["_sql"] = _sql_figures(app, folder, deep["completed"])
    results["_csv"] = _export(client, size)
    if args.explain:
        _explain(app, folder, deep)
    return results


def _sql_figures(app, folder, deep_page, repeat=5):
    """The database's part alone, median ms of `repeat`: what the counters and the ids-first
    page replace (the GROUP BY over every record, the COUNT of a status in a folder, the
    page read with OFFSET) beside what runs now."""
    import sqlalchemy as sa

    from webapp.extensions import db

    offset = (deep_page - 1) * 50
    queries = {
        "totals by status: GROUP BY over the records": (
            "SELECT status, count(*) FROM file_processing_records GROUP BY status"
        ),
        "totals by status: the counters": "SELECT status, sum(files) FROM file_status_counts GROUP BY status",
        "status + folder total: COUNT of the records": "SELECT count(*) FROM file_processing_records "
        f"WHERE status = 'completed' AND folder_id = {folder}",
        "status + folder total: the counters": "SELECT sum(files) FROM file_status_counts "
        f"WHERE status = 'completed' AND folder_id = {folder}",
        "90% deep page: rows with OFFSET": "SELECT * FROM file_processing_records WHERE status = 'completed' "
        f"AND folder_id = {folder} ORDER BY id DESC LIMIT 50 OFFSET {offset}",
        "90% deep page: ids first, then the rows": "SELECT * FROM file_processing_records WHERE id IN (SELECT id "
        "FROM file_processing_records WHERE status = 'completed' AND "
        f"folder_id = {folder} ORDER BY id DESC LIMIT 50 OFFSET {offset}) "
        "ORDER BY id DESC",
    }
    figures = {}
    with app.app_context():
        for name, sql in queries.items():
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                db.session.execute(sa.text(sql)).all()
                times.append((time.perf_counter() - started) * 1000)
            figures[name] = percentile(times, 50)
        db.session.rollback()
    return figures


def _has_rows(body):
    assert b"<tbody>" in body and body.count(b"<tr") > 2, body[:300]


def _export(client, size):
    """Stream the CSV of every row: (rows, MB, seconds, RSS growth while streaming in MB)."""
    gc.collect()
    proc = psutil.Process()
    before = proc.memory_info().rss
    peak = PeakRss()
    started = time.perf_counter()
    with peak:
        response = client.get("/files/export.csv", buffered=False)
        assert response.status_code == 200, response.status_code
        lines = length = 0
        for chunk in response.response:
            chunk = chunk.encode() if isinstance(chunk, str) else chunk
            lines += chunk.count(b"\n")
            length += len(chunk)
        response.close()
    assert lines - 1 == size, (lines, size)
    return lines - 1, length / 1e6, time.perf_counter() - started, (peak.peak - before) / 2**20


def _explain(app, folder, deep):
    import sqlalchemy as sa

    from webapp.extensions import db
    from webapp.services import files

    with app.app_context():
        for status, page in (("completed", 1), ("completed", deep["completed"]), ("failed", deep["failed"])):
            stmt = files.query({"status": status, "folder_id": folder})
            ids = stmt.with_only_columns(files.FileProcessingRecord.id).limit(50).offset((page - 1) * 50)
            compiled = ids.compile(db.engine, compile_kwargs={"literal_binds": True})
            plan = db.session.execute(sa.text(f"EXPLAIN (ANALYZE, BUFFERS) {compiled}")).scalars().all()
            print(f"\nEXPLAIN ids of page {page}, status {status}, folder {folder}:\n  " + "\n  ".join(plan))


def _report(small, large, sizes):
    base_small, base_large = (percentile(r["baseline GET /readyz"][0], 95) for r in (small, large))
    print(f"\n{'':<46} {sizes[0]:>10,} records      {sizes[1]:>10,} records     ratio")
    print(f"{'':<46} {'p50':>8} {'p95 ms':>9}   {'p50':>8} {'p95 ms':>9}   p95      target")
    missed = 0
    for name, value in small.items():
        if name.startswith("_"):
            continue
        times, target = value
        big, _ = large[name]
        p50s, p95s, p50l, p95l = percentile(times, 50), percentile(times, 95), percentile(big, 50), percentile(big, 95)
        verdict = ""
        if target:
            ok = p95l <= target and p95s <= target
            missed += not ok
            verdict = f"<= {target} ms {'OK' if ok else 'MISSED'}"
        print(f"{name:<46} {p50s:8.1f} {p95s:9.1f}   {p50l:8.1f} {p95l:9.1f}   {p95l / p95s:5.2f}x   {verdict}")
    print(f"{'(p95 over the baseline: ' + f'{base_small:.1f} / {base_large:.1f} ms)':<46}")
    print(f"\nthe database alone (median ms){'':<18} {sizes[0]:>10,}   {sizes[1]:>10,}")
    for name, ms in small["_sql"].items():
        print(f"  {name:<44} {ms:10.1f}   {large['_sql'][name]:10.1f}")
    print()
    for r, size in ((small, sizes[0]), (large, sizes[1])):
        rows, mb, seconds, growth = r["_csv"]
        print(
            f"{size:>10,} records: peak RSS while timing {r['_peak_rss'] / 2**20:.0f} MB; CSV export {rows:,} rows, "
            f"{mb:.1f} MB in {seconds:.1f} s ({rows / seconds:,.0f} rows/s), "
            f"RSS growth while streaming {growth:.1f} MB"
        )
    return missed


def _run(args, workdir):
    app = migrated_app()
    folder_ids = _setup(app, workdir)
    sizes = (args.baseline, args.records)
    results = []
    loaded = 0
    for size in sizes:
        seconds = _load(app, folder_ids, loaded, size, args.records)
        print(
            f"loaded records {loaded + 1:,}–{size:,} ({(size - loaded) // CALL_EVERY:,} calls, "
            f"{(size - loaded) // FILES_PER_JOB} jobs) in {seconds:.1f} s (COPY + VACUUM ANALYZE)",
            flush=True,
        )
        loaded = size
        results.append(_measure(app, args, folder_ids, size))
    missed = _report(*results, sizes)
    sys.exit(1 if missed else 0)


if __name__ == "__main__":
    main()
