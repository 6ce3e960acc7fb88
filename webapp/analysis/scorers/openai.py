"""The same scorecard, scored by a language model through the OpenAI chat API (or a
compatible server) with JSON-schema output. The answer is checked before it is trusted:
every criterion present, scores 0-100, evidence quoted from the transcript.

Any OpenAI-compatible server will do (`base_url`: vLLM, llama.cpp's server, Ollama, LM
Studio, ...). Such servers often wrap the JSON in a markdown code fence or add a sentence
around it, so the first JSON object in the answer is read; a server that refuses the
JSON-schema response format (HTTP 400/422) is asked again with the schema in the prompt."""

import json
import re

import openai
from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, ValidationError
from pydantic import Field as PydField

from ...errors import ProcessingError, technical
from ...providers.storage.base import Field
from .. import hebrew, openai_client
from .rubric import EMPTY_NOTE, load_rubric, score_rubric, sentences_of

DEFAULT_MODEL = "gpt-4o-mini"
CODE = "SCORING_FAILED"

SYSTEM = (
    "You score Hebrew sales calls against a scorecard. For every criterion give a score from 0 to 100, "
    "whether it applies to this call, a one-sentence reason, and the evidence: sentences quoted exactly "
    "from the transcript (copy them, do not translate or paraphrase). Answer only with the JSON asked for."
)


class _Quote(BaseModel):
    quote: str = PydField(min_length=1)


class _Criterion(BaseModel):
    id: str
    applicable: bool = True
    score: float = PydField(ge=0, le=100)
    reason: str = ""
    evidence: list[_Quote] = []


class _Answer(BaseModel):
    criteria: list[_Criterion]


SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["criteria"],
    "properties": {
        "criteria": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "applicable", "score", "reason", "evidence"],
                "properties": {
                    "id": {"type": "string"},
                    "applicable": {"type": "boolean"},
                    "score": {"type": "number", "minimum": 0, "maximum": 100},
                    "reason": {"type": "string"},
                    "evidence": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["quote"],
                            "properties": {"quote": {"type": "string"}},
                        },
                    },
                },
            },
        }
    },
}


class OpenAIScorer:
    type = "openai"
    label = _l("Language model (OpenAI API or a compatible server)")
    fields = (
        Field("model", _l("Model"), required=True, default=DEFAULT_MODEL),
        openai_client.BASE_URL_FIELD,
        openai_client.KEY_ENV_FIELD,
        openai_client.TIMEOUT_FIELD,
        Field("rubric", _l("Scorecard file"), help=_l("Empty for the built-in Hebrew scorecard.")),
    )

    def __init__(self, config):
        self.config = dict(config)
        self.model = config.get("model") or DEFAULT_MODEL
        self.rubric = load_rubric({k: v for k, v in config.items() if k in ("rubric", "criteria", "pass_mark")})

    @classmethod
    def validate_config(cls, config):
        messages = openai_client.validate(config, DEFAULT_MODEL)
        try:
            load_rubric({k: v for k, v in config.items() if k in ("rubric", "criteria", "pass_mark")})
        except ProcessingError as err:
            messages.append(err.message)
        return messages

    def score(self, transcript, duration=None):
        sentences = sentences_of(transcript)
        if not any(s["norm"] for s in sentences):
            return score_rubric(self.rubric, sentences, scorer=self.type)  # nothing to ask about
        client = openai_client.make_client(self.config, code=CODE)
        prompt = self._prompt(transcript)
        try:
            with openai_client.guarded(CODE):
                try:
                    answer = self._ask(
                        client,
                        prompt,
                        response_format={
                            "type": "json_schema",
                            "json_schema": {"name": "scorecard", "strict": True, "schema": SCHEMA},
                        },
                    )
                except openai.APIStatusError as exc:
                    if exc.status_code not in (400, 422):
                        raise
                    # a server without structured output: the schema goes into the prompt instead
                    answer = self._ask(
                        client, prompt + "\n\nAnswer with one JSON object of this JSON schema:\n" + json.dumps(SCHEMA)
                    )
        except openai.OpenAIError as exc:
            raise openai_client.failure(exc, CODE, "scoring") from exc
        return self._document(_parse(answer), sentences)

    def _ask(self, client, prompt, **extra):
        return client.chat.completions.create(
            model=self.model,
            temperature=0,
            messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}],
            **extra,
        )

    def _prompt(self, transcript):
        lines = "\n".join(
            f"[{s.start:.1f}-{s.end:.1f}]" + (f" {s.speaker}:" if s.speaker else "") + f" {s.text}"
            for s in transcript.segments
        )
        criteria = "\n".join(
            f"- {c['id']}: {c['label']} (weight {c['weight']}). Earns points for: {c.get('earns', '')}"
            for c in self.rubric["criteria"]
        )
        return f"Scorecard criteria:\n{criteria}\n\nTranscript:\n{lines}"

    def _document(self, parsed, sentences):
        pass_mark = self.rubric.get("pass_mark", 60)
        given = {c.id: c for c in parsed.criteria}
        missing = [c["id"] for c in self.rubric["criteria"] if c["id"] not in given]
        if missing:
            raise ProcessingError(
                f"The scoring model's answer is incomplete: no score for {', '.join(missing)}.", code=CODE
            )
        criteria = []
        for crit in self.rubric["criteria"]:
            got = given[crit["id"]]
            entry = {
                "id": crit["id"],
                "label": crit["label"],
                "weight": crit["weight"],
                "earns": crit.get("earns", ""),
                "applicable": got.applicable,
                "reason": got.reason,
                "evidence": [_locate(q.quote, sentences) for q in got.evidence],
                "missing": [],
            }
            if got.applicable:
                entry.update(score=round(got.score, 1), passed=got.score >= crit.get("pass_mark", pass_mark))
            else:
                entry.update(score=None, passed=None)
            criteria.append(entry)
        applicable = [c for c in criteria if c["applicable"]]
        weight = sum(c["weight"] for c in applicable)
        overall = round(sum(c["score"] * c["weight"] for c in applicable) / weight, 1) if weight else None
        passed = sum(1 for c in applicable if c["passed"])
        return {
            "scorer": self.type,
            "model": self.model,
            "rubric": self.rubric.get("id"),
            "pass_mark": pass_mark,
            "overall": overall,
            "empty": False,
            "summary": f"Passed {passed} of {len(applicable)} criteria; overall {overall}.",
            "criteria": criteria,
        }, overall


def _parse(answer):
    try:
        content = answer.choices[0].message.content
    except (AttributeError, IndexError, TypeError) as exc:
        raise ProcessingError(
            "The scoring model gave no answer.", code=CODE, details={"error": technical(exc)}
        ) from exc
    if not content:
        refusal = getattr(answer.choices[0].message, "refusal", None)
        raise ProcessingError(f"The scoring model gave no answer{': ' + refusal if refusal else ''}.", code=CODE)
    try:
        return _Answer.model_validate(json_in(content))
    except json.JSONDecodeError as exc:
        raise ProcessingError(
            f"The scoring model's answer is not valid JSON ({exc.msg} at character {exc.pos}): "
            f"it begins “{_start(content)}”.",
            code=CODE,
        ) from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ProcessingError(
            f"The scoring model's answer does not fit the scorecard: {where}: {first['msg']}.", code=CODE
        ) from exc


FENCE = re.compile(r"```[a-zA-Z]*\s*\n?(.*?)```", re.DOTALL)


def json_in(content):
    """The JSON object in a model's answer: the whole answer, else the inside of a markdown
    code fence, else the first object in the text ("Here is the scorecard: {...} Hope it helps")."""
    text = content.strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        first_error = exc
    for block in FENCE.findall(text):
        try:
            return json.loads(block.strip())
        except json.JSONDecodeError:
            pass
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            found, _end = decoder.raw_decode(text, match.start())
        except json.JSONDecodeError:
            continue
        if isinstance(found, dict):
            return found
    raise first_error


def _start(content, length=80):
    text = " ".join(content.split())
    return text[:length] + ("…" if len(text) > length else "")


def _locate(quote, sentences):
    """The quoted sentence with its time: the transcript sentence sharing the most words."""
    words = set(hebrew.normalize(quote).split())
    best, overlap = None, 0
    for s in sentences:
        common = len(words & set(s["norm"].split()))
        if common > overlap:
            best, overlap = s, common
    evidence = {"quote": quote, "start": None, "end": None, "speaker": None, "found": False}
    if best and overlap >= max(1, len(words) // 2):
        evidence.update(start=round(best["start"], 2), end=round(best["end"], 2), speaker=best["speaker"], found=True)
    return evidence


__all__ = ["OpenAIScorer", "EMPTY_NOTE"]
