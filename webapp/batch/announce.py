"""Taking exactly the objects a cloud storage service announced (folders with the
`cloud_events` monitor), instead of listing the whole bucket.

- `announce(folder, keys)`: record and queue those objects of the folder that are new,
  under its prefix and of an accepted type; everything else is ignored. Announcing an
  object twice is harmless (a path is recorded once per folder).
- `receive_push(service, body)`: what the JSON API's receivers (S3 via SNS, Azure Event
  Grid, GCS Pub/Sub push) call with the request body.
- `drain_event_queues()`: read the SQS queues of S3 folders (S3 → SQS notifications);
  run by the periodic tick."""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from .. import timetable
from ..extensions import db
from ..models import ExternalFolder, FileProcessingRecord
from ..models.types import utcnow
from ..providers.monitors.cloud_events import PARSERS, Announcement, EventBody, Handshake, SqsQueue
from . import batch_config
from .discovery import Plan, record_found, scan_lock, storage_for
from .validation import is_companion

log = logging.getLogger(__name__)

LOCK_WAIT_SECONDS = 10
TRIGGER = "events"
BUCKET_FIELD = {"s3": "bucket", "azure": "container", "gcs": "bucket"}


@dataclass
class AnnounceResult:
    folder_id: int
    job_id: int | None = None
    queued: int = 0
    held: int = 0
    skipped: int = 0
    known: int = 0
    ignored: int = 0  # other prefix, other type, companion files
    missing: int = 0  # announced, but gone before we looked
    busy: bool = False  # a scan held the folder: announce again later


def announce(folder: ExternalFolder, keys: Iterable[str], trigger: str = TRIGGER) -> AnnounceResult:
    """Record and queue the announced objects `keys` of `folder` (see the module doc)."""
    result = AnnounceResult(folder.id)
    storage = storage_for(folder)
    prefix = getattr(storage, "prefix", "")
    wanted = []
    for key in dict.fromkeys(keys):  # each key once, in order
        name = key.rsplit("/", 1)[-1]
        ext = os.path.splitext(name)[1].lower().lstrip(".")
        if not key.startswith(prefix) or not name or is_companion(name) or ext not in folder.extensions:
            result.ignored += 1
        else:
            wanted.append(key)
    if not wanted:
        return result
    with scan_lock(folder.id, timeout=600, wait=LOCK_WAIT_SECONDS) as taken:
        if not taken:
            result.busy = True
            return result
        _take(folder, storage, wanted, trigger, result)
    return result


def _take(folder, storage, keys, trigger, result):
    FPR = FileProcessingRecord
    known = set(db.session.scalars(sa.select(FPR.file_path).where(FPR.folder_id == folder.id, FPR.file_path.in_(keys))))
    result.known = len(known)
    found = Plan(known=len(known))
    for key in keys:
        if key in known:
            continue
        stored = storage.stat(key)  # size, time and checksum from the service, no download
        if stored is None:
            result.missing += 1
            continue
        found.take(stored, folder)
    if found.to_queue or found.to_skip:
        hold = timetable.waits(folder, batch_config.load().processing, utcnow())
        record_found(folder, found, trigger, None, hold, result)


def event_folders(service: str) -> Sequence[ExternalFolder]:
    """Enabled folders of a storage type that take cloud events."""
    return db.session.scalars(
        sa.select(ExternalFolder)
        .where(
            ExternalFolder.enabled,
            ExternalFolder.storage_type == service,
            ExternalFolder.monitor_type == "cloud_events",
        )
        .order_by(ExternalFolder.id)
    ).all()


def route(service: str, announcements: list[Announcement]) -> list[AnnounceResult]:
    """Announce each folder's share of `announcements` (same bucket/container)."""
    results = []
    for folder in event_folders(service):
        bucket = (folder.storage_config or {}).get(BUCKET_FIELD[service])
        keys = [a.key for a in announcements if a.bucket == bucket]
        if keys:
            results.append(announce(folder, keys))
    return results


def receive_push(service: str, body: EventBody) -> tuple[Handshake | None, list[AnnounceResult]]:
    """(handshake or None, [AnnounceResult]) for a pushed event body of `service`
    ('s3' for SNS, 'azure' for Event Grid, 'gcs' for Pub/Sub). The receiver answers the
    handshake (SNS SubscribeURL, Event Grid validation code) and returns a 5xx when a
    result is busy, so that the service delivers the event again."""
    announcements, handshake = PARSERS[service](body)
    return handshake, (route(service, announcements) if announcements else [])


def drain_event_queues() -> list[AnnounceResult]:
    """Read every SQS queue of S3 cloud-events folders once. Messages are deleted after
    their objects are recorded; those of a busy folder come back after the visibility
    timeout. A queue shared by several folders is read once for all of them."""
    by_queue = {}
    for folder in event_folders("s3"):
        url = (folder.storage_config or {}).get("queue_url")
        if url:
            by_queue.setdefault(url, []).append(folder)
    results = []
    for folders in by_queue.values():
        storage = storage_for(folders[0])
        queue = SqsQueue(storage)
        received = storage._call(queue.receive)
        announcements = [a for _receipt, found in received for a in found]
        batch = []
        for folder in folders:
            keys = [a.key for a in announcements if a.bucket == folder.storage_config.get("bucket")]
            if keys:
                batch.append(announce(folder, keys))
        results += batch
        if not any(r.busy for r in batch):
            storage._call(functools.partial(queue.delete, [receipt for receipt, _found in received]))
    return results
