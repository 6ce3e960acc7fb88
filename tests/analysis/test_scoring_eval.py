"""The built-in scorecard against the hand-labelled evaluation set (tests/data/scoring_eval):
per-criterion agreement with a sales manager's judgement, on the tuning and held-out parts."""

import pytest

from bench.scoring import SPLITS, agreement, format_table, judge_all, load_set, share
from webapp.analysis.scorers.rubric import load_rubric

TARGET = 0.90


@pytest.fixture(scope="module")
def conversations():
    return {split: load_set(split) for split in SPLITS}


@pytest.fixture(scope="module")
def scored(conversations):
    everything = conversations["tuning"] + conversations["heldout"]
    judged, documents = judge_all(everything)
    return everything, judged, documents


def test_the_set_is_varied_and_labelled_for_every_criterion(conversations):
    criteria = {c["id"] for c in load_rubric({})["criteria"]}
    everything = conversations["tuning"] + conversations["heldout"]
    assert len(everything) >= 60 and len(conversations["heldout"]) >= len(everything) // 3
    assert len({c["id"] for c in everything}) == len(everything)
    assert {c["industry"] for c in everything} == {"telecom", "insurance", "energy", "clinics", "retail", "b2b"}
    for conv in everything:
        assert set(conv["labels"]) == criteria, conv["id"]
        assert set(conv["labels"].values()) <= {"pass", "fail", "n/a"}, conv["id"]
    labelled = [c for c in everything if any(s.get("speaker") for s in c["segments"])]
    assert 20 <= len(labelled) <= len(everything) - 20  # both with and without speaker labels
    objections = [c["labels"]["objection"] for c in everything]
    assert min(objections.count(v) for v in ("pass", "fail", "n/a")) >= 10


def test_agreement_with_the_manager_reaches_the_target(conversations, scored):
    everything, judged, _ = scored
    tables = {split: agreement(conversations[split], judged) for split in SPLITS}
    tables["all"] = agreement(everything, judged)
    print("\n" + format_table(tables))
    overall = tables["all"][0]["overall"]
    assert overall[1] == 6 * len(everything)
    assert share(overall) >= TARGET, format_table(tables)
    for crit, cell in tables["all"][0].items():
        assert share(cell) >= 0.85, f"{crit} agrees on {share(cell):.0%} only"


def test_every_point_is_backed_by_a_quote_with_its_time(scored):
    everything, _, documents = scored
    by_id = {c["id"]: c for c in everything}
    for conv_id, scores in documents.items():
        texts = " ".join(s["text"] for s in by_id[conv_id]["segments"])
        for crit in scores["criteria"]:
            if crit["score"]:
                assert crit["evidence"], (conv_id, crit["id"])
            for e in crit["evidence"]:
                assert e["quote"] and e["quote"] in texts and isinstance(e["start"], float | int), (conv_id, e)
            if crit["applicable"] is False:
                assert crit["score"] is None and crit["passed"] is None and crit["note"].startswith("Not applicable")
        applicable = [c for c in scores["criteria"] if c["applicable"]]
        if scores["overall"] is not None:
            expected = sum(c["score"] * c["weight"] for c in applicable) / sum(c["weight"] for c in applicable)
            assert scores["overall"] == round(expected, 1), conv_id
