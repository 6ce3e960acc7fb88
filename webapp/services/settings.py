"""The global batch configuration (Settings page, /api settings): read, validate, save,
reset to defaults, export and import as the JSON document, and the scoring rubric."""
import json

import yaml

from .. import audit
from ..analysis.scorers.rubric import DEFAULT_RUBRIC, load_rubric
from ..batch import settings as batch_settings
from ..errors import ProcessingError
from ..extensions import db
from . import error

TRUE = ("1", "true", "yes", "on")


def current():
    """The configuration document in force (defaults filled in)."""
    return batch_settings.load().model_dump()


def defaults():
    return batch_settings.defaults()


def export():
    """The document Export downloads and Import reads back."""
    return current()


def schema():
    """The form's shape: [{"section", "fields": [{"name", "path", "kind", "min", "max", "description"}]}],
    read from the pydantic model so a new setting appears without template changes."""
    sections = []
    for section_name, section_field in batch_settings.BatchConfig.model_fields.items():
        model = section_field.default_factory().__class__
        fields = []
        for name, info in model.model_fields.items():
            annotation = info.annotation
            kind = ("bool" if annotation is bool else "number" if annotation in (int, float)
                    else "list" if getattr(annotation, "__origin__", None) is list else "json")
            low = high = None
            for meta in info.metadata:
                low = getattr(meta, "ge", low)
                high = getattr(meta, "le", high)
            fields.append({"name": name, "path": f"{section_name}.{name}", "kind": kind, "min": low, "max": high,
                           "description": info.description or ""})
        sections.append({"section": section_name, "fields": fields})
    return sections


def from_form(form):
    """A configuration document from flat form fields named `section.field` (checkboxes
    absent = false, lists comma/space separated, objects as JSON). Returns (document, errors)."""
    document, errors = {}, []
    for section in schema():
        values = document.setdefault(section["section"], {})
        for f in section["fields"]:
            raw = form.get(f["path"])
            if f["kind"] == "bool":
                values[f["name"]] = str(raw or "").strip().lower() in TRUE
            elif f["kind"] == "number":
                try:
                    values[f["name"]] = int(str(raw).strip())
                except (TypeError, ValueError):
                    values[f["name"]] = raw  # pydantic reports it, against its field
            elif f["kind"] == "list":
                values[f["name"]] = [v.strip().lstrip(".") for v in str(raw or "").replace(",", " ").split()
                                     if v.strip()]
            else:
                values[f["name"]], problem = _json(raw) if raw and raw.strip() else ({}, None)
                if problem:
                    errors.append(error(f["path"], f"Not valid JSON: {problem}."))
                    values[f["name"]] = {}
    return document, errors


def validate(document):
    """Field errors ([] when the document can be saved)."""
    _config, errors = batch_settings.validate(document)
    return errors


def save(document, user=None, action="settings.update"):
    """Validate and save a whole document; returns (config document, errors)."""
    config, errors = batch_settings.validate(document)
    if errors:
        return None, errors
    before = current()
    audit.record(action, ("settings", 1), before=before, after=config.model_dump(), user=user)
    batch_settings.save(config)  # commits the audit row with it
    return config.model_dump(), []


def reset(user=None):
    """Back to the defaults (the processing pause is kept: resetting must not start work)."""
    document = defaults()
    document["processing"]["paused"] = current()["processing"]["paused"]
    config, _errors = save(document, user, action="settings.reset")
    return config


def import_document(data, user=None):
    """Import a document (a dict, or JSON text/bytes). Returns (config document, errors)."""
    if isinstance(data, (bytes, str)):
        data, problem = _json(data)
        if problem:
            return None, [error("file", f"The file is not JSON: {problem}.")]
    if not isinstance(data, dict):
        return None, [error("file", "The document must be a JSON object like the one Export writes.")]
    return save(data, user, action="settings.import")


def _json(text):
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

def rubric():
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


def parse_rubric(text):
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


def save_rubric(text_or_document, user=None):
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


def reset_rubric(user=None):
    """Back to the built-in Hebrew scorecard."""
    config = current()
    config["analysis"]["scorer"] = {"type": "rubric"}
    save(config, user, action="rubric.reset")
    db.session.expire_all()
