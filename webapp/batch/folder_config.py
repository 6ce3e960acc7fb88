"""A folder's configuration: checking a definition, the defaults a new folder starts with,
registering a local folder, sealing and showing its storage settings, testing its connection."""

import logging
import os
from typing import Any

import sqlalchemy as sa

from .. import audit_log, crypto, redaction
from ..errors import CallbatchError, explain
from ..extensions import db
from ..models import ExternalFolder
from ..providers.monitors import MONITORS
from ..providers.storage import STORAGE
from . import batch_config
from .schedule import validate_cron

log = logging.getLogger("webapp.batch.folders")  # unchanged by the rename from batch/folders.py


def validate(data: dict[str, Any]) -> list[str]:
    """Messages for everything wrong with a folder definition (empty when it is fine)."""
    messages = []
    storage = STORAGE.get(data.get("storage_type"))
    if storage is None:
        messages.append(f"Storage type must be one of: {', '.join(sorted(STORAGE))}.")
    else:
        messages += storage.validate_config(data.get("storage_config") or {})
    monitor = MONITORS.get(data.get("monitor_type", "polling"))
    if monitor is None:
        messages.append(f"Monitor type must be one of: {', '.join(sorted(MONITORS))}.")
    else:
        messages += monitor.validate_config(data)
    messages += validate_cron(data.get("cron_schedule"))
    return messages


def new_folder_defaults(scanning: batch_config.Scanning | None = None) -> dict[str, Any]:
    """The values a new folder starts with wherever it is made (web app, API, CLI, import):
    the global scanning defaults. A folder may then override each of them. The settle time
    stays global (Scanning.fileSettleSeconds)."""
    scanning = scanning or batch_config.load().scanning
    return {
        "monitor_type": "polling",
        "scan_interval": scanning.scanInterval,
        "max_file_size": scanning.maxFileSize,
        "allowed_extensions": [str(e).strip().lower().lstrip(".") for e in scanning.allowedExtensions],
        "cron_schedule": None,
        "analysis_config": {},
        "enabled": True,
    }


def local_folder_for(path: str) -> ExternalFolder:
    """The folder registered for a local directory, created (named after it) if new."""
    real = os.path.realpath(path)
    for folder in db.session.scalars(sa.select(ExternalFolder).where(ExternalFolder.storage_type == "local")):
        if os.path.realpath(folder.storage_config.get("path", "")) == real:
            return folder
    name = _unique_name(os.path.basename(real) or real)
    data = {**new_folder_defaults(), "name": name, "storage_type": "local", "storage_config": {"path": real}}
    messages = validate(data)
    if messages:
        raise ValueError("; ".join(messages))
    folder = ExternalFolder(**data)
    db.session.add(folder)
    db.session.flush()
    audit_log.record(
        "folder.create",
        folder,
        actor="cli",
        after={"name": folder.name, "storage_type": "local", "storage_config": {"path": real}},
    )
    db.session.commit()
    return folder


def _unique_name(base):
    name, n = base, 1
    while db.session.scalar(sa.select(ExternalFolder.id).where(ExternalFolder.name == name)):
        n += 1
        name = f"{base} ({n})"
    return name


# -- credentials at rest, and Test connection ---------------------------------------------


def secret_fields(storage_type: str) -> list[str]:
    provider = STORAGE.get(storage_type)
    return provider.secret_fields() if provider else []


def seal_storage_config(
    storage_type: str, config: dict[str, Any] | None, previous: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The storage config as it is stored: secrets encrypted. A blank or masked secret keeps
    the `previous` (stored) one, so a form never has to send a secret back."""
    return crypto.seal(config or {}, secret_fields(storage_type), previous)


def shown_storage_config(folder: ExternalFolder) -> dict[str, Any]:
    """The storage config as a page or API response may show it (secrets masked)."""
    return crypto.masked(folder.storage_config or {}, secret_fields(folder.storage_type))


def test_connection(
    storage_type: str, config: dict[str, Any] | None, previous: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Try a storage config (a form's, whose unchanged secrets are masked or blank, merged
    with the `previous` stored config). Returns {"ok", "code", "message", …}, never a secret."""
    return redaction.redact(_try_connection(storage_type, config, previous))


def _try_connection(storage_type, config, previous):
    provider = STORAGE.get(storage_type)
    if provider is None:
        return {
            "ok": False,
            "code": "INVALID_CONFIG",
            "message": f"Storage type must be one of: {', '.join(sorted(STORAGE))}.",
        }
    sealed = seal_storage_config(storage_type, config, previous)
    messages = provider.validate_config(sealed)
    if messages:
        return {"ok": False, "code": "INVALID_CONFIG", "message": " ".join(messages), "messages": messages}
    try:
        storage = provider(crypto.unseal(sealed, secret_fields(storage_type)))
        report = storage.test_connection() if hasattr(storage, "test_connection") else storage.connect()
    except ValueError:
        return {
            "ok": False,
            "code": "INVALID_CREDENTIALS",
            "message": "The stored credentials cannot be decrypted with this server's key: enter them again.",
        }
    except CallbatchError as err:
        category, _explanation, fix = explain(err.code)
        return {"ok": False, "code": err.code, "category": category, "message": err.message, "fix": fix}
    except Exception as err:  # an SDK failure nobody foresaw: say so without its text (it may hold a URL)
        log.warning("test connection of a %s folder failed unexpectedly: %s", storage_type, type(err).__name__)
        return {
            "ok": False,
            "code": "STORAGE_UNAVAILABLE",
            "message": f"The storage could not be reached ({type(err).__name__}).",
        }
    report = report or {"message": "Connected."}
    return {"ok": True, "code": None, **report}
