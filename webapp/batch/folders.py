"""Registering and checking folders."""
import os

import sqlalchemy as sa

from ..extensions import db
from ..models import ExternalFolder
from ..providers.monitors import MONITORS
from ..providers.storage import STORAGE
from . import settings
from .schedule import validate_cron


def validate(data):
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


def local_folder_for(path):
    """The folder registered for a local directory, created (named after it) if new."""
    real = os.path.realpath(path)
    for folder in db.session.scalars(sa.select(ExternalFolder).where(ExternalFolder.storage_type == "local")):
        if os.path.realpath(folder.storage_config.get("path", "")) == real:
            return folder
    name = _unique_name(os.path.basename(real) or real)
    scanning = settings.load().scanning
    data = dict(name=name, storage_type="local", storage_config={"path": real}, monitor_type="polling",
                scan_interval=scanning.scanInterval, max_file_size=scanning.maxFileSize,
                allowed_extensions=list(scanning.allowedExtensions))
    messages = validate(data)
    if messages:
        raise ValueError("; ".join(messages))
    folder = ExternalFolder(**data)
    db.session.add(folder)
    db.session.commit()
    return folder


def _unique_name(base):
    name, n = base, 1
    while db.session.scalar(sa.select(ExternalFolder.id).where(ExternalFolder.name == name)):
        n += 1
        name = f"{base} ({n})"
    return name
