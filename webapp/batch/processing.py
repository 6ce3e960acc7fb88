"""Processing one file: claim → fetch → validate content → analyse → file the call."""

import logging
import socket
import threading
import time
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from rq.timeouts import JobTimeoutException
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.attributes import set_committed_value

from .. import analysis, metrics
from ..analysis import customers, metadata
from ..errors import CallbatchError, ConfigError, SkipFile, WorkerStopping
from ..extensions import commit_without_waiting_for_disk, db
from ..models import FileEvent, FileProcessingRecord, SalesCall
from ..models.types import utcnow
from . import batch_config, discovery, downloads, enqueue, faults, signals
from .discovery import storage_for
from .limits import FileSlots
from .status import COMPLETED, FAILED, PROCESSING, QUEUED, RETRYING, SKIPPED, InvalidTransition, claim, transition
from .validation import call_uuid, probe

log = logging.getLogger(__name__)

SLOT_WAIT_SECONDS = 30


def process_file(record_id: int, rq_job_id: str | None = None, worker_name: str | None = None) -> str | None:
    """Run one file through the pipeline. Returns the record's final status, or None when
    the record was not ours to process (already taken, finished or cancelled)."""
    # A short database outage is waited out here, before the claim: the worker pauses
    # instead of failing every queued job in a burst (the record is not ours yet). If the
    # database stays away, the job fails and the reaper queues the file again later.
    config = _when_database_answers(batch_config.load)
    if config.processing.paused:
        return None  # stays queued; resuming re-enqueues every queued file
    if _when_database_answers(lambda: discovery.hold_if_window_closed(record_id)):
        return None  # its folder's processing window is closed: it waits for the window
    worker_name = worker_name or f"{socket.gethostname()}:{threading.get_ident()}"
    slots = file_slots(config.processing.maxConcurrentFiles)
    token = f"{record_id}:{rq_job_id}"
    if not slots.acquire(token, SLOT_WAIT_SECONDS):
        _requeue(record_id)  # every slot stayed busy: go to the back of the line
        return None
    try:
        record = _when_database_answers(lambda: claim(record_id, worker_name, rq_job_id))
        if record is None:
            return None
        with Heartbeat(record_id, slots, token):
            return _run(record_id, record, config)
    finally:
        slots.release(token)


def _when_database_answers(attempt):
    """Run `attempt`, waiting out a short database outage (DATABASE_WAITS); if the database
    stays away, the last error is raised. Each try starts by rolling back what an outage
    left behind: that rollback can fail too while the database is away (a connection cut
    under an open transaction raises on ROLLBACK), so it is part of the try."""
    for pause in DATABASE_WAITS + (None,):
        try:
            db.session.rollback()
            return attempt()
        except OperationalError as err:
            if pause is None:
                raise
            log.warning("database unreachable (%s); waiting %s s", str(err).splitlines()[0], pause)
            time.sleep(pause)


def _run(record_id, record, config):
    """Process the claimed `record` and record how it ended; returns its status (None when
    the file stopped being ours)."""
    attempt = record.attempts
    try:
        return _process(record, attempt, config)
    except InvalidTransition:
        # The reaper gave this file to another worker while this one was unresponsive.
        db.session.rollback()
        log.warning("file %s: claim lost before the result was saved; result discarded", record_id)
        return None
    except WorkerStopping:
        return _guarded(_hand_back, record, attempt)
    except SkipFile as err:
        return _guarded(_skip, record, err)
    except CallbatchError as err:
        if _timed_out(err):  # a provider wrapped the timeout in an error of its own
            return _guarded(fail, record, _timeout_error(), config.retryPolicy)
        return _guarded(fail, record, err, config.retryPolicy)
    except ConfigError as err:  # the settings are wrong: no retry helps until someone changes them
        failure = CallbatchError(
            "The speech-to-text settings are not valid: " + " ".join(err.messages),
            code="TRANSCRIPTION_FAILED",
            retryable=False,
        )
        return _guarded(fail, record, failure, config.retryPolicy)
    except OperationalError as err:
        return _fail_when_database_returns(record_id, attempt, err, config.retryPolicy)
    except JobTimeoutException:
        return _guarded(fail, record, _timeout_error(), config.retryPolicy)
    except Exception as err:  # anything unforeseen still ends in a status, never in silence
        log.exception("file %s failed unexpectedly", record_id)
        db.session.rollback()
        failure = CallbatchError(details={"error": f"{type(err).__name__}: {err}"})  # the sentence of INTERNAL_ERROR
        return _guarded(fail, record, failure, config.retryPolicy)


def _process(record, attempt, config):
    """Fetch, check and analyse the recording, then file the call and commit. Returns
    COMPLETED; every other ending is an exception, which `_run` records."""
    timings = {}
    folder = record.folder
    _skip_if_same_checksum(record)
    storage = storage_for(folder)
    started = time.perf_counter()
    with downloads.fetch(
        folder, storage, record.file_path, size=record.file_size, worker=record.worker_name
    ) as local_path:
        faults.pause_at("file")
        timings["download_ms"] = _ms(started)
        started = time.perf_counter()
        duration, sha256 = probe(local_path)
        timings["probe_ms"] = _ms(started)
        _skip_if_duplicate(record, sha256)
        result = analysis.analyze(
            local_path,
            folder,
            config.analysis.model_dump(),
            duration,
            companions=storage.companions_for(record.file_path),
        )
    timings.update(result.timings)
    started = time.perf_counter()
    _check_still_ours(record, attempt)
    _file_call(record, result, sha256, timings, started)
    faults.pause_at("commit")
    db.session.commit()
    return COMPLETED


def _guarded(outcome, record, *args):
    """Record a failure or skip unless the file is no longer ours (see InvalidTransition above)."""
    try:
        return outcome(record, *args)
    except InvalidTransition:
        db.session.rollback()
        log.warning("file %s: claim lost before the outcome was saved", record.id)
        return None


def _timed_out(err):
    while err is not None:
        if isinstance(err, JobTimeoutException):
            return True
        err = err.__cause__ or err.__context__
    return False


def _timeout_error():
    limit = current_app.config["FILE_JOB_TIMEOUT"]
    return CallbatchError(
        f"The file took longer than the {limit} s a worker may spend on one file, so its processing was stopped.",
        code="TIMEOUT",
        details={"timeout_seconds": limit},
    )


def _hand_back(record, attempt):
    """The worker is stopping: put the file back in the queue for another worker, unless
    it is no longer this attempt's (its result was committed just before the stop)."""
    db.session.rollback()
    record = db.session.get(FileProcessingRecord, record.id, populate_existing=True)
    if record.status != PROCESSING or record.attempts != attempt:
        return None
    job_id = enqueue.new_job_id()
    transition(
        record,
        QUEUED,
        f"Handed back to the queue: {record.worker_name} was stopped before it finished the file.",
        {"reason": "worker_stopping"},
        rq_job_id=job_id,
        worker_name=None,
    )
    db.session.commit()
    enqueue.file(record.id, job_id=job_id)
    log.warning("file %s handed back to the queue: the worker is stopping", record.id)
    return QUEUED


def _skip_if_same_checksum(record):
    """Skip, before downloading it, a file whose storage checksum (ETag/MD5/CRC from the
    listing) matches a file already processed; files without one are compared by SHA-256
    after the download."""
    if not record.source_checksum:
        return
    earlier = db.session.scalar(_earlier_copy(FileProcessingRecord.source_checksum == record.source_checksum, record))
    if earlier:
        raise SkipFile(
            f"Same content as file #{earlier} (the storage's checksum matches), which is already processed.",
            code="DUPLICATE_FILE",
            details={"duplicate_of": earlier, "by": "checksum"},
        )


def _skip_if_duplicate(record, sha256):
    """Of two files with the same content, the one already completed, or else the lower id
    still processing, goes on; the other is skipped. The hash is committed first (on a
    connection of its own, leaving the session's state loaded) so that two workers holding
    copies at the same moment each see the other's."""
    FPR = FileProcessingRecord
    with db.engine.begin() as conn:
        commit_without_waiting_for_disk(conn)  # a hash lost in a crash is computed again
        conn.execute(sa.update(FPR).where(FPR.id == record.id).values(content_sha256=sha256))
        earlier = conn.scalar(_earlier_copy(FPR.content_sha256 == sha256, record))
    set_committed_value(record, "content_sha256", sha256)
    if earlier:
        raise SkipFile(
            f"Same content as file #{earlier}, which is already processed.",
            code="DUPLICATE_FILE",
            details={"duplicate_of": earlier},
        )


def _earlier_copy(same_content, record):
    """The id of a file with the same content (`same_content`, a condition) that goes on
    instead of `record`: one already completed, or else a lower id still processing."""
    FPR = FileProcessingRecord
    return (
        sa.select(FPR.id)
        .where(
            same_content,
            FPR.id != record.id,
            sa.or_(FPR.status == COMPLETED, sa.and_(FPR.status == PROCESSING, FPR.id < record.id)),
        )
        .limit(1)
    )


def _check_still_ours(record, attempt):
    """Lock the record's row until the result is committed, after making sure the reaper has
    not handed the file to another attempt meanwhile."""
    FPR = FileProcessingRecord
    status, attempts = db.session.execute(
        sa.select(FPR.status, FPR.attempts).where(FPR.id == record.id).with_for_update()
    ).one()
    if status != PROCESSING or attempts != attempt:
        raise InvalidTransition(f"file {record.id} was handed to another attempt")


def _file_call(record, result, sha256, timings, started):
    """One sales_calls row, its customer link and the record's completion, in one transaction.
    `db_ms` counts the database work since `started` up to the final status change."""
    meta = result.metadata or {}
    call = _new_call(record, result, sha256, meta)
    db.session.add(call)
    try:
        db.session.flush()
    except IntegrityError as err:
        db.session.rollback()
        raise SkipFile("A call with identical content was filed by another worker.", code="DUPLICATE_FILE") from err
    _note_findings(record, result)
    customer = customers.link(call, meta)
    signals.call_filed.send(call, record=record, customer=customer)  # trackers counted, call_completed noted
    timings["db_ms"] = _ms(started)
    call.stage_timings = record.stage_timings = timings
    _complete(record, call, customer, result.duration, timings)
    metrics.stage_timings(timings)
    return call


def _new_call(record, result, sha256, meta):
    """The sales call of an analysed recording (`meta`: what its metadata sidecar says)."""
    transcript = result.transcript
    called_at = metadata.parse_time(meta["called_at"]) if meta.get("called_at") else record.file_mtime
    return SalesCall(
        file_id=record.id,
        job_id=record.job_id,
        content_sha256=sha256,
        call_uuid=call_uuid(record.file_name) or record.file_name,
        agent=meta.get("agent"),
        called_at=called_at,
        duration_seconds=result.duration,
        language=transcript.language,
        transcript=transcript.text,
        segments=[s.to_dict() for s in transcript.segments],
        engine=transcript.engine,
        model=transcript.model,
        scores=result.scores,
        overall_score=result.overall_score,
        metrics=result.metrics,
        redacted_spans=result.redacted_spans,
        quality=result.quality or "ok",
        quality_reasons=result.quality_reasons or None,
    )


def _note_findings(record, result):
    """File events for what the analysis noted beside the call: its notes (e.g. a malformed
    metadata sidecar, the call still filed) and how much personal data it redacted."""
    for note in result.notes:
        db.session.add(FileEvent(file_id=record.id, message=note, details={"kind": "metadata"}))
    if result.redactions is not None:  # how many of each kind, never the values
        spans = ", ".join(f"{n} {kind}" for kind, n in sorted(result.redactions.items())) or "none found"
        db.session.add(
            FileEvent(
                file_id=record.id,
                message=f"Personal data redacted from the transcript: {spans}.",
                details={"kind": "redaction", "counts": result.redactions},
            )
        )


def _complete(record, call, customer, audio_seconds, timings):
    """Move the record to COMPLETED, saying which call (and customer) it was filed as."""
    filed = f"Filed as call #{call.id}" + (f" for customer #{customer.id}" if customer else " (no customer)")
    details = {"timings_ms": timings}
    if call.quality == "needs_review":
        filed += "; the transcript needs review, so its score is withheld"
        details.update(quality=call.quality, quality_reasons=[r["code"] for r in call.quality_reasons or []])
    transition(
        record,
        COMPLETED,
        filed,
        details,
        audio_seconds=audio_seconds,
        finished_at=utcnow(),
        error_code=None,
        error_category=None,
        error_message=None,
    )


def _skip(record, err):
    _end_with(record, SKIPPED, err, {"code": err.code, **err.details})
    db.session.commit()
    return SKIPPED


def fail(record: FileProcessingRecord, err: CallbatchError, policy: batch_config.RetryPolicy) -> str:
    """Record a failure and schedule the retry the policy allows. Returns the new status."""
    record = _end_with(record, FAILED, err, {"code": err.code, "category": err.category, **err.details})
    if not (policy.enabled and err.retryable and record.retry_count < policy.maxRetries):
        db.session.commit()
        return FAILED
    number = record.retry_count + 1
    delay = batch_config.retry_delay(policy, number)
    job_id = enqueue.new_job_id()
    transition(
        record,
        RETRYING,
        f"Retry {number} of {policy.maxRetries} in {delay} s",
        retry_count=number,
        next_retry_at=utcnow() + timedelta(seconds=delay),
        rq_job_id=job_id,
    )
    db.session.commit()
    faults.pause_at("retry")
    enqueue.file(record.id, delay=delay, job_id=job_id)
    return RETRYING


def _end_with(record, status, err, details):
    """Roll back what the attempt left and move the record, read afresh, to `status` with the
    error `err`. Returns the record as read afresh; the caller commits."""
    db.session.rollback()
    record = db.session.get(FileProcessingRecord, record.id, populate_existing=True)
    transition(
        record,
        status,
        err.message,
        details,
        error_code=err.code,
        error_category=err.category,
        error_message=err.message,
        finished_at=utcnow(),
    )
    return record


def _requeue(record_id):
    job_id = enqueue.new_job_id()
    FPR = FileProcessingRecord
    db.session.execute(sa.update(FPR).where(FPR.id == record_id).values(rq_job_id=job_id))
    db.session.commit()
    enqueue.file(record_id, job_id=job_id)


def _fail_when_database_returns(record_id, attempt, err, policy):
    """The database dropped mid-file: wait for it (briefly) to record the failure and its
    retry. If it stays away, the reaper does the same once it is back; if the reaper already
    did (the outage outlasted the heartbeat), the file is no longer ours."""
    log.warning("database error on file %s: %s", record_id, err)
    failure = CallbatchError(
        "The database was unreachable while the file was processed.",
        code="DATABASE_ERROR",
        details={"error": str(err).splitlines()[0]},
    )

    def record_failure():
        record = db.session.get(FileProcessingRecord, record_id)
        _check_still_ours(record, attempt)
        return fail(record, failure, policy)

    try:
        return _when_database_answers(record_failure)
    except InvalidTransition:
        db.session.rollback()
        log.warning("file %s: claim lost during the database outage; the failure is not recorded twice", record_id)
        return None


DATABASE_WAITS = (0.5, 1, 2, 4, 8, 15)


def file_slots(limit: int) -> FileSlots:
    lease = current_app.config["STALE_AFTER_SECONDS"]
    return FileSlots(enqueue.redis(), enqueue.key("file-slots"), limit, lease)


class Heartbeat:
    """While a file is processing, touch its record and renew its slot lease."""

    def __init__(self, record_id: int, slots: FileSlots, token: str) -> None:
        self.record_id = record_id
        self.slots = slots
        self.token = token
        self.interval = current_app.config["HEARTBEAT_SECONDS"]
        self.app = current_app._get_current_object()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True, name=f"heartbeat-{record_id}")

    def __enter__(self) -> "Heartbeat":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()

    def _beat(self):
        FPR = FileProcessingRecord
        with self.app.app_context():
            while not self.stop.wait(self.interval):
                try:
                    with db.engine.begin() as conn:
                        commit_without_waiting_for_disk(conn)
                        conn.execute(
                            sa.update(FPR)
                            .where(FPR.id == self.record_id, FPR.status == PROCESSING)
                            .values(heartbeat_at=utcnow())
                        )
                    self.slots.try_acquire(self.token)
                except Exception:  # a missed beat is harmless; a long outage lets the reaper step in
                    log.warning("heartbeat for file %s failed", self.record_id, exc_info=True)


def _ms(started):
    return round((time.perf_counter() - started) * 1000, 1)
