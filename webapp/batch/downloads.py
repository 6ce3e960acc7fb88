"""Fetching a file from its folder's storage, with the folder's bound on downloads at once.

A cloud provider says how many of its folder's files may download at the same time
(`max_downloads`) and how long one may take (`transfer.timeout`); the bound holds across
every worker process through a lease set in Redis (see limits.FileSlots). Local folders are
read in place and take no slot."""
import contextlib
import uuid

from flask import current_app

from ..errors import FileAccessError
from . import enqueue
from .limits import FileSlots


def slots_for(folder, storage):
    limit = getattr(storage, "max_downloads", None)
    if not limit:
        return None
    transfer = getattr(storage, "transfer", None)
    lease = (transfer.timeout if transfer else 600) + current_app.config["STALE_AFTER_SECONDS"]
    return FileSlots(enqueue.redis(), enqueue.key("download-slots", folder.id), limit, lease)


@contextlib.contextmanager
def fetch(folder, storage, path):
    """Download `path` (waiting for one of the folder's download slots) and yield its local
    path; the slot is given back as soon as the download is done, before the analysis."""
    slots = slots_for(folder, storage)
    if slots is None:
        with storage.download_file(path) as local_path:
            yield local_path
        return
    token = uuid.uuid4().hex
    wait = storage.transfer.timeout
    if not slots.acquire(token, wait):
        raise FileAccessError(f"All {slots.limit} download slots of this folder stayed busy for {wait} s.",
                              code="STORAGE_UNAVAILABLE")
    released = False
    try:
        with storage.download_file(path) as local_path:
            slots.release(token)
            released = True
            yield local_path
    finally:
        if not released:
            slots.release(token)
