"""The configuration document: the whole installation in the shape of the spec's
configuration document — `folders[]` (storage, monitor, processing), `notifications[]`,
`processing` (with `retryConfig`) — plus the rest of the global configuration (`scanning`
defaults, `analysis` providers with the scorecard). Export writes it, import reads it, and
`problems()` checks the stored configuration entry by entry, saying where each problem is.

Folder rows and document entries are mapped here only, one function per direction
(`folder_entry` / `folder_data`), and notification configs likewise (`notification_entry` /
`notification_data`): a new folder setting is added to those two functions and `WHERE`.

Secrets are exported encrypted (the stored `enc:` values, readable only where the same
encryption key is configured) or left out (written as the mask). On import a placeholder
(the mask, "...", "AKIA...") is not a secret: a stored one is kept, and an entry with nothing
stored is imported disabled and reported as needing real credentials.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask_babel import force_locale

from .. import audit_log, crypto
from ..batch import batch_config, folder_config
from ..extensions import db
from ..models import BatchSettings, ExternalFolder, NotificationConfig, User
from ..notifications import NOTIFIERS
from ..providers.storage import STORAGE
from . import folders as folder_service
from . import notifications as notification_service
from . import settings as settings_service

SECRETS_MODES = ("omit", "encrypted")
SECTIONS = ("folders", "notifications", "processing", "scanning", "analysis", "secrets", "retryPolicy")
FOLDER_KEYS = ("id", "name", "storage", "monitor", "processing")
MONITOR_KEYS = ("scanInterval", "cronSchedule")
# When found files are processed (see webapp.timetable): the folder's processing schedule.
SCHEDULE_FIELDS = (
    ("processMode", "process_mode"),
    ("windowStart", "window_start"),
    ("windowEnd", "window_end"),
    ("processCron", "process_cron"),
)
ANALYSIS_KINDS = ("transcriber", "diarizer", "scorer")
FOLDER_PROCESSING_KEYS = (
    "maxFileSize",
    "allowedExtensions",
    "autoStart",
    *ANALYSIS_KINDS,
    "redact",
    *(key for key, _column in SCHEDULE_FIELDS),
)
NOTIFICATION_KEYS = (
    "name",
    "type",
    "config",
    "conditions",
    "enabled",
    "folders",
    "errorCodes",
    "cooldownMinutes",
    "stallMinutes",
)
# Where a folder row's value lives in the document entry (services.folders error fields too).
WHERE = {
    "name": "name",
    "storage_type": "storage.type",
    "storage_config": "storage.config",
    "monitor_type": "monitor.type",
    "scan_interval": "monitor.config.scanInterval",
    "cron_schedule": "monitor.config.cronSchedule",
    "allowed_extensions": "processing.allowedExtensions",
    "max_file_size": "processing.maxFileSize",
    "enabled": "processing.autoStart",
    "process_mode": "processing.processMode",
    "window_start": "processing.windowStart",
    "window_end": "processing.windowEnd",
    "process_cron": "processing.processCron",
    "analysis_config": "processing",
    "analysis_config.transcriber": "processing.transcriber",
    "analysis_config.scorer": "processing.scorer",
    "analysis_config.diarizer": "processing.diarizer",
}
NOTIFICATION_WHERE = {
    "name": "name",
    "type": "type",
    "config": "config",
    "conditions": "conditions",
    "folder_ids": "folders",
    "error_codes": "errorCodes",
    "cooldown_minutes": "cooldownMinutes",
    "stall_minutes": "stallMinutes",
    "enabled": "enabled",
}
KEY_ELSEWHERE = (
    "The secret in this document was encrypted with another installation's key: import it where the "
    "same CALLBATCH_ENCRYPTION_KEY (or SECRET_KEY) is set, or export it with secrets left out and "
    "enter the secret here."
)


# -- export ------------------------------------------------------------------------------------


def export(secrets: str = "omit") -> dict[str, Any]:
    """The whole configuration as one document. `secrets`: "omit" (masked) or "encrypted"."""
    if secrets not in SECRETS_MODES:
        raise ValueError(f"secrets must be one of: {', '.join(SECRETS_MODES)}")
    folders = folder_service.list_folders()
    ids = {folder.id: f"folder-{n}" for n, folder in enumerate(folders, 1)}
    config = batch_config.load().model_dump()
    processing = {key: value for key, value in config["processing"].items() if key != "paused"}
    return {
        "folders": [folder_entry(folder, ids[folder.id], secrets) for folder in folders],
        "notifications": [notification_entry(c, ids, secrets) for c in _notifications()],
        "processing": {**processing, "retryConfig": config["retryPolicy"]},
        "scanning": config["scanning"],
        "analysis": config["analysis"],
        "secrets": secrets,
    }


def folder_entry(folder: ExternalFolder, doc_id: str, secrets: str = "omit") -> dict[str, Any]:
    """A folder row as a document entry."""
    processing = {
        "maxFileSize": folder.max_file_size,
        "allowedExtensions": list(folder.allowed_extensions or []),
        "autoStart": folder.enabled,
    }
    for key, column in SCHEDULE_FIELDS:
        if getattr(folder, column):
            processing[key] = getattr(folder, column)
    for kind in ANALYSIS_KINDS:
        if (folder.analysis_config or {}).get(kind):
            processing[kind] = folder.analysis_config[kind]
    if (folder.analysis_config or {}).get("redact"):
        processing["redact"] = True
    monitor = {"scanInterval": folder.scan_interval}
    if folder.cron_schedule:
        monitor["cronSchedule"] = folder.cron_schedule
    return {
        "id": doc_id,
        "name": folder.name,
        "storage": {
            "type": folder.storage_type,
            "config": _exported(folder.storage_config, folder_config.secret_fields(folder.storage_type), secrets),
        },
        "monitor": {"type": folder.monitor_type, "config": monitor},
        "processing": processing,
    }


def notification_entry(config: NotificationConfig, folder_ids: dict[int, str], secrets: str = "omit") -> dict[str, Any]:
    """A notification config as a document entry; its folders named by their document ids."""
    notifier = NOTIFIERS.get(config.type)
    entry = {
        "name": config.name,
        "type": config.type,
        "config": _exported(config.config, notifier.secret_fields() if notifier else (), secrets),
        "conditions": list(config.conditions or []),
        "enabled": config.enabled,
        "cooldownMinutes": config.cooldown_minutes,
        "stallMinutes": config.stall_minutes,
    }
    if config.folder_ids:
        entry["folders"] = [folder_ids.get(i, i) for i in config.folder_ids]
    if config.error_codes:
        entry["errorCodes"] = list(config.error_codes)
    return entry


def _exported(config, secret_fields, secrets):
    shown = dict(config or {})
    for name in secret_fields:
        if shown.get(name) and secrets == "omit":
            shown[name] = crypto.MASK
    return shown


def _notifications():
    NC = NotificationConfig
    return db.session.scalars(sa.select(NC).order_by(NC.name, NC.type, NC.id)).all()


# -- import --------------------------------------------------------------------------------------


@dataclass
class Plan:
    """What the import does with one entry."""

    what: str  # "folder" | "notification"
    where: str
    name: str
    row: object = None  # the existing row it matches, if any
    values: dict = field(default_factory=dict)
    changes: list = field(default_factory=list)
    needs: list = field(default_factory=list)  # secret fields the document held only placeholders for
    refs: list = field(default_factory=list)  # a notification's folders, as the document names them


@dataclass
class Report:
    errors: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    create: list = field(default_factory=list)
    change: list = field(default_factory=list)
    leave: list = field(default_factory=list)
    needs_credentials: list = field(default_factory=list)

    def problem(self, where: str, message: str) -> None:
        self.errors.append({"where": where, "message": message})

    def note(self, where: str, message: str) -> None:
        self.notes.append({"where": where, "message": message})

    def as_dict(self, dry_run: bool, applied: bool) -> dict[str, Any]:
        return {
            "valid": not self.errors,
            "dry_run": dry_run,
            "applied": applied,
            "errors": self.errors,
            "create": self.create,
            "change": self.change,
            "leave": self.leave,
            "needs_credentials": self.needs_credentials,
            "notes": self.notes,
        }


def import_document(
    data: dict[str, Any] | str | bytes, dry_run: bool = False, user: User | None = None, actor: str | None = None
) -> dict[str, Any]:
    """Validate a whole document (a dict, or JSON text/bytes) and, unless `dry_run`, apply it
    in one transaction: nothing changes when any part is invalid. Folders are matched by name,
    notifications by name and type; entries not in the document are left as they are.
    Returns the report: {"valid", "applied", "errors": [{"where", "message"}], "create",
    "change", "leave", "needs_credentials", "notes"}."""
    report = Report()
    document = _parse(data, report)
    if document is None:
        return report.as_dict(dry_run, False)
    config = _plan_settings(document, report)
    scanning = config.scanning if config else batch_config.load().scanning
    folders = [_plan_folder(n, entry, scanning, report) for n, entry in enumerate(_list(document, "folders", report))]
    folders = [plan for plan in folders if plan]
    _check_unique(folders, report, lambda plan: plan.name, "A folder named '{}' appears twice.")
    targets = _folder_targets(folders)
    notifications = [
        _plan_notification(n, entry, targets, report)
        for n, entry in enumerate(_list(document, "notifications", report))
    ]
    notifications = [plan for plan in notifications if plan]
    _check_unique(
        notifications,
        report,
        lambda plan: (plan.name, plan.values.get("type")),
        "A notification named '{0[0]}' of type {0[1]} appears twice.",
    )
    _report_plans(folders + notifications, report)
    _report_left(folders, notifications, report)
    if report.errors or dry_run:
        db.session.rollback()
        return report.as_dict(dry_run, False)
    try:
        _apply(config, folders, notifications, report, user, actor)
    except Exception:
        db.session.rollback()
        raise
    return report.as_dict(dry_run, True)


def _parse(data, report):
    if isinstance(data, (bytes, str)):
        data, problem = settings_service.parse_json(data)
        if problem:
            report.problem("document", f"The file is not JSON: {problem}.")
            return None
    if not isinstance(data, dict):
        report.problem("document", "The document must be a JSON object like the one Export writes.")
        return None
    for key in data:
        if key not in SECTIONS:
            report.problem(
                str(key), f"'{key}' is not a section of the configuration document (known: {', '.join(SECTIONS)})."
            )
    if data.get("secrets", "omit") not in SECRETS_MODES:
        report.problem("secrets", f"secrets must be one of: {', '.join(SECRETS_MODES)}.")
    return data


def _list(document, key, report):
    items = document.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        report.problem(key, f"'{key}' must be a list.")
        return []
    return items


def _check_unique(plans, report, key, message):
    seen = set()
    for plan in plans:
        if key(plan) in seen:
            report.problem(f"{plan.where}.name", message.format(key(plan)))
        seen.add(key(plan))


# -- the global settings ---------------------------------------------------------------------


def _plan_settings(document, report):
    """The merged global configuration (the document's sections over the current one), or None."""
    current = batch_config.load().model_dump()
    merged = json.loads(json.dumps(current))
    processing = document.get("processing")
    given = {
        "scanning": document.get("scanning"),
        "analysis": document.get("analysis"),
        "retryPolicy": document.get("retryPolicy"),
    }
    if processing is not None:
        if not isinstance(processing, dict):
            report.problem("processing", "'processing' must be an object.")
            return None
        processing = dict(processing)
        given["retryPolicy"] = processing.pop("retryConfig", given["retryPolicy"])
        if processing.pop("paused", None) is not None:
            report.note("processing.paused", "A processing pause is not imported: it stays as it is here.")
        given["processing"] = processing
    for section, values in given.items():
        if values is None:
            continue
        if not isinstance(values, dict):
            report.problem(_settings_where(section), f"'{_settings_where(section)}' must be an object.")
            return None
        merged[section].update(values)
    config, errors = batch_config.validate(merged)
    for e in errors:
        report.problem(_settings_where(e["field"]), e["message"])
    if config is None:
        return None
    changed = _changed_paths(current, config.model_dump())
    entry = {"what": "settings", "name": "processing, scanning and analysis settings"}
    (
        report.change.append({**entry, "fields": changed})
        if changed
        else report.leave.append({**entry, "reason": "unchanged"})
    )
    return config


def _settings_where(path):
    if path == "retryPolicy" or path.startswith("retryPolicy."):
        return "processing.retryConfig" + path[len("retryPolicy") :]
    return path


def _changed_paths(before, after, prefix=""):
    paths = []
    for key in sorted(set(before) | set(after)):
        a, b = before.get(key), after.get(key)
        if isinstance(a, dict) and isinstance(b, dict) and key not in ANALYSIS_KINDS:
            paths += _changed_paths(a, b, f"{prefix}{key}.")
        elif a != b:
            paths.append(_settings_where(prefix + key))
    return paths


# -- folders -----------------------------------------------------------------------------------


def folder_data(entry: dict[str, Any], where: str, report: Report) -> dict[str, Any]:
    """A document entry as folder row values (only those the entry gives, named as the row's
    columns). Problems of its shape go to `report`."""
    data = {}
    for key in entry:
        if key not in FOLDER_KEYS:
            report.problem(f"{where}.{key}", f"'{key}' is not a folder setting (known: {', '.join(FOLDER_KEYS)}).")
    if "name" in entry:
        data["name"] = entry["name"] if isinstance(entry["name"], str) else ""
    storage = _object(entry, "storage", where, report, required=True)
    if storage is not None:
        data["storage_type"] = _text(storage, "type", f"{where}.storage", report)
        raw = _object(storage, "config", f"{where}.storage", report) or {}
        provider = STORAGE.get(data["storage_type"])
        data["storage_config"] = _provider_config(
            _scalars(_spec_storage(data["storage_type"], raw), f"{where}.storage.config", report),
            [f.name for f in provider.fields] if provider else None,
            f"{where}.storage.config",
            report,
        )
    monitor = _object(entry, "monitor", where, report)
    if monitor is not None:
        if "type" in monitor:
            data["monitor_type"] = _text(monitor, "type", f"{where}.monitor", report)
        monitor_config = _object(monitor, "config", f"{where}.monitor", report) or {}
        _known(monitor_config, MONITOR_KEYS, f"{where}.monitor.config", report)
        if "scanInterval" in monitor_config:
            data["scan_interval"] = monitor_config["scanInterval"]
        if "cronSchedule" in monitor_config:
            data["cron_schedule"] = _text(monitor_config, "cronSchedule", f"{where}.monitor.config", report)
    processing = _object(entry, "processing", where, report)
    if processing is not None:
        data.update(_processing_data(processing, f"{where}.processing", report))
    return data


def _processing_data(processing, where, report):
    """A folder entry's `processing` part as row values."""
    _known(processing, FOLDER_PROCESSING_KEYS, where, report)
    data = {}
    for key, column in (("maxFileSize", "max_file_size"), ("autoStart", "enabled")):
        if key in processing:
            data[column] = processing[key]
    for key, column in SCHEDULE_FIELDS:
        if key in processing:
            data[column] = _text(processing, key, where, report)
    if "allowedExtensions" in processing:
        data["allowed_extensions"] = _texts(processing, "allowedExtensions", where, report)
    if "autoStart" in processing and not isinstance(processing["autoStart"], bool):
        report.problem(f"{where}.autoStart", "autoStart must be true or false.")
    analysis = {kind: processing[kind] for kind in ANALYSIS_KINDS if processing.get(kind)}
    if "redact" in processing:
        analysis["redact"] = processing["redact"]
    data["analysis_config"] = analysis
    return data


def _plan_folder(n, entry, scanning, report):
    where = f"folders[{n}]"
    if not isinstance(entry, dict):
        report.problem(where, "Each folder must be an object with name, storage, monitor and processing.")
        return None
    data = folder_data(entry, where, report)
    name = str(data.get("name") or "").strip()
    existing = db.session.scalar(sa.select(ExternalFolder).where(ExternalFolder.name == name)) if name else None
    storage_type = data.get("storage_type")
    secret_fields = folder_config.secret_fields(storage_type)
    previous = existing.storage_config if existing is not None and existing.storage_type == storage_type else {}
    config = data.get("storage_config") or {}
    needs = _placeholders(config, secret_fields, previous)
    _check_encrypted(config, secret_fields, f"{where}.storage.config", report)
    if "storage_config" in data:  # a placeholder is no secret: the stored one (if any) is kept
        data["storage_config"] = {k: v for k, v in config.items() if not (k in secret_fields and _placeholder(v))}
    if existing is None:
        data = {**folder_config.new_folder_defaults(scanning), **data}
    cleaned, errors = folder_service.validate(data, existing)
    provider = STORAGE.get(storage_type)
    for e in errors:
        if e["field"] == "storage_config" and _about(e["message"], provider, needs):
            continue  # a required secret the document held only a placeholder for
        report.problem(_folder_where(where, e["field"], e["message"], provider), e["message"])
    if needs:
        cleaned["enabled"] = False
    doc_id = entry.get("id")
    if doc_id is not None and (not isinstance(doc_id, (str, int)) or isinstance(doc_id, bool)):
        report.problem(f"{where}.id", 'id must be text, e.g. "folder-1".')
        doc_id = None
    plan = Plan("folder", where, name, existing, cleaned, needs=needs, refs=[doc_id])
    if existing is not None:
        plan.changes = [WHERE.get(key, key) for key, value in cleaned.items() if not _same(existing, key, value)]
    return plan


def _folder_where(where, field_name, message, provider):
    path = WHERE.get(field_name, field_name)
    if field_name == "storage_config" and provider is not None:
        named = _field_named(provider.fields, message)
        if named:
            path += "." + named
    return f"{where}.{path}"


def _same(folder, key, value):
    if key == "storage_config":
        secrets = folder_config.secret_fields(folder.storage_type)
        try:
            return crypto.unseal(folder.storage_config or {}, secrets) == crypto.unseal(value, secrets)
        except ValueError:
            return False
    return getattr(folder, key) == value


def _spec_storage(storage_type, raw):
    """The spec's spellings (camelCase, `credentials: {accessKeyId, secretAccessKey, region}`)
    as the storage provider's own field names."""
    config = {}
    for key, value in raw.items():
        if key == "credentials" and isinstance(value, dict):
            if storage_type == "gcs":
                config["credentials_json"] = json.dumps(value)
            else:
                config.update({_snake(k): v for k, v in value.items()})
        else:
            config[_snake(key)] = value
    return config


def _snake(key):
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", str(key)).lower()


# -- notifications -------------------------------------------------------------------------------


def notification_data(entry: dict[str, Any], where: str, report: Report) -> tuple[dict[str, Any], list[Any]]:
    """A document entry as notification config values, and its `folders` as the document names
    them (ids of the document, folder names, or ids here)."""
    _known(entry, NOTIFICATION_KEYS, where, report)
    kind = entry.get("type")
    notifier = NOTIFIERS.get(kind) if isinstance(kind, str) else None
    if notifier is None:
        report.problem(f"{where}.type", f"'{kind}' is not a notification channel (known: {', '.join(NOTIFIERS)}).")
    raw = _scalars(_object(entry, "config", where, report) or {}, f"{where}.config", report)
    data = {
        "type": kind,
        "name": str(entry.get("name") or (notifier.label if notifier else kind) or "").strip(),
        "config": _provider_config(
            {_snake(k): v for k, v in raw.items()},
            [f.name for f in notifier.fields] if notifier else None,
            f"{where}.config",
            report,
        ),
        "conditions": _texts(entry, "conditions", where, report) or [],
        "enabled": entry.get("enabled", True),
    }
    if "errorCodes" in entry:
        data["error_codes"] = _texts(entry, "errorCodes", where, report)
    for key, column in (("cooldownMinutes", "cooldown_minutes"), ("stallMinutes", "stall_minutes")):
        if key in entry:
            data[column] = entry[key]
    if not isinstance(data["enabled"], bool):
        report.problem(f"{where}.enabled", "enabled must be true or false.")
    refs = entry.get("folders") or []
    if not isinstance(refs, list):
        report.problem(f"{where}.folders", "folders must be a list of folder ids or names.")
        refs = []
    return data, refs


def _plan_notification(n, entry, targets, report):
    where = f"notifications[{n}]"
    if not isinstance(entry, dict):
        report.problem(where, "Each notification must be an object with type, config, conditions and enabled.")
        return None
    data, refs = notification_data(entry, where, report)
    notifier = NOTIFIERS.get(data["type"]) if isinstance(data["type"], str) else None
    if notifier is None:
        return None
    NC = NotificationConfig
    existing = db.session.scalar(
        sa.select(NC).where(NC.name == data["name"], NC.type == data["type"]).order_by(NC.id).limit(1)
    )
    secret_fields = notifier.secret_fields()
    config = data["config"]
    needs = _placeholders(config, secret_fields, existing.config if existing is not None else {})
    _check_encrypted(config, secret_fields, f"{where}.config", report)
    data["config"] = {k: v for k, v in config.items() if not (k in secret_fields and _placeholder(v))}
    if any(
        e["where"].startswith(f"{where}.config.") and "another installation's key" in e["message"]
        for e in report.errors
    ):
        return None  # the provider cannot check what cannot be decrypted
    errors, cleaned = notification_service.validate(data, previous=existing)
    for e in errors:
        if e["field"] == "config" and _about(e["message"], notifier, needs):
            continue
        path = NOTIFICATION_WHERE.get(e["field"], e["field"])
        named = _field_named(notifier.fields, e["message"]) if e["field"] == "config" else None
        report.problem(f"{where}.{path}" + (f".{named}" if named else ""), e["message"])
    resolved = _resolved_folders(refs, targets, where, report)
    if cleaned is None:
        return None
    if needs:
        cleaned["enabled"] = False
    plan = Plan("notification", where, data["name"], existing, cleaned, needs=needs, refs=resolved)
    if existing is not None:
        plan.changes = _notification_changes(existing, cleaned, resolved, secret_fields)
    return plan


def _resolved_folders(refs, targets, where, report):
    """A notification's `folders` as `targets` (see _folder_targets); a reference to no
    folder is a problem."""
    resolved = []
    for n_ref, ref in enumerate(refs):
        if isinstance(ref, (str, int)) and not isinstance(ref, bool) and ref in targets:
            resolved.append(targets[ref])
        else:
            report.problem(f"{where}.folders[{n_ref}]", f"There is no folder '{ref}' in the document or here.")
    return resolved


def _notification_changes(existing, cleaned, resolved, secret_fields):
    """Where in the entry the import changes the stored config `existing`."""
    changes = [
        NOTIFICATION_WHERE[key]
        for key, value in cleaned.items()
        if key != "folder_ids" and not _same_notification(existing, key, value, secret_fields)
    ]
    new_folder = any(isinstance(t, Plan) and t.row is None for t in resolved)
    if new_folder or _folder_ids(resolved) != sorted(existing.folder_ids or []):
        changes.append("folders")
    return changes


def _folder_ids(resolved):
    """Database ids of resolved folder references (after the import's folders exist)."""
    return sorted({t.row.id if isinstance(t, Plan) else t for t in resolved})


def _same_notification(config, key, value, secret_fields):
    if key == "config":
        try:
            return crypto.unseal(config.config or {}, secret_fields) == crypto.unseal(value, secret_fields)
        except ValueError:
            return False
    return getattr(config, key) == value


def _folder_targets(plans):
    """What a notification's `folders` may name: a folder of the document (by its id or name)
    or a folder already here (by name or database id)."""
    targets = {}
    for folder in folder_service.list_folders():
        targets[folder.name] = folder.id
        targets[folder.id] = folder.id
    for plan in plans:
        targets[plan.name] = plan
        if plan.refs and plan.refs[0] is not None:
            targets[plan.refs[0]] = plan
    return targets


# -- secrets and placeholders ---------------------------------------------------------------------


def _placeholder(value):
    if not isinstance(value, str):
        return False
    text = value.strip()
    return text == crypto.MASK or text in ("...", "…") or text.endswith(("...", "…"))


def _placeholders(config, secret_fields, previous):
    """The secret fields given only as placeholders with nothing stored to keep."""
    return [name for name in secret_fields if _placeholder(config.get(name)) and not (previous or {}).get(name)]


def _check_encrypted(config, secret_fields, where, report):
    for name in secret_fields:
        value = config.get(name)
        if isinstance(value, str) and value.startswith(crypto.PREFIX):
            try:
                crypto.decrypt(value)
            except ValueError:
                report.problem(f"{where}.{name}", KEY_ELSEWHERE)


def _about(message, provider, needs):
    """Whether a provider's message is about one of the `needs` fields (named by its label)."""
    if not needs or provider is None:
        return False
    labels = [_english(f.label) for f in provider.fields if f.name in needs]
    return any(message.startswith(label) for label in labels) or message.startswith("Credentials")


def _english(label):
    """A field's label as the providers' (English) messages name it."""
    with force_locale("en"):
        return str(label)


def _field_named(fields, message):
    """The provider field a message is about (its label starts the message), or None."""
    best = None
    for f in fields:
        if message.startswith(_english(f.label)) and (best is None or len(str(f.label)) > len(str(best.label))):
            best = f
    return best.name if best else None


def _provider_config(config, known, where, report):
    if known is None:
        return config
    kept = {}
    for key, value in config.items():
        if key in known:
            kept[key] = value
        else:
            report.note(f"{where}.{key}", f"'{key}' is not a setting of this type; it was left out.")
    return kept


def _object(parent, key, where, report, required=False):
    value = parent.get(key)
    if value is None:
        if required:
            report.problem(f"{where}.{key}", f"'{key}' is required.")
        return None
    if not isinstance(value, dict):
        report.problem(f"{where}.{key}", f"'{key}' must be an object.")
        return None
    return value


def _text(parent, key, where, report):
    value = parent.get(key)
    if value is None or isinstance(value, str):
        return value or None
    report.problem(f"{where}.{key}", f"'{key}' must be text.")
    return None


def _texts(parent, key, where, report):
    values = parent.get(key)
    if values is None:
        return None
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        report.problem(f"{where}.{key}", f"'{key}' must be a list of texts.")
        return None
    return values


def _scalars(config, where, report):
    """A provider config's values: text, numbers or true/false (a list or object is refused)."""
    kept = {}
    for key, value in config.items():
        if isinstance(value, (list, dict)):
            report.problem(f"{where}.{key}", f"'{key}' must be text, a number or true/false.")
        else:
            kept[key] = value
    return kept


def _known(values, known, where, report):
    for key in values:
        if key not in known:
            report.problem(f"{where}.{key}", f"'{key}' is not a setting here (known: {', '.join(known)}).")


# -- the report and applying it --------------------------------------------------------------------


def _report_plans(plans, report):
    for plan in plans:
        entry = {"what": plan.what, "name": plan.name, "where": plan.where}
        if plan.row is None:
            report.create.append(entry)
        elif plan.changes:
            report.change.append({**entry, "id": plan.row.id, "fields": plan.changes})
        else:
            report.leave.append({**entry, "id": plan.row.id, "reason": "unchanged"})
        if plan.needs:
            report.needs_credentials.append({**entry, "fields": plan.needs, "message": _needs_message(plan)})


def _report_left(folders, notifications, report):
    matched = {plan.row.id for plan in folders if plan.row is not None}
    for folder in folder_service.list_folders():
        if folder.id not in matched:
            report.leave.append(
                {"what": "folder", "name": folder.name, "id": folder.id, "reason": "not in the document"}
            )
    matched = {plan.row.id for plan in notifications if plan.row is not None}
    for config in _notifications():
        if config.id not in matched:
            report.leave.append(
                {"what": "notification", "name": config.name, "id": config.id, "reason": "not in the document"}
            )


def _needs_message(plan):
    return (
        f"The document holds placeholders instead of {', '.join(plan.needs)}: the {plan.what} '{plan.name}' "
        "is imported disabled; enter the real credentials and enable it."
    )


def _apply(config, folders, notifications, report, user, actor):
    if config is not None and any(c.get("what") == "settings" for c in report.change):
        _apply_settings(config, user, actor)
    for plan in folders:
        if plan.row is None or plan.changes:
            _apply_folder(plan, user, actor)
    for plan in notifications:
        if plan.row is None or plan.changes:
            _apply_notification(plan, user, actor)
    audit_log.record(
        "config.import",
        ("config", "document"),
        user=user,
        actor=actor,
        after={"create": report.create, "change": report.change, "needs_credentials": report.needs_credentials},
    )
    db.session.commit()


def _apply_settings(config, user, actor):
    """The imported global configuration, with the processing pause kept as it is here."""
    row = db.session.get(BatchSettings, 1) or BatchSettings(id=1)
    before = batch_config.load().model_dump()
    after = config.model_dump()
    after["processing"]["paused"] = before["processing"]["paused"]
    row.config = after
    db.session.add(row)
    audit_log.record("settings.import", ("settings", 1), before=before, after=after, user=user, actor=actor)


def _apply_folder(plan, user, actor):
    folder = plan.row or ExternalFolder()
    before = folder_service.view(folder) if plan.row is not None else None
    storage_changed = plan.row is None or "storage.config" in plan.changes or "storage.type" in plan.changes
    for key, value in plan.values.items():
        setattr(folder, key, value)
    if plan.needs:
        folder.connection_status, folder.last_error = "error", _needs_message(plan)
    elif storage_changed:
        folder.connection_status, folder.last_error = "unknown", None
    db.session.add(folder)
    db.session.flush()
    plan.row = plan.row or folder
    _record(plan, folder, before, folder_service.view(folder), user, actor)


def _apply_notification(plan, user, actor):
    config_row = plan.row or NotificationConfig()
    before = notification_service.view(config_row) if plan.row is not None else None
    for key, value in {**plan.values, "folder_ids": _folder_ids(plan.refs) or None}.items():
        setattr(config_row, key, value)
    db.session.add(config_row)
    db.session.flush()
    _record(plan, config_row, before, notification_service.view(config_row), user, actor)


def _record(plan, row, before, after, user, actor):
    """The audit row of an imported folder or notification: `<what>.create`, or `.update`
    when there was one `before`."""
    action = f"{plan.what}.create" if before is None else f"{plan.what}.update"
    audit_log.record(action, row, before=before, after=after, user=user, actor=actor)


# -- checking the stored configuration ----------------------------------------------------------


def problems(connections: bool = False) -> dict[str, Any]:
    """Every problem of the configuration in force, each with where it is in the exported
    document: {"valid", "problems": [{"where", "message", "folder_id"?, "notification_id"?,
    "code"?}], "checked": {...}}. With `connections`, each enabled folder's storage is tried."""
    found = []
    row = db.session.get(BatchSettings, 1)
    _config, errors = batch_config.validate(row.config if row else {})
    found += [{"where": _settings_where(e["field"]), "message": e["message"]} for e in errors]
    folders = folder_service.list_folders()
    for n, folder in enumerate(folders):
        found += [{**p, "folder_id": folder.id} for p in _folder_problems(f"folders[{n}]", folder, connections)]
    notifications = _notifications()
    for n, config in enumerate(notifications):
        found += [{**p, "notification_id": config.id} for p in _notification_problems(f"notifications[{n}]", config)]
    return {
        "valid": not found,
        "problems": found,
        "checked": {
            "settings": True,
            "folders": len(folders),
            "notifications": len(notifications),
            "connections": bool(connections),
        },
    }


def _undecryptable(where, config, secret_names):
    """A problem for each stored secret of `config` this server's key cannot decrypt."""
    found = []
    for name in secret_names:
        try:
            crypto.decrypt((config or {}).get(name) or "")
        except ValueError:
            found.append(
                {
                    "where": f"{where}.{name}",
                    "message": "The stored secret cannot be decrypted with this server's key: enter it again.",
                }
            )
    return found


def _folder_problems(where, folder, connections):
    provider = STORAGE.get(folder.storage_type)
    found = _undecryptable(
        f"{where}.storage.config", folder.storage_config, folder_config.secret_fields(folder.storage_type)
    )
    if found:
        return found
    data = {key: getattr(folder, key) for key in folder_service.EDITABLE}
    _cleaned, errors = folder_service.validate(data, folder)
    found += [
        {"where": _folder_where(where, e["field"], e["message"], provider), "message": e["message"]} for e in errors
    ]
    if connections and not found and folder.enabled:
        result = folder_config.test_connection(
            folder.storage_type, folder.storage_config or {}, folder.storage_config or {}
        )
        if not result["ok"]:
            found.append({"where": f"{where}.storage", "code": result.get("code"), "message": result["message"]})
    return found


def _notification_problems(where, config):
    notifier = NOTIFIERS.get(config.type)
    if notifier is None:
        return [{"where": f"{where}.type", "message": f"'{config.type}' is not a notification channel."}]
    found = _undecryptable(f"{where}.config", config.config, notifier.secret_fields())
    if found:
        return found
    errors, _cleaned = notification_service.validate({}, previous=config)
    for e in errors:
        named = _field_named(notifier.fields, e["message"]) if e["field"] == "config" else None
        path = NOTIFICATION_WHERE.get(e["field"], e["field"]) + (f".{named}" if named else "")
        found.append({"where": f"{where}.{path}", "message": e["message"]})
    return found
