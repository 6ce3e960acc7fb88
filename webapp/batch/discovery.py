"""Scanning a folder: list it, record each new file once, skip what cannot be taken, and
open a batch job for what was found."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import TYPE_CHECKING

import sqlalchemy as sa

from .. import crypto, redaction, timetable
from ..errors import CallbatchError, FileAccessError, SkipFile
from ..extensions import db
from ..models import BatchJob, ExternalFolder, FileEvent, FileProcessingRecord
from ..models import job as job_status
from ..models.types import utcnow
from ..providers.storage import STORAGE
from ..providers.storage.base import StorageProvider, StoredFile
from . import batch_config, enqueue, signals
from .status import DISCOVERED, QUEUED, SKIPPED, transition
from .validation import check_listing, is_companion

if TYPE_CHECKING:
    from .announce import AnnounceResult

log = logging.getLogger(__name__)

SIGHTINGS_TTL = 86400


@dataclass
class Plan:
    """What a scan would do with a folder's listing."""

    to_queue: list[StoredFile] = field(default_factory=list)
    to_skip: list[tuple[StoredFile, SkipFile]] = field(default_factory=list)
    still_writing: list[StoredFile] = field(default_factory=list)
    known: int = 0

    def take(self, stored: StoredFile, folder: ExternalFolder) -> None:
        """Add a new file: to queue, or to skip with the reason the folder cannot take it."""
        try:
            check_listing(stored, folder.extensions, folder.max_file_size)
        except SkipFile as err:
            self.to_skip.append((stored, err))
            return
        self.to_queue.append(stored)


@dataclass
class ScanResult:
    folder_id: int
    job_id: int | None = None
    queued: int = 0
    held: int = 0
    skipped: int = 0
    still_writing: int = 0
    known: int = 0
    busy: bool = False


def storage_for(folder: ExternalFolder) -> StorageProvider:
    """The folder's storage provider, with its credentials decrypted for this use only."""
    provider = STORAGE[folder.storage_type]
    try:
        config = crypto.unseal(folder.storage_config or {}, provider.secret_fields())
    except ValueError:
        raise FileAccessError(
            "The folder's stored credentials cannot be decrypted with this server's key "
            "(was CALLBATCH_ENCRYPTION_KEY changed?): enter them again.",
            code="INVALID_CREDENTIALS",
        ) from None
    return provider(config)


def plan(
    folder: ExternalFolder,
    config: batch_config.BatchConfig,
    listing: Iterable[StoredFile],
    known_paths: set[str],
    sightings: dict[str, str],
) -> Plan:
    """Sort a listing into new files to take, new files to skip (and why), and files still
    being written. `sightings` maps path → (size, modified) from the previous look."""
    result = Plan()
    settle = timedelta(seconds=config.scanning.fileSettleSeconds)
    now = utcnow()
    for stored in listing:
        if stored.path in known_paths:
            result.known += 1
            continue
        if is_companion(stored.name):
            continue
        # A file that may not be read (a link leading out, a FIFO…) is skipped at once:
        # waiting would not change that.
        if not stored.denied and now - stored.modified < settle and sightings.get(stored.path) != _sighting(stored):
            result.still_writing.append(stored)
            continue
        result.take(stored, folder)
    return result


def preview(folder: ExternalFolder) -> Plan:
    """A dry run: what a scan would queue and skip now, without recording anything."""
    config = batch_config.load()
    listing = list(storage_for(folder).list_files())
    return plan(folder, config, listing, _known_paths(folder.id), _load_sightings(folder.id))


def scan(
    folder: ExternalFolder, trigger: str = "manual", user_id: int | None = None, now: datetime | None = None
) -> ScanResult:
    """Scan a folder once. Concurrent scans of the same folder are refused, not overlapped.
    Whether its new files are queued or wait is decided for `now` (default: this moment)."""
    with scan_lock(folder.id, timeout=3600) as taken:
        if not taken:
            return ScanResult(folder.id, busy=True)
        return _scan(folder, trigger, user_id, now or utcnow())


@contextlib.contextmanager
def scan_lock(folder_id: int, timeout: int, wait: float = 0) -> Iterator[bool]:
    """The folder's scan lock, held for at most `timeout` seconds, so that a scan and the
    objects announced for the folder are never recorded at once. Yields whether it was
    taken (within `wait` seconds)."""
    lock = enqueue.redis().lock(
        enqueue.key("scan-lock", folder_id), timeout=timeout, blocking=wait > 0, blocking_timeout=wait
    )
    if not lock.acquire():
        yield False
        return
    try:
        yield True
    finally:
        try:
            lock.release()
        except Exception:  # expired while a huge scan ran: nothing to release
            pass


def _scan(folder, trigger, user_id, now):
    config = batch_config.load()
    try:
        listing = list(storage_for(folder).list_files())
    except CallbatchError as err:
        folder.connection_status, folder.last_scan_at = "error", utcnow()
        folder.last_error = redaction.redact(err.message)
        db.session.commit()
        raise
    found = plan(folder, config, listing, _known_paths(folder.id), _load_sightings(folder.id))
    _remember_sightings(folder.id, found.still_writing)
    result = ScanResult(folder.id, still_writing=len(found.still_writing), known=found.known)
    folder.connection_status, folder.last_error, folder.last_scan_at = "ok", None, utcnow()
    if found.to_queue or found.to_skip:
        record_found(folder, found, trigger, user_id, timetable.waits(folder, config.processing, now), result)
    else:
        db.session.commit()
    return result


def record_found(
    folder: ExternalFolder,
    found: Plan,
    trigger: str,
    user_id: int | None,
    hold: bool,
    result: ScanResult | AnnounceResult,
) -> None:
    """Record the new files of `found` in a job of their own and commit; queue them, unless
    the folder's processing waits (`hold`). The counts go into `result`."""
    job, queued = _record(folder, found, trigger, user_id, hold)
    result.job_id = job.id
    result.skipped = len(found.to_skip)
    result.queued, result.held = (0, len(found.to_queue)) if hold else (len(queued), 0)
    db.session.commit()
    enqueue.files(queued)


def _record(folder, found, trigger, user_id, hold):
    """Insert the new records, their events and their job in one transaction.
    Returns the job and the (record id, RQ job id) pairs to enqueue after commit."""
    now = utcnow()
    job = BatchJob(
        folder_id=folder.id,
        trigger=trigger,
        created_by_id=user_id,
        status=job_status.PENDING if hold else job_status.RUNNING,
        started_at=None if hold else now,
        total_files=len(found.to_queue) + len(found.to_skip),
        skipped_files=len(found.to_skip),
    )
    db.session.add(job)
    db.session.flush()
    first = DISCOVERED if hold else QUEUED
    rows = [_row(folder, job, s, first, now, rq_job_id=None if hold else enqueue.new_job_id()) for s in found.to_queue]
    rows += [_row(folder, job, s, SKIPPED, now, error=err) for s, err in found.to_skip]
    FPR = FileProcessingRecord
    inserted = _insert_many(FPR.__table__, rows, returning=("id", "status", "rq_job_id", "error_message"))
    events = [event for record in inserted for event in _found_events(record, trigger, now)]
    for (record_id, status, *_), row in zip(inserted, rows, strict=True):
        if status == SKIPPED:
            signals.skipped_on_scan.send(SimpleNamespace(id=record_id, **row), frm=DISCOVERED, to=SKIPPED, details=None)
    _insert_many(FileEvent.__table__, events)
    if not found.to_queue:
        job.status, job.completed_at = job_status.COMPLETED, now
        signals.job_finished.send(job.id)
    return job, [(record_id, rq_id) for record_id, status, rq_id, _ in inserted if status == QUEUED]


def _found_events(inserted, trigger, now):
    """The FileEvent rows of one file a scan recorded (`inserted`: its id, status, RQ job id
    and error): found, then queued or skipped; a held file stays discovered."""
    record_id, status, _job_id, error_message = inserted

    def event(frm, to, message):
        return dict(file_id=record_id, from_status=frm, to_status=to, created_at=now, message=message)

    events = [event(None, DISCOVERED, f"Found by a {trigger} scan")]
    if status == QUEUED:
        events.append(event(DISCOVERED, QUEUED, "Queued for processing"))
    elif status == SKIPPED:
        events.append(event(DISCOVERED, SKIPPED, error_message))
    return events


def _insert_many(table, rows, returning=()):
    """Insert many rows in the session's transaction; with `returning`, give back those
    columns of each row in order. PostgreSQL takes them by COPY (a 10,000-file scan would
    spend seconds on INSERT statements); other databases by a batched INSERT."""
    if not rows:
        return []
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        statement = table.insert()
        if returning:
            statement = statement.returning(*(table.c[c] for c in returning), sort_by_parameter_order=True)
            return connection.execute(statement, rows).all()
        connection.execute(statement, rows)
        return []
    columns = list(rows[0])
    cursor = connection.connection.driver_connection.cursor()
    if returning:  # ids come from the sequence in advance, so rows and results stay in step
        sequence = connection.execute(sa.select(sa.func.pg_get_serial_sequence(table.name, "id"))).scalar()
        ids = (
            connection.execute(
                sa.text("SELECT nextval(:s) FROM generate_series(1, :n)"), {"s": sequence, "n": len(rows)}
            )
            .scalars()
            .all()
        )
        rows = [dict(row, id=row_id) for row, row_id in zip(rows, ids, strict=True)]
        columns = ["id"] + columns
    with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])
    return [tuple(row[c] for c in returning) for row in rows]


def _row(folder, job, stored, status, now, rq_job_id=None, error=None):
    return dict(
        folder_id=folder.id,
        job_id=job.id,
        file_name=stored.name,
        file_path=stored.path,
        file_size=stored.size,
        file_mtime=stored.modified,
        source_checksum=stored.checksum,
        status=status,
        rq_job_id=rq_job_id,
        error_code=error.code if error else None,
        error_category=error.category if error else None,
        error_message=redaction.redact(error.message) if error else None,
        finished_at=now if error else None,
        created_at=now,
        updated_at=now,
        retry_count=0,
        attempts=0,
    )


def _known_paths(folder_id):
    FPR = FileProcessingRecord
    return set(db.session.scalars(sa.select(FPR.file_path).where(FPR.folder_id == folder_id)))


def _sighting(stored):
    return f"{stored.size}:{stored.modified.timestamp()}"


def _load_sightings(folder_id):
    raw = enqueue.redis().hgetall(enqueue.key("sightings", folder_id))
    return {k.decode(): v.decode() for k, v in raw.items()}


def _remember_sightings(folder_id, stored_files):
    key = enqueue.key("sightings", folder_id)
    pipe = enqueue.redis().pipeline()
    pipe.delete(key)
    if stored_files:
        pipe.hset(key, mapping={s.path: _sighting(s) for s in stored_files})
        pipe.expire(key, SIGHTINGS_TTL)
    pipe.execute()


def start_job(job: BatchJob) -> int:
    """Queue every file a held (pending) job discovered. Returns how many."""
    return queue_waiting(FileProcessingRecord.job_id == job.id, "Queued for processing")


def queue_waiting(condition: sa.ColumnElement[bool], message: str) -> int:
    """Queue the waiting (discovered) files matching `condition` and start their pending jobs.
    Rows are locked as they are taken, so two callers at once never queue a file twice."""
    FPR = FileProcessingRecord
    records = db.session.scalars(
        sa.select(FPR).where(condition, FPR.status == DISCOVERED).order_by(FPR.id).with_for_update(skip_locked=True)
    ).all()
    pairs = []
    for record in records:
        job_id = enqueue.new_job_id()
        transition(record, QUEUED, message, rq_job_id=job_id)
        pairs.append((record.id, job_id))
    job_ids = {record.job_id for record in records}
    if job_ids:
        db.session.execute(
            sa.update(BatchJob)
            .where(BatchJob.id.in_(job_ids), BatchJob.status == job_status.PENDING)
            .values(status=job_status.RUNNING, started_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    db.session.commit()
    enqueue.files(pairs)
    return len(pairs)


def hold_if_window_closed(record_id: int, now: datetime | None = None) -> bool:
    """A worker about to take a file of a folder whose processing window is closed puts it back
    to wait for the window (queued again when it opens), if it was queued before the window
    closed; a file someone queued since (starting the job by hand, a retry) goes on. Returns
    whether it was put back. A file already processing is never touched."""
    FPR, F = FileProcessingRecord, ExternalFolder
    now = now or utcnow()
    folder = db.session.execute(
        sa.select(F.process_mode, F.window_start, F.window_end)
        .join(FPR, FPR.folder_id == F.id)
        .where(FPR.id == record_id)
    ).first()
    if (
        folder is None
        or folder.process_mode != timetable.WINDOW
        or timetable.in_window(folder.window_start, folder.window_end, now)
    ):
        return False
    queued_at = db.session.scalar(
        sa.select(sa.func.max(FileEvent.created_at)).where(
            FileEvent.file_id == record_id, FileEvent.to_status == QUEUED
        )
    )
    if queued_at is not None and queued_at >= timetable.window_closed(folder.window_end, now):
        return False
    record = db.session.scalars(
        sa.select(FPR).where(FPR.id == record_id, FPR.status == QUEUED).with_for_update(skip_locked=True)
    ).first()
    if record is None:
        db.session.rollback()
        return False
    transition(
        record,
        DISCOVERED,
        f"Waiting for the processing window {folder.window_start}–{folder.window_end}",
        rq_job_id=None,
    )
    db.session.commit()
    return True
