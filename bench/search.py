"""Search benchmark: with 10,000 calls in PostgreSQL (transcripts of ~30 lines of the sample
Hebrew sales calls, ~250 words each; one call in a hundred also says a rare word), time the
calls list through the Flask test client (API token, the whole app stack) searching:
  - a word most calls say in some form (מחיר: המחיר, במחיר ...), a word 1% say, a word's
    beginning, a misspelling (trigrams), two words at once, and a search with filters,
against a baseline measured in the same run: the same list without a search. Also the time
of the streamed CSV export of every call.

Run: .venv/bin/python bench/search.py [--calls 10000] [--requests 50]
Needs PostgreSQL and Redis on 127.0.0.1; uses a database of its own, dropped at the end."""

import argparse
import json
import os
import random
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench.services import migrated_app, own_services, percentile  # noqa: E402

RARE = "קומבינציה"
QUERIES = [
    ("common word", {"q": "מחיר"}),
    ("rare word (1%)", {"q": RARE}),
    ("word beginning", {"q": "הנח"}),
    ("misspelling", {"q": "אחריוט"}),
    ("two words", {"q": "מחיר הנחה"}),
    ("word + filters", {"q": "מחיר", "score_min": 50, "agent": "נועה"}),
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    with own_services("search"):
        _run(args)


def _load(app, count):
    from webapp.extensions import db
    from webapp.models import User
    from webapp.samples import SCRIPTS
    from webapp.services import search, tokens

    lines = [text for script in SCRIPTS for _speaker, text in script] + ["יש לנו אחריות מלאה לשלוש שנים."]
    rng = random.Random(7)
    with app.app_context():
        user = User(email="manager@example.com", role="manager", language="en")
        user.set_password("bench password 1")
        db.session.add(user)
        db.session.commit()
        token = tokens.create_token(user, "bench")[1]
        started = time.perf_counter()
        raw = db.engine.raw_connection()
        try:
            cur = raw.cursor()
            columns = (
                "content_sha256, call_uuid, agent, called_at, overall_score, transcript, search_text, segments, "
                "scores, metrics, created_at"
            )
            now = datetime.now(timezone.utc)
            with cur.copy(f"COPY sales_calls ({columns}) FROM STDIN") as copy:
                for n in range(count):
                    said = rng.choices(lines, k=30) + ([f"זאת {RARE} מיוחדת."] if n % 100 == 0 else [])
                    transcript = " ".join(said)
                    segments = [{"start": 6.0 * i, "end": 6.0 * i + 5, "text": t} for i, t in enumerate(said)]
                    scores = {"criteria": [{"id": "closing", "score": rng.choice([0.0, 100.0]), "passed": True}]}
                    copy.write_row(
                        (
                            uuid.uuid4().hex * 2,
                            str(uuid.uuid4()),
                            rng.choice(["נועה", "דני", "רוני"]),
                            now - timedelta(hours=n),
                            round(rng.uniform(20, 100), 1),
                            transcript,
                            search.index_text(transcript),
                            json.dumps(segments, ensure_ascii=False),
                            json.dumps(scores),
                            json.dumps({"words": 250, "talk_share": {"agent": 0.6}}),
                            now,
                        )
                    )
            raw.commit()
            cur.execute("ANALYZE sales_calls")
            raw.commit()
        finally:
            raw.close()
        return token, time.perf_counter() - started


def _timed(client, headers, params, count):
    times, total = [], None
    for _ in range(count):
        started = time.perf_counter()
        response = client.get("/api/batch/calls", query_string=params, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.get_data(as_text=True)
        total = response.get_json()["total"]
    return times, total


def _run(args):
    app = migrated_app()
    token, load_seconds = _load(app, args.calls)
    print(f"loaded {args.calls:,} calls in {load_seconds:.1f} s (COPY, search_text computed)")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    with app.app_context():
        _timed(client, headers, {"q": "מחיר"}, 3)  # warm up
        base, base_total = _timed(client, headers, {}, args.requests)
        base_p50 = percentile(base, 50)
        print(
            f"{'baseline: list, no search':28} p50 {base_p50:6.1f} ms  p95 {percentile(base, 95):6.1f} ms  "
            f"({base_total:,} calls)"
        )
        for name, params in QUERIES:
            times, total = _timed(client, headers, params, args.requests)
            print(
                f"{name:28} p50 {percentile(times, 50):6.1f} ms  p95 {percentile(times, 95):6.1f} ms  "
                f"x{percentile(times, 50) / base_p50:4.1f} baseline  ({total:,} found)"
            )
        started = time.perf_counter()
        response = client.get("/api/batch/calls/export", query_string={"format": "csv"}, headers=headers)
        size = sum(len(chunk) for chunk in response.response)
        print(f"CSV export of {args.calls:,} calls: {time.perf_counter() - started:.1f} s, {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
