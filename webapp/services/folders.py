"""Folders: list, create, edit, delete, test connection, scan now, preview (dry run).

Storage credentials are sealed (encrypted) on the way in and masked on the way out; a
secret sent back blank or masked keeps the stored one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import yaml
from flask_babel import gettext as _
from flask_babel import ngettext

from .. import audit_log, timetable
from .. import file_counts as counts
from ..analysis import REGISTRIES
from ..analysis.scorers.rubric import load_rubric
from ..batch import batch_config, discovery, enqueue, folder_config
from ..batch.schedule import validate_cron
from ..errors import CallbatchError, ProcessingError, explain
from ..extensions import db
from ..models import BatchJob, ExternalFolder, FileProcessingRecord, User
from ..models.folder import DEFAULT_EXTENSIONS, DEFAULT_MAX_FILE_SIZE
from ..models.types import iso, utcnow
from ..providers.monitors import MONITORS
from ..providers.monitors.polling import PollingMonitor
from ..providers.storage import STORAGE
from . import add_created, error, name_taken, settings
from .provider_forms import provider_forms

EDITABLE = (
    "name",
    "storage_type",
    "storage_config",
    "monitor_type",
    "scan_interval",
    "cron_schedule",
    "process_mode",
    "window_start",
    "window_end",
    "process_cron",
    "allowed_extensions",
    "max_file_size",
    "analysis_config",
    "enabled",
)
MB = 1024 * 1024
MAX_FILE_SIZE = 2048 * MB
TRUE = ("1", "true", "yes", "on")
EXTENSION = re.compile(r"[a-z0-9]{1,10}")
MAX_EXTENSIONS = 50


def storage_types() -> list[dict[str, Any]]:
    """The storage registry as forms draw it: [{type, label, fields: [{name, label, kind, …}]}]."""
    return provider_forms(STORAGE)


def monitor_types() -> list[dict[str, str]]:
    return [{"type": key, "label": str(cls.label)} for key, cls in MONITORS.items()]


def process_modes() -> list[dict[str, str]]:
    return [{"type": key, "label": str(label)} for key, label in timetable.PROCESS_MODES.items()]


def analysis_types() -> dict[str, list[dict[str, str]]]:
    """{"transcriber": [{type, label}], "scorer": [...]}: what a folder may choose instead of
    the global speech engine and scorer."""
    return {
        kind: [{"type": key, "label": str(getattr(cls, "label", key))} for key, cls in registry.items()]
        for kind, registry in REGISTRIES.items()
    }


def new_folder_defaults() -> dict[str, Any]:
    """What a new folder starts with: the global scanning defaults (one place decides it for the
    web app, the API, the CLI and imports)."""
    return folder_config.new_folder_defaults()


def validate_analysis(analysis: object) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """(cleaned, errors) for a folder's own transcriber and scorer, each checked by its provider.
    A kind left out (or null) uses the global setting."""
    if analysis in (None, ""):
        return {}, []
    if not isinstance(analysis, dict):
        return {}, [error("analysis_config", "The folder's analysis settings must be an object.")]
    cleaned, errors = {}, []
    for kind, config in analysis.items():
        field = f"analysis_config.{kind}"
        if kind == "redact":
            if config not in (None, True, False):
                errors.append(error(field, "redact must be true or false."))
            elif config:
                cleaned["redact"] = True
            continue
        if kind not in REGISTRIES:
            errors.append(error(field, f"'{kind}' is not an analysis setting (transcriber, diarizer or scorer)."))
            continue
        if config in (None, {}):
            continue
        if not isinstance(config, dict):
            errors.append(error(field, f"Choose a {kind} type: one of {', '.join(sorted(REGISTRIES[kind]))}."))
            continue
        problems = batch_config.provider_problems(kind, config)  # the check the global settings get
        errors += [error(field, message) for message in problems]
        if not problems:
            cleaned[kind] = config
    return cleaned, errors


# The folder form's one "Speakers" choice: a two-channel split either way round, or mono.
SPEAKER_CHOICES = {
    "channels": {"type": "channels", "agent_channel": "1"},
    "channels-swapped": {"type": "channels", "agent_channel": "2"},
    "none": {"type": "none"},
}


def speaker_choice(diarizer: dict[str, Any] | None) -> str:
    """The form's speakers choice for a stored diarizer config ("" = the global setting)."""
    diarizer = diarizer or {}
    if diarizer.get("type") == "channels":
        return "channels-swapped" if str(diarizer.get("agent_channel", "1")) == "2" else "channels"
    return diarizer.get("type", "")


def analysis_from_form(
    form: Mapping[str, Any], folder: ExternalFolder | None = None
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """(analysis_config, errors) from the folder form: `analysis_transcriber` and `analysis_scorer`
    name a provider type ("" = the global setting), `analysis_diarizer` one of SPEAKER_CHOICES;
    the rubric scorer takes the folder's own scorecard pasted as YAML in `analysis_rubric`. A type
    kept unchanged keeps the folder's other settings for it (set through the API)."""
    own = dict(folder.analysis_config or {}) if folder is not None else {}
    analysis, errors = {}, []
    if form.get("analysis_redact") == "on":
        analysis["redact"] = True
    transcriber = (form.get("analysis_transcriber") or "").strip()
    if transcriber:
        kept = own.get("transcriber") or {}
        analysis["transcriber"] = kept if kept.get("type") == transcriber else {"type": transcriber}
    diarizer = SPEAKER_CHOICES.get((form.get("analysis_diarizer") or "").strip())
    if diarizer:
        analysis["diarizer"] = diarizer
    scorer = (form.get("analysis_scorer") or "").strip()
    if scorer == "rubric":
        config, errors = rubric_scorer(form.get("analysis_rubric", ""))
        if config:
            analysis["scorer"] = config
    elif scorer:
        kept = own.get("scorer") or {}
        analysis["scorer"] = kept if kept.get("type") == scorer else {"type": scorer}
    return analysis, errors


def analysis_form_values(analysis: dict[str, Any] | None) -> dict[str, Any]:
    """The folder form's analysis fields for a stored analysis_config."""
    analysis = analysis or {}
    scorer = analysis.get("scorer") or {}
    text = ""
    if scorer.get("type") == "rubric":
        try:
            text = yaml.safe_dump(load_rubric(scorer), allow_unicode=True, sort_keys=False, width=110)
        except ProcessingError as err:
            text = f"# {err.message}\n"
    return {
        "transcriber": (analysis.get("transcriber") or {}).get("type", ""),
        "scorer": scorer.get("type", ""),
        "diarizer": speaker_choice(analysis.get("diarizer")),
        "rubric": text,
        "redact": bool(analysis.get("redact")),
    }


def rubric_scorer(text: str) -> tuple[dict[str, Any] | None, list[dict[str, str]]]:
    """(scorer config, errors) for a scorecard pasted as YAML: the rubric scorer with it inline."""
    document, errors = settings.parse_rubric(text)
    if errors:
        return None, [error("analysis_config.scorer", e["message"]) for e in errors]
    return {**document, "type": "rubric"}, []


def list_folders() -> list[ExternalFolder]:
    return db.session.scalars(sa.select(ExternalFolder).order_by(ExternalFolder.name)).all()


def get_folder(folder_id: int) -> ExternalFolder | None:
    return db.session.get(ExternalFolder, folder_id)


def file_counts(folder_ids: list[int] | None = None) -> dict[int, dict[str, int]]:
    """{folder_id: {status: count}} for the folders list."""
    return counts.by_folder(folder_ids)


def view(folder: ExternalFolder) -> dict[str, Any]:
    """A folder as a page or API response may show it (secrets masked)."""
    return {
        "id": folder.id,
        "name": folder.name,
        "storage_type": folder.storage_type,
        "storage_config": folder_config.shown_storage_config(folder),
        "monitor_type": folder.monitor_type,
        "scan_interval": folder.scan_interval,
        "cron_schedule": folder.cron_schedule,
        "monitor_warning": folder.monitor_warning if folder.monitor_type == "events" else None,
        "process_mode": folder.process_mode,
        "window_start": folder.window_start,
        "window_end": folder.window_end,
        "process_cron": folder.process_cron,
        "allowed_extensions": list(folder.allowed_extensions or DEFAULT_EXTENSIONS),
        "max_file_size": folder.max_file_size,
        "analysis_config": dict(folder.analysis_config or {}),
        "enabled": folder.enabled,
        "connection_status": folder.connection_status,
        "last_error": folder.last_error,
        "last_scan_at": iso(folder.last_scan_at),
        "created_at": iso(folder.created_at),
        "updated_at": iso(folder.updated_at),
    }


def plan_of(folder: ExternalFolder, now: datetime | None = None) -> dict[str, Any]:
    """What will happen to the folder's files: one sentence ("Scanned every 5 minutes; files
    wait for the window 20:00–06:00"), the next scan and start times where a schedule sets
    them (in TIMEZONE), and the watcher's warning where file events fell back to polling."""
    now = now or utcnow()
    tz = timetable.zone()
    warning = folder.monitor_warning if folder.monitor_type == "events" else None
    next_scans = (
        timetable.next_runs(folder.cron_schedule, now, 3, tz)
        if folder.monitor_type == "schedule" and folder.cron_schedule
        else []
    )
    if folder.process_mode == timetable.CRON and folder.process_cron:
        next_starts = timetable.next_runs(folder.process_cron, now, 3, tz)
    elif folder.process_mode == timetable.WINDOW and folder.window_start:
        next_starts = [timetable.window_opens(folder.window_start, now, tz)]
    else:
        next_starts = []
    sentence = _(
        "%(finding)s; %(processing)s.",
        finding=_finding(folder, warning, str(tz)),
        processing=_processing(folder, str(tz)),
    )
    return {
        "sentence": sentence,
        "warning": warning,
        "timezone": str(tz),
        "next_scans": [_local(m, tz) for m in next_scans],
        "next_starts": [_local(m, tz) for m in next_starts],
    }


def _finding(folder, warning, tz):
    every = _every(folder.scan_interval)
    if folder.monitor_type == "schedule":
        return _("Scanned only at the times of %(cron)s (%(tz)s)", cron=folder.cron_schedule, tz=tz)
    if folder.monitor_type == "events":
        if warning:
            return _("Scanned %(every)s (file events are not available here)", every=every)
        return _("Scanned as soon as files arrive")
    if folder.monitor_type == "cloud_events":
        return _("Scanned as the cloud storage announces new objects, and %(every)s as a safety net", every=every)
    return _("Scanned %(every)s", every=every)


def _processing(folder, tz):
    mode = folder.process_mode
    if mode == timetable.HOLD:
        return _("files wait until someone starts them")
    if mode == timetable.WINDOW:
        return _(
            "files wait for the window %(start)s–%(end)s (%(tz)s)",
            start=folder.window_start,
            end=folder.window_end,
            tz=tz,
        )
    if mode == timetable.CRON:
        return _("files wait for the processing time %(cron)s (%(tz)s)", cron=folder.process_cron, tz=tz)
    if not batch_config.load().processing.immediateProcessing:
        return _("files wait until someone starts them (immediate processing is off in Settings)")
    return _("files are processed at once")


def _every(seconds):
    if seconds % 3600 == 0:
        return ngettext("every hour", "every %(num)d hours", seconds // 3600)
    if seconds % 60 == 0:
        return ngettext("every minute", "every %(num)d minutes", seconds // 60)
    return ngettext("every second", "every %(num)d seconds", seconds)


def _local(moment, tz):
    local = moment.astimezone(tz)
    return {"at": moment.isoformat(), "local": local.strftime("%a %Y-%m-%d %H:%M"), "timezone": str(tz)}


def coerce_storage_config(storage_type: str, raw: Mapping[str, Any] | None) -> dict[str, Any]:
    """A provider config from form strings: numbers as numbers, checkboxes as booleans, empty
    values left out (so a provider's default applies and a blank secret keeps the stored one)."""
    provider = STORAGE.get(storage_type)
    if provider is None:
        return dict(raw or {})
    raw = raw or {}
    config = {}
    for f in provider.fields:
        value = raw.get(f.name)
        if f.kind == "bool":
            config[f.name] = value is True or str(value).strip().lower() in TRUE
            continue
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if f.kind == "number" and isinstance(value, str):
            try:
                value = float(value) if "." in value else int(value)
            except ValueError:
                value = value.strip()  # left as given: the provider says what is wrong
        elif isinstance(value, str):
            value = value.strip()
        config[f.name] = value
    return config


def validate(
    data: Mapping[str, Any], folder: ExternalFolder | None = None
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """(cleaned, errors) for a folder document. `data` may be partial when `folder` is given."""
    merged = {key: getattr(folder, key) for key in EDITABLE} if folder else {}
    merged.update({key: value for key, value in data.items() if key in EDITABLE})
    name = str(merged.get("name") or "").strip()
    errors = _name_problems(name, folder)
    storage_type = merged.get("storage_type")
    sealed, storage_errors = _sealed_storage(storage_type, merged.get("storage_config"), folder)
    errors += storage_errors
    monitor, monitor_errors = _monitor(merged, sealed)
    errors += monitor_errors
    schedule, schedule_errors = _schedule(merged)
    errors += schedule_errors
    extensions = _extensions(merged.get("allowed_extensions"))
    errors += [error("allowed_extensions", message) for message in _extension_problems(extensions)]
    max_size = _int(merged.get("max_file_size", DEFAULT_MAX_FILE_SIZE))
    if max_size is None or not MB <= max_size <= MAX_FILE_SIZE:
        errors.append(error("max_file_size", "Maximum file size must be from 1 MB to 2048 MB."))
    analysis, analysis_errors = validate_analysis(merged.get("analysis_config"))
    errors += analysis_errors
    enabled = merged.get("enabled", True)
    enabled = enabled if isinstance(enabled, bool) else str(enabled).lower() in TRUE
    cleaned = {
        "name": name,
        "storage_type": storage_type,
        "storage_config": sealed,
        **monitor,
        **schedule,
        "allowed_extensions": extensions,
        "max_file_size": max_size,
        "analysis_config": analysis,
        "enabled": enabled,
    }
    return cleaned, errors


def _monitor(merged, sealed):
    """({monitor_type, scan_interval, cron_schedule}, errors): how the folder's files are found."""
    monitor_type = merged.get("monitor_type") or "polling"
    errors = []
    interval = _int(merged.get("scan_interval", 300))
    if interval is None:
        errors.append(error("scan_interval", "Scan interval must be a whole number of seconds."))
        interval = 300
    # Every monitor scans on the interval when it has to (events lost, the fallback to polling).
    interval_problems = PollingMonitor.validate_config({"scan_interval": interval})
    errors += [error("scan_interval", message) for message in interval_problems]
    if monitor_type not in MONITORS:
        errors.append(error("monitor_type", f"Monitor type must be one of: {', '.join(MONITORS)}."))
    else:
        for message in MONITORS[monitor_type].validate_config(
            {**merged, "scan_interval": interval, "storage_type": merged.get("storage_type"), "storage_config": sealed}
        ):
            if message in interval_problems:
                continue
            field = "scan_interval" if "interval" in message.lower() else "monitor_type"
            errors.append(error("cron_schedule" if monitor_type == "schedule" else field, message))
    cron = (merged.get("cron_schedule") or "").strip() or None
    if monitor_type != "schedule":
        errors += [error("cron_schedule", message) for message in validate_cron(cron)]
        if cron:
            errors.append(
                error(
                    "cron_schedule",
                    "A scan schedule applies only when files are found 'only on a "
                    "schedule'; clear it or choose that monitor.",
                )
            )
    return {"monitor_type": monitor_type, "scan_interval": interval, "cron_schedule": cron}, errors


def _schedule(merged):
    """({process_mode, window_start, window_end, process_cron}, errors): when found files are processed."""
    schedule = {"process_mode": merged.get("process_mode") or timetable.IMMEDIATE}
    for key in ("window_start", "window_end", "process_cron"):
        schedule[key] = (merged.get(key) or "").strip() or None
    problems = timetable.validate(
        schedule["process_mode"], schedule["window_start"], schedule["window_end"], schedule["process_cron"]
    )
    return schedule, [error(field, message) for field, message in problems]


def _name_problems(name, folder):
    if not name or len(name) > 200:
        return [error("name", "Give the folder a name (up to 200 characters).")]
    if name_taken(ExternalFolder, name, folder):
        return [error("name", f"A folder named '{name}' already exists.")]
    return []


def _sealed_storage(storage_type, given, folder):
    """(storage config with its secrets sealed, errors) as the storage provider checks it."""
    provider = STORAGE.get(storage_type)
    if provider is None:
        return {}, [error("storage_type", f"Storage type must be one of: {', '.join(STORAGE)}.")]
    errors = []
    previous = folder.storage_config if folder and folder.storage_type == storage_type else None
    given = given or {}
    if not isinstance(given, dict):
        errors.append(error("storage_config", "Storage settings must be an object."))
        given = {}
    sealed = folder_config.seal_storage_config(storage_type, given, previous)
    errors += [error("storage_config", message) for message in provider.validate_config(sealed)]
    return sealed, errors


def _extensions(extensions):
    """The allowed extensions as a list, lower case without the dot ("mp3, .WAV" too)."""
    if isinstance(extensions, str):
        extensions = extensions.replace(",", " ").split()
    return [str(e).strip().lower().lstrip(".") for e in (extensions or []) if str(e).strip()]


def _extension_problems(extensions):
    if not extensions:
        return ["List at least one file extension, e.g. mp3 wav."]
    problems = [
        f"'{e}' is not a file extension: up to 10 letters and digits, e.g. mp3."
        for e in extensions
        if not EXTENSION.fullmatch(e)
    ]
    if len(extensions) > MAX_EXTENSIONS:
        problems.append(f"List at most {MAX_EXTENSIONS} file extensions.")
    return problems


def create_folder(
    data: Mapping[str, Any], user: User | None = None
) -> tuple[ExternalFolder | None, list[dict[str, str]]]:
    """Returns (folder, errors); nothing is saved when errors is not empty. Settings left out
    (or null) take the global scanning defaults."""
    given = {key: value for key, value in data.items() if value is not None}
    cleaned, errors = validate({**new_folder_defaults(), **given})
    if errors:
        return None, errors
    return add_created(ExternalFolder(**cleaned), "folder.create", view, user), []


def update_folder(
    folder: ExternalFolder, data: Mapping[str, Any], user: User | None = None
) -> tuple[ExternalFolder, list[dict[str, str]]]:
    """Change the given keys; returns (folder, errors)."""
    cleaned, errors = validate(data, folder)
    if errors:
        db.session.rollback()
        return folder, errors
    before = view(folder)
    changed_storage = (cleaned["storage_type"], cleaned["storage_config"]) != (
        folder.storage_type,
        folder.storage_config,
    )
    for key, value in cleaned.items():
        setattr(folder, key, value)
    if changed_storage:
        folder.connection_status, folder.last_error = "unknown", None
    if folder.monitor_type != "events" or changed_storage:
        folder.monitor_warning = None  # the watcher looks at the folder afresh
    db.session.flush()
    audit_log.record("folder.update", folder, before=before, after=view(folder), user=user)
    db.session.commit()
    return folder, []


def delete_folder(folder: ExternalFolder, user: User | None = None) -> None:
    """Delete a folder and its file records (their calls stay, unlinked from the files)."""
    FPR = FileProcessingRecord
    files = db.session.scalar(sa.select(sa.func.count()).where(FPR.folder_id == folder.id))
    audit_log.record("folder.delete", folder, before={**view(folder), "file_records": files}, user=user)
    db.session.execute(sa.update(BatchJob).where(BatchJob.folder_id == folder.id).values(folder_id=None))
    db.session.delete(folder)
    db.session.commit()


def test_connection(
    folder: ExternalFolder | None = None,
    storage_type: str | None = None,
    storage_config: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Try a folder's storage. With `folder` alone, its stored settings (and the result is kept
    as its connection status); with a type and config (a form's), those, where blank or
    masked secrets fall back to the folder's stored ones. Returns {"ok", "code", "message", …}."""
    if storage_type is None:
        storage_type, storage_config = folder.storage_type, folder.storage_config
    previous = folder.storage_config if folder is not None and folder.storage_type == storage_type else None
    result = folder_config.test_connection(storage_type, storage_config or {}, previous)
    if folder is not None and storage_type == folder.storage_type and storage_config is folder.storage_config:
        folder.connection_status = "ok" if result["ok"] else "error"
        folder.last_error = None if result["ok"] else result.get("message")
        db.session.commit()
    return result


def scan_now(folder: ExternalFolder, user: User | None = None) -> str:
    """Queue a scan of the folder (a worker runs it). Returns the RQ job id."""
    job = enqueue.scan(folder.id, "manual", getattr(user, "id", None) or _current_user_id())
    audit_log.record("folder.scan", folder, after={"rq_job": job.id}, user=user)
    db.session.commit()
    return job.id


def preview(folder: ExternalFolder) -> dict[str, Any]:
    """A dry run of a scan: what it would queue and what it would skip, and why. Nothing is
    recorded. Returns {"ok", "to_queue": [...], "to_skip": [...], "still_writing": [...],
    "known": n} or {"ok": False, "code", "message", "fix"} when the folder cannot be listed."""
    try:
        plan = discovery.preview(folder)
    except CallbatchError as err:
        category, _explanation, fix = explain(err.code)
        return {"ok": False, "code": err.code, "category": category, "message": err.message, "fix": fix}
    except ValueError as err:
        return {"ok": False, "code": "INVALID_CONFIG", "message": str(err), "fix": "Edit the folder's settings."}
    return {
        "ok": True,
        "to_queue": [_stored(s) for s in plan.to_queue],
        "to_skip": [
            {**_stored(s), "code": err.code, "message": err.message, "fix": explain(err.code)[2]}
            for s, err in plan.to_skip
        ],
        "still_writing": [_stored(s) for s in plan.still_writing],
        "known": plan.known,
    }


def _stored(stored):
    return {"path": stored.path, "name": stored.name, "size": stored.size, "modified": iso(stored.modified)}


def _int(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _current_user_id():
    from flask import has_request_context
    from flask_login import current_user

    if has_request_context() and current_user.is_authenticated:
        return current_user.id
    return None
