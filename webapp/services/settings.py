"""The global batch configuration (Settings page, /api settings): read, validate, save,
reset to defaults, and the scoring rubric. Export and import of the whole configuration
document live in services.config_document."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import yaml
from flask_babel import lazy_gettext as _l

from .. import audit_log
from ..analysis import REGISTRIES
from ..analysis.scorers.rubric import DEFAULT_RUBRIC, load_rubric
from ..batch import batch_config
from ..errors import ProcessingError
from ..extensions import db
from ..models import User
from . import error
from .provider_forms import provider_forms

TRUE = ("1", "true", "yes", "on")
IVRIT_TURBO = "ivrit-ai/whisper-large-v3-turbo-ct2"

# One click fills the speech engine form with one of these (nothing is saved until Save).
PRESETS = (
    {
        "id": "hebrew-gpu",
        "label": _l("Hebrew, best quality on a GPU"),
        "help": _l(
            "ivrit-ai Whisper large-v3-turbo on an NVIDIA GPU (CUDA), float16, 8 speech chunks at once. "
            "Downloaded once where a model hub is reachable, or give the model's folder."
        ),
        "transcriber": {
            "type": "faster_whisper",
            "model": IVRIT_TURBO,
            "language": "he",
            "device": "cuda",
            "compute_type": "float16",
            "batch_size": 8,
            "beam_size": 1,
            "local_files_only": False,
        },
    },
    {
        "id": "hebrew-cpu",
        "label": _l("Hebrew on CPU"),
        "help": _l("The same model on the processor: int8, 4 speech chunks at once, silence skipped."),
        "transcriber": {
            "type": "faster_whisper",
            "model": IVRIT_TURBO,
            "language": "he",
            "device": "cpu",
            "compute_type": "int8",
            "batch_size": 4,
            "vad_filter": True,
            "beam_size": 1,
            "local_files_only": False,
        },
    },
    {
        "id": "openai",
        "label": _l("OpenAI API"),
        "help": _l("OpenAI's transcription service; the key is read from the OPENAI_API_KEY environment variable."),
        "transcriber": {"type": "openai", "model": "whisper-1", "language": "he", "api_key_env": "OPENAI_API_KEY"},
    },
    {
        "id": "sidecar",
        "label": _l("Transcripts from the phone system"),
        "help": _l("Use the transcript the phone system delivers beside each recording (<uuid>.json or .txt)."),
        "transcriber": {"type": "sidecar"},
    },
)


def current() -> dict[str, Any]:
    """The configuration document in force (defaults filled in)."""
    return batch_config.load().model_dump()


def defaults() -> dict[str, Any]:
    return batch_config.defaults()


def schema() -> list[dict[str, Any]]:
    """The form's shape: [{"section", "fields": [{"name", "path", "kind", "min", "max", "description"}]}],
    read from the pydantic model so a new setting appears without template changes."""
    sections = []
    for section_name, section_field in batch_config.BatchConfig.model_fields.items():
        model = section_field.default_factory().__class__
        fields = []
        for name, info in model.model_fields.items():
            annotation = info.annotation
            kind = (
                "provider"
                if section_name == "analysis" and name in REGISTRIES
                else "bool"
                if annotation is bool
                else "number"
                if annotation in (int, float)
                else "text"
                if annotation is str
                else "list"
                if getattr(annotation, "__origin__", None) is list
                else "json"
            )
            low = high = None
            for meta in info.metadata:
                low = getattr(meta, "ge", low)
                high = getattr(meta, "le", high)
            fields.append(
                {
                    "name": name,
                    "path": f"{section_name}.{name}",
                    "kind": kind,
                    "min": low,
                    "max": high,
                    "description": info.description or "",
                }
            )
        sections.append({"section": section_name, "fields": fields})
    return sections


def from_form(form: Mapping[str, Any]) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """A configuration document from flat form fields named `section.field` (checkboxes
    absent = false, other fields absent = as saved, lists comma/space separated, objects as
    JSON; the transcriber and the
    scorer as `analysis.<kind>.type` and `analysis.<kind>.cfg.<field>`). Returns (document, errors)."""
    document, errors = {}, []
    saved = current()
    stored = saved["analysis"]
    for section in schema():
        values = document.setdefault(section["section"], {})
        for f in section["fields"]:
            raw = form.get(f["path"])
            shown = f["path"] + ".type" in form if f["kind"] == "provider" else f["path"] in form
            if f["kind"] != "bool" and not shown:
                values[f["name"]] = saved[section["section"]][f["name"]]  # a field the form did not show
            elif f["kind"] == "provider":
                values[f["name"]] = provider_config(f["name"], form, stored.get(f["name"]))
            elif f["kind"] == "bool":
                values[f["name"]] = str(raw or "").strip().lower() in TRUE
            elif f["kind"] == "number":
                try:
                    values[f["name"]] = int(str(raw).strip())
                except (TypeError, ValueError):
                    values[f["name"]] = raw  # pydantic reports it, against its field
            elif f["kind"] == "text":
                values[f["name"]] = str(raw or "").strip()
            elif f["kind"] == "list":
                values[f["name"]] = [
                    v.strip().lstrip(".") for v in str(raw or "").replace(",", " ").split() if v.strip()
                ]
            else:
                values[f["name"]], problem = parse_json(raw) if raw and raw.strip() else ({}, None)
                if problem:
                    errors.append(error(f["path"], f"Not valid JSON: {problem}."))
                    values[f["name"]] = {}
    return document, errors


def providers(kind: str) -> list[dict[str, Any]]:
    """The transcriber or scorer registry as forms draw it: [{type, label, fields: [{name,
    label, kind, required, help, default, choices: [[value, label]]}]}]."""
    return provider_forms(REGISTRIES[kind])


def provider_form(kind: str, type_name: str | None) -> dict[str, Any]:
    """The form of provider `type_name` (the registry's first when it is unknown)."""
    found = providers(kind)
    return next((p for p in found if p["type"] == type_name), found[0])


def chooser(kind: str, config: dict[str, Any] | None) -> dict[str, Any]:
    """What the transcriber or scorer chooser draws for `config`: {providers, provider, config}."""
    config = config or {}
    return {"providers": providers(kind), "provider": provider_form(kind, config.get("type")), "config": config}


def presets() -> list[dict[str, Any]]:
    """The presets in the reader's language, as plain text (the page escapes the <uuid> in one)."""
    return [{**p, "label": str(p["label"]), "help": str(p["help"])} for p in PRESETS]


def preset(preset_id: str) -> dict[str, Any] | None:
    return next((p for p in presets() if p["id"] == preset_id), None)


def provider_config(kind: str, form: Mapping[str, Any], stored: dict[str, Any] | None = None) -> dict[str, Any]:
    """A transcriber/scorer config from form fields `analysis.<kind>.type` and
    `analysis.<kind>.cfg.<field>`: numbers as numbers, checkboxes as booleans, blanks left out
    (the provider's default applies). Settings the form does not show (an inline scorecard)
    are kept from `stored` while the type stays the same. When the fields on the form were
    drawn for another type (`analysis.<kind>.shown`), only the type is taken."""
    prefix = f"analysis.{kind}."
    type_name = str(form.get(prefix + "type") or "").strip()
    config = {"type": type_name}
    cls = REGISTRIES[kind].get(type_name)
    if cls is None:
        return config
    declared = {f.name for f in cls.fields}
    if stored and stored.get("type") == type_name:
        config.update({k: v for k, v in stored.items() if k not in declared and k != "type"})
    if (form.get(prefix + "shown") or type_name) != type_name:
        return config
    for f in cls.fields:
        raw = form.get(prefix + "cfg." + f.name)
        if f.kind == "bool":
            config[f.name] = str(raw or "").strip().lower() in TRUE
        elif raw is not None and str(raw).strip():
            config[f.name] = _number(raw.strip()) if f.kind == "number" else raw.strip()
    return config


def _number(text):
    """A number typed in a form, as int or float; text that is neither is returned as it
    is, for the provider to refuse with its own message."""
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def validate(document: dict[str, Any]) -> list[dict[str, str]]:
    """Field errors ([] when the document can be saved)."""
    _config, errors = batch_config.validate(document)
    return errors


def save(
    document: dict[str, Any], user: User | None = None, action: str = "settings.update"
) -> tuple[dict[str, Any] | None, list[dict[str, str]]]:
    """Validate and save a whole document; returns (config document, errors)."""
    config, errors = batch_config.validate(document)
    if errors:
        return None, errors
    before = current()
    audit_log.record(action, ("settings", 1), before=before, after=config.model_dump(), user=user)
    batch_config.save(config)  # commits the audit row with it
    return config.model_dump(), []


def reset(user: User | None = None) -> dict[str, Any] | None:
    """Back to the defaults (the processing pause is kept: resetting must not start work)."""
    document = defaults()
    document["processing"]["paused"] = current()["processing"]["paused"]
    config, _errors = save(document, user, action="settings.reset")
    return config


def parse_json(text: str | bytes) -> tuple[Any, str | None]:
    """(value, None), or (None, why `text` is not JSON we can take)."""
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, f"{exc.msg} (line {exc.lineno})"
    except UnicodeDecodeError:
        return None, "the text is not UTF-8"
    except RecursionError:
        return None, "it is nested too deeply"


# -- the scoring rubric ----------------------------------------------------------------------


def rubric() -> dict[str, Any]:
    """{"source": "default" | "file" | "inline" | "other", "scorer": {...}, "document": {...},
    "text": YAML}: the scorecard the rubric scorer uses now."""
    scorer = dict(current()["analysis"].get("scorer") or {"type": "rubric"})
    if scorer.get("type") != "rubric":
        return {"source": "other", "scorer": scorer, "document": None, "text": ""}
    source = "inline" if scorer.get("criteria") else ("file" if scorer.get("rubric") else "default")
    try:
        document = load_rubric(scorer)
    except ProcessingError as err:
        return {"source": source, "scorer": scorer, "document": None, "text": "", "problem": err.message}
    if source == "default":
        with open(DEFAULT_RUBRIC, encoding="utf-8") as f:
            text = f.read()
    else:
        text = yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=110)
    return {"source": source, "scorer": scorer, "document": document, "text": text}


def parse_rubric(text: str | None) -> tuple[dict[str, Any] | None, list[dict[str, str]]]:
    """(document, errors) for a scorecard given as YAML or JSON text."""
    try:
        document = yaml.safe_load(text or "")
    except yaml.YAMLError as exc:
        return None, [error("rubric", f"Not valid YAML/JSON: {exc}")]
    except RecursionError:
        return None, [error("rubric", "Not valid YAML/JSON: it is nested too deeply.")]
    if not isinstance(document, dict):
        return None, [error("rubric", "The scorecard must be a mapping with a list of criteria.")]
    if not isinstance(document.get("criteria"), list) or not document["criteria"]:
        return None, [error("rubric", "The scorecard is not valid: it needs a list of criteria.")]
    try:
        load_rubric({**document, "type": "rubric"})
    except ProcessingError as err:
        return None, [error("rubric", err.message)]
    return document, []


def save_rubric(
    text_or_document: str | dict[str, Any], user: User | None = None
) -> tuple[dict[str, Any] | None, list[dict[str, str]]]:
    """Store a scorecard inline in the scorer settings (new calls are scored with it).
    Returns (document, errors)."""
    if isinstance(text_or_document, dict):
        document, errors = parse_rubric(json.dumps(text_or_document, ensure_ascii=False))
    else:
        document, errors = parse_rubric(text_or_document)
    if errors:
        return None, errors
    config = current()
    config["analysis"]["scorer"] = {"type": "rubric", **document}
    _saved, errors = save(config, user, action="rubric.update")
    return (document, []) if not errors else (None, errors)


def reset_rubric(user: User | None = None) -> None:
    """Back to the built-in Hebrew scorecard."""
    config = current()
    config["analysis"]["scorer"] = {"type": "rubric"}
    save(config, user, action="rubric.reset")
    db.session.expire_all()
