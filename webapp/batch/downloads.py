"""Fetching a file from its folder's storage, with the folder's bound on downloads at once.

A cloud provider says how many of its folder's files may download at the same time
(`max_downloads`) and how long one may take (`transfer.timeout`); the bound holds across
every worker process through a lease set in Redis (see limits.FileSlots). Local folders are
read in place and take no slot.

Before a cloud download the worker checks that its download directory has room for the file
and a margin (CALLBATCH_DOWNLOAD_MARGIN_MB); without it the file fails as DISK_FULL, which
is retried, and a `resources_low` notification is sent. A disk that fills up during the
download all the same (another process wrote to it, the object grew since it was listed)
ends the same way, once the partial download is removed."""

import contextlib
import logging
import os
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Iterator

from flask import current_app

from ..errors import CallbatchError, FileAccessError
from ..models import ExternalFolder
from ..providers.storage.base import StorageProvider
from ..providers.storage.cloud import WORK_DIR_PREFIX, CloudStorage
from . import enqueue, signals
from .limits import FileSlots

log = logging.getLogger(__name__)


def slots_for(folder: ExternalFolder, storage: StorageProvider) -> FileSlots | None:
    limit = getattr(storage, "max_downloads", None)
    if not limit:
        return None
    transfer = getattr(storage, "transfer", None)
    lease = (transfer.timeout if transfer else 600) + current_app.config["STALE_AFTER_SECONDS"]
    return FileSlots(enqueue.redis(), enqueue.key("download-slots", folder.id), limit, lease)


@contextlib.contextmanager
def fetch(
    folder: ExternalFolder, storage: StorageProvider, path: str, size: int | None = None, worker: str | None = None
) -> Iterator[str]:
    """Download `path` (waiting for one of the folder's download slots) and yield its local
    path; the slot is given back as soon as the download is done, before the analysis.
    `size` (from the listing) is checked against the free disk space first."""
    if isinstance(storage, CloudStorage) and size is not None:
        check_room(folder, path, size, worker)
    try:
        with _download(folder, storage, path) as local_path:
            yield local_path
    except CallbatchError as err:
        if err.code != "DISK_FULL" or "needed_bytes" in err.details:
            raise
        raise _filled_up(folder, path, size, worker, err) from None


@contextlib.contextmanager
def _download(folder, storage, path):
    slots = slots_for(folder, storage)
    if slots is None:
        with storage.download_file(path) as local_path:
            yield local_path
        return
    token = uuid.uuid4().hex
    wait = storage.transfer.timeout
    if not slots.acquire(token, wait):
        raise FileAccessError(
            f"All {slots.limit} download slots of this folder stayed busy for {wait} s.", code="STORAGE_UNAVAILABLE"
        )
    released = False
    try:
        with storage.download_file(path) as local_path:
            slots.release(token)
            released = True
            yield local_path
    finally:
        if not released:
            slots.release(token)


def check_room(folder: ExternalFolder, path: str, size: int, worker: str | None = None) -> None:
    """Raise DISK_FULL (and send `resources_low`) unless the download directory has room for
    `size` bytes and the margin."""
    directory = tempfile.gettempdir()
    free = shutil.disk_usage(directory).free
    margin = current_app.config["DOWNLOAD_MARGIN_MB"] * 2**20
    needed = size + margin
    if free >= needed:
        return
    _short_of_disk(folder, path, worker, directory, free, needed)
    raise CallbatchError(
        f"The worker has {free / 2**20:.1f} MB free on its disk but needs {needed / 2**20:.1f} MB to download "
        f"this file ({size / 2**20:.1f} MB and a margin of {margin / 2**20:.0f} MB); the file waits and is retried.",
        code="DISK_FULL",
        details={"directory": directory, "free_bytes": free, "needed_bytes": needed},
    )


def _filled_up(folder, path, size, worker, err):
    """DISK_FULL for a download the disk could not hold (its partial file already removed),
    and the `resources_low` notification."""
    directory = tempfile.gettempdir()
    free = shutil.disk_usage(directory).free
    written = err.details.get("written_bytes", 0)
    needed = max(size or 0, written) + current_app.config["DOWNLOAD_MARGIN_MB"] * 2**20
    _short_of_disk(folder, path, worker, directory, free, needed)
    return CallbatchError(
        f"The worker's disk filled up after {written / 2**20:.1f} MB of this file; the partial download was "
        f"removed ({free / 2**20:.1f} MB free now) and the file waits and is retried.",
        code="DISK_FULL",
        details={
            "directory": directory,
            "free_bytes": free,
            "needed_bytes": needed,
            "written_bytes": written,
            "error": err.details.get("error"),
        },
    )


def _short_of_disk(folder, path, worker, directory, free, needed):
    worker = worker or f"{socket.gethostname()} (process {os.getpid()})"
    signals.disk_short.send(
        folder,
        worker=worker,
        directory=directory,
        free_bytes=free,
        needed_bytes=needed,
        file_name=os.path.basename(path),
    )


def remove_stale_work_dirs(max_age_seconds: float) -> int:
    """Remove download directories left by killed workers: those of a process of this host
    that is gone, and any older than `max_age_seconds` (no download outlives its job
    timeout). Returns how many were removed."""
    root = tempfile.gettempdir()
    cutoff = time.time() - max_age_seconds
    removed = 0
    for entry in os.scandir(root):
        if not entry.name.startswith(WORK_DIR_PREFIX) or not entry.is_dir(follow_symlinks=False):
            continue
        owner = _owner_pid(entry.name)
        if (owner is None or _alive(owner)) and entry.stat(follow_symlinks=False).st_mtime > cutoff:
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed += 1
    if removed:
        log.warning("removed %d download directories left in %s by stopped workers", removed, root)
    return removed


def _owner_pid(name):
    """The process id in a directory name made on this host, else None."""
    mine = f"{WORK_DIR_PREFIX}{socket.gethostname()}-"
    if not name.startswith(mine):
        return None
    pid = name[len(mine) :].split("-", 1)[0]
    return int(pid) if pid.isdigit() else None


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
