"""Scorecard agreement: the `rubric` scorer against the hand-labelled evaluation set in
tests/data/scoring_eval/ (what a sales manager judged, per criterion: pass, fail or n/a).

Prints, per criterion, the share of conversations where the scorer's judgement matches the
label, on the tuning part, the held-out part and both; then the time per conversation and
the peak memory of scoring. With `--before REV` the same table is computed, in the same run,
with the scorer as it was at git revision REV (its `webapp/` is unpacked to a temporary
folder and run in a child process), and both are printed side by side.

Usage: .venv/bin/python bench/scoring.py [--before REV] [--disagreements] [--repeat 20]"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data", "scoring_eval")
SPLITS = ("tuning", "heldout")


def load_set(split):
    with open(os.path.join(DATA, f"{split}.json"), encoding="utf-8") as f:
        return json.load(f)


def judgement(criterion):
    if criterion.get("applicable") is False:
        return "n/a"
    return "pass" if criterion["passed"] else "fail"


def judge_all(conversations):
    """{conversation id: {criterion id: judgement}} and the scores documents, scored by the
    `rubric` provider as the pipeline builds it."""
    from webapp.analysis import provider
    from webapp.analysis.result import Segment, Transcript

    scorer = provider("scorer", {"type": "rubric"})
    judged, documents = {}, {}
    for conv in conversations:
        segments = [Segment(s["start"], s["end"], s["text"], s.get("speaker")) for s in conv["segments"]]
        transcript = Transcript(" ".join(s.text for s in segments), segments, "he", "eval")
        scores, _overall = scorer.score(transcript)
        judged[conv["id"]] = {c["id"]: judgement(c) for c in scores["criteria"]}
        documents[conv["id"]] = scores
    return judged, documents


def agreement(conversations, judged):
    """{criterion: [agreed, total]} plus "overall", and the disagreements as
    (conversation, criterion, label, judged)."""
    table, misses = {"overall": [0, 0]}, []
    for conv in conversations:
        for crit, label in conv["labels"].items():
            got = judged[conv["id"]].get(crit)
            row = table.setdefault(crit, [0, 0])
            hit = int(got == label)
            for r in (row, table["overall"]):
                r[0] += hit
                r[1] += 1
            if not hit:
                misses.append((conv["id"], crit, label, got))
    return table, misses


def evaluate():
    """Agreement tables per split and for all, with the disagreements."""
    out = {}
    everything = []
    for split in SPLITS:
        conversations = load_set(split)
        everything += conversations
        judged, _ = judge_all(conversations)
        out[split] = agreement(conversations, judged)
    judged, _ = judge_all(everything)
    out["all"] = agreement(everything, judged)
    return out


def share(cell):
    agreed, total = cell
    return agreed / total if total else 0.0


def format_table(results, before=None):
    """Rows per criterion: agreement on tuning, held-out and all (and before, when given)."""
    criteria = [c for c in results["all"][0] if c != "overall"] + ["overall"]
    head = f"{'criterion':<12}"
    for split in ("tuning", "heldout", "all"):
        head += f"{split:>20}" if before is None else f"{split + ' before → after':>30}"
    lines = [head]
    for crit in criteria:
        line = f"{crit:<12}"
        for split in ("tuning", "heldout", "all"):
            now = results[split][0][crit]
            cell = f"{share(now):.1%} ({now[0]}/{now[1]})"
            if before is not None:
                then = before[split][0].get(crit, [0, now[1]])
                cell = f"{share(then):.1%} → {cell}"
                line += f"{cell:>30}"
            else:
                line += f"{cell:>20}"
        lines.append(line)
    return "\n".join(lines)


def timing(repeat):
    """Mean and worst milliseconds per conversation over `repeat` passes, and the peak
    memory of one pass; the baseline is splitting and normalising the same text."""
    from webapp.analysis import provider
    from webapp.analysis.result import Segment, Transcript
    from webapp.analysis.scorers.rubric import sentences_of

    conversations = load_set("tuning") + load_set("heldout")
    transcripts = []
    for conv in conversations:
        segments = [Segment(s["start"], s["end"], s["text"], s.get("speaker")) for s in conv["segments"]]
        transcripts.append(Transcript(" ".join(s.text for s in segments), segments, "he", "eval"))
    scorer = provider("scorer", {"type": "rubric"})

    def run(work):
        times = []
        for _ in range(repeat):
            for t in transcripts:
                started = time.perf_counter()
                work(t)
                times.append((time.perf_counter() - started) * 1000)
        return sum(times) / len(times), max(times)

    run(scorer.score)  # warm the compiled patterns
    score_mean, score_max = run(scorer.score)
    base_mean, _ = run(sentences_of)
    tracemalloc.start()
    for t in transcripts:
        scorer.score(t)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "conversations": len(transcripts),
        "score_ms": score_mean,
        "score_max_ms": score_max,
        "baseline_ms": base_mean,
        "peak_kib": peak / 1024,
    }


def before_results(rev, repeat):
    """The tables and timing of the scorer as it was at `rev`, computed in a child process."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "-C", ROOT, "archive", rev, "webapp"], check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        child = subprocess.run(
            [sys.executable, os.path.abspath(__file__), "--code", tmp, "--json", "--repeat", str(repeat)],
            check=True,
            capture_output=True,
            text=True,
        )
    out = json.loads(child.stdout)
    tables = {split: (table, [tuple(m) for m in misses]) for split, (table, misses) in out["tables"].items()}
    return tables, out["timing"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", help="git revision whose scorer gives the 'before' figures")
    parser.add_argument("--disagreements", action="store_true", help="list the tuning set's disagreements")
    parser.add_argument("--repeat", type=int, default=20, help="timing passes over the set")
    parser.add_argument("--code", help=argparse.SUPPRESS)  # a tree whose webapp/ to score with
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, ROOT)
    if args.code:
        sys.path.insert(0, args.code)
    results = evaluate()
    if args.json:
        print(json.dumps({"tables": results, "timing": timing(args.repeat)}))
        return
    before, before_timing = before_results(args.before, args.repeat) if args.before else (None, None)
    print(format_table(results, before))
    if args.disagreements:
        for conv, crit, label, got in results["tuning"][1]:
            print(f"  {conv:<16} {crit:<10} labelled {label:<5} scored {got}")
    t = timing(args.repeat)
    print(
        f"\n{t['conversations']} conversations: {t['score_ms']:.2f} ms each on average "
        f"(worst {t['score_max_ms']:.2f} ms); splitting and normalising alone {t['baseline_ms']:.3f} ms "
        f"(scoring is {t['score_ms'] / t['baseline_ms']:.1f}x that); peak memory {t['peak_kib']:.0f} KiB"
    )
    if before_timing:
        b = before_timing
        print(
            f"before ({args.before}): {b['score_ms']:.2f} ms each (worst {b['score_max_ms']:.2f} ms), "
            f"peak memory {b['peak_kib']:.0f} KiB; now {t['score_ms'] / b['score_ms']:.1f}x the time"
        )


if __name__ == "__main__":
    main()
