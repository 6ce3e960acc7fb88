"""The sales scorecard, scored by phrase patterns: every point comes with the sentence that
earned it (quoted, with its time in the call), and every miss says what was not heard."""

import os
from functools import lru_cache

import yaml
from flask_babel import lazy_gettext as _l

from ...errors import ProcessingError, technical
from ...providers.storage.base import Field
from .. import hebrew

DEFAULT_RUBRIC = os.path.join(os.path.dirname(os.path.dirname(__file__)), "rubric_he.yaml")
MAX_EVIDENCE = 3
EMPTY_NOTE = "No speech was found in the recording, so there was nothing to score."


class RubricScorer:
    type = "rubric"
    label = _l("Sales scorecard (phrase rubric)")
    fields = (
        Field("rubric", _l("Scorecard file"), help=_l("A YAML or JSON scorecard; empty for the built-in Hebrew one.")),
        Field("pass_mark", _l("Pass mark"), kind="number", help=_l("Score (0-100) a criterion needs to pass.")),
    )

    def __init__(self, config):
        self.rubric = load_rubric(config)

    @classmethod
    def validate_config(cls, config):
        try:
            load_rubric(config)
        except ProcessingError as err:
            return [err.message]
        return []

    def score(self, transcript, duration=None):
        """(scores document, overall score or None)."""
        return score_rubric(self.rubric, sentences_of(transcript), scorer=self.type)


def load_rubric(config):
    """The scorecard from config: inline (`criteria`), a file (`rubric`), or the default."""
    if config.get("criteria"):
        document = {k: v for k, v in config.items() if k not in ("type",)}
    else:
        path = config.get("rubric") or DEFAULT_RUBRIC
        if not isinstance(path, str):
            raise ProcessingError(
                "The scorecard is not valid: rubric must be the path of a YAML or JSON file "
                "(or give the criteria inline).",
                code="SCORING_FAILED",
            )
        document = _read(path)
    if "pass_mark" in config and config["pass_mark"] is not None:
        document = {**document, "pass_mark": config["pass_mark"]}
    problems = _problems(document)
    if problems:
        raise ProcessingError("The scorecard is not valid: " + "; ".join(problems), code="SCORING_FAILED")
    return document


@lru_cache(maxsize=8)
def _read(path):
    try:
        with open(path, encoding="utf-8") as f:
            return yaml.safe_load(f)  # JSON is YAML too
    except OSError as exc:
        raise ProcessingError(
            f"The scorecard {path} could not be read: the file is missing or not readable.",
            code="SCORING_FAILED",
            details={"error": technical(exc)},
        ) from exc
    except yaml.YAMLError as exc:
        raise ProcessingError(f"The scorecard {path} could not be read: {exc}", code="SCORING_FAILED") from exc


def _problems(doc):
    if not isinstance(doc, dict) or not isinstance(doc.get("criteria"), list) or not doc["criteria"]:
        return ["it needs a list of criteria"]
    problems = []
    mark = doc.get("pass_mark", 60)
    if not isinstance(mark, (int, float)) or not 0 <= mark <= 100:
        problems.append("pass_mark must be from 0 to 100")
    for i, crit in enumerate(doc["criteria"], 1):
        name = crit.get("id", f"criterion {i}") if isinstance(crit, dict) else f"criterion {i}"
        if not isinstance(crit, dict) or not crit.get("id") or not crit.get("label"):
            problems.append(f"{name}: needs an id and a label")
            continue
        if not isinstance(crit.get("weight"), (int, float)) or crit["weight"] < 0:
            problems.append(f"{name}: weight must be a number of 0 or more")
        parts = crit.get("parts")
        if not isinstance(parts, list) or not parts:
            problems.append(f"{name}: needs parts")
            continue
        for part in parts:
            if not isinstance(part, dict) or not part.get("id"):
                problems.append(f"{name}: every part needs an id")
            elif not part.get("questions") and not (isinstance(part.get("phrases"), list) and part["phrases"]):
                problems.append(f"{name}.{part['id']}: needs phrases (or questions: true)")
            elif not part.get("trigger") and not isinstance(part.get("points"), (int, float)):
                problems.append(f"{name}.{part['id']}: needs points")
            elif "within_words" in part and (not isinstance(part["within_words"], int) or part["within_words"] < 1):
                problems.append(f"{name}.{part['id']}: within_words must be a whole number of 1 or more")
            elif "except" in part and not isinstance(part["except"], list):
                problems.append(f"{name}.{part['id']}: except must be a list of phrases")
    return problems


def sentences_of(transcript):
    """Each segment split into sentences, with times spread by length inside the segment, the
    sentence's clauses, and how many words its speaker (anyone, when unknown) said before it."""
    out = []
    said = {}
    for seg in transcript.segments:
        pieces = hebrew.sentences(seg.text) or []
        total = sum(len(p) for p in pieces) or 1
        t = seg.start
        for piece in pieces:
            length = (seg.end - seg.start) * len(piece) / total
            norm = hebrew.normalize(piece)
            out.append(
                {
                    "text": piece.strip(),
                    "norm": norm,
                    "clauses": hebrew.clauses(piece),
                    "start": t,
                    "end": t + length,
                    "speaker": seg.speaker,
                    "words_before": said.get(seg.speaker, 0),
                }
            )
            said[seg.speaker] = said.get(seg.speaker, 0) + len(norm.split())
            t += length
    return out


def score_rubric(rubric, sentences, scorer="rubric"):
    pass_mark = rubric.get("pass_mark", 60)
    criteria = [_criterion(c, sentences, pass_mark) for c in rubric["criteria"]]
    applicable = [c for c in criteria if c["applicable"]]
    weight = sum(c["weight"] for c in applicable)
    empty = not any(s["norm"] for s in sentences)
    overall = None if empty or not weight else round(sum(c["score"] * c["weight"] for c in applicable) / weight, 1)
    passed = sum(1 for c in applicable if c["passed"])
    summary = EMPTY_NOTE if empty else f"Passed {passed} of {len(applicable)} criteria; overall {overall}."
    return {
        "scorer": scorer,
        "rubric": rubric.get("id"),
        "pass_mark": pass_mark,
        "overall": overall,
        "empty": empty,
        "summary": summary,
        "criteria": criteria,
    }, overall


def _criterion(crit, sentences, pass_mark):
    """One criterion's result: not applicable when its trigger is never heard; else the points
    of its parts heard (after the trigger, if it has one), with the evidence and what is missing."""
    within = crit.get("within_seconds")
    pool = [s for s in sentences if within is None or s["start"] <= within]
    result = {
        "id": crit["id"],
        "label": crit["label"],
        "weight": crit["weight"],
        "earns": crit.get("earns", ""),
        "applicable": True,
        "score": 0,
        "passed": False,
        "evidence": [],
        "missing": [],
    }
    trigger = next((p for p in crit["parts"] if p.get("trigger")), None)
    if trigger:
        hits = _hits(trigger, pool)
        for hit in hits:
            hit.pop("count")
        if not hits:
            result.update(
                applicable=False,
                score=None,
                passed=None,
                note=f"Not applicable: nothing of the kind was heard ({trigger['id']}).",
            )
            return result
        result["evidence"] += hits[:MAX_EVIDENCE]
        pool = [s for s in pool if s["start"] > hits[0]["start"]]
    result["score"] = round(min(100.0, _points(crit["parts"], pool, result)), 1)
    result["passed"] = result["score"] >= crit.get("pass_mark", pass_mark)
    result["evidence"].sort(key=lambda e: e["start"])
    return result


def _points(parts, pool, result):
    """The points of the (non-trigger) parts heard in `pool`; each heard part's evidence and
    each unheard part's id go to `result`."""
    total = 0.0
    for part in parts:
        if part.get("trigger"):
            continue
        hits = _hits(part, pool)
        need = part.get("need", 1)
        total += part["points"] * min(1.0, sum(h.pop("count") for h in hits) / need)
        if hits:
            result["evidence"] += hits[:MAX_EVIDENCE]
        else:
            result["missing"].append(part["id"])
    return total


def _hits(part, sentences):
    """The sentences where the part is heard, each with the first phrase heard in it and how
    many of the part's phrases it holds (two polite expressions in one sentence count twice).
    A `questions` part hears questions (and its phrases), except those holding an `except`
    phrase; `within_words` keeps the first words the part's speaker said."""
    speaker = part.get("speaker")
    within_words = part.get("within_words")
    hits = []
    for s in sentences:
        if speaker and s["speaker"] and s["speaker"] != speaker:
            continue  # speaker is known and it is not the one this part listens to
        if within_words is not None and s["words_before"] >= within_words:
            continue
        matched = [p for p in part.get("phrases", ()) if hebrew.find(p, s["clauses"])]
        if part.get("questions"):
            if any(hebrew.find(p, s["clauses"]) for p in part.get("except", ())):
                continue
            asked = hebrew.questions_in(s["text"])
            matched = ["?"] * asked if asked else matched[:1]
        if matched:
            hits.append(
                {
                    "part": part["id"],
                    "matched": matched[0],
                    "quote": s["text"],
                    "start": round(s["start"], 2),
                    "end": round(s["end"], 2),
                    "speaker": s["speaker"],
                    "count": len(matched),
                }
            )
    return hits
