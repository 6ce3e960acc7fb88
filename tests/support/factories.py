"""Records made directly with the app's models, for tests about what is shown or served
rather than about the pipeline that would otherwise make them: a user, a local folder, a
job, a file record in a status (with the timeline that leads there), a call with a score.
Each factory adds and flushes its record; the test commits when it has made them all."""

import itertools
import os
import uuid

from tests.support.web import PASSWORD
from webapp.batch import status
from webapp.batch.folder_config import local_folder_for
from webapp.errors import explain
from webapp.extensions import db
from webapp.models import BatchJob, FileEvent, FileProcessingRecord, SalesCall, User
from webapp.models import job as job_status

# The moves that bring a new file to each status, as the pipeline makes them.
PATH_TO = {
    status.DISCOVERED: [],
    status.QUEUED: [status.QUEUED],
    status.PROCESSING: [status.QUEUED, status.PROCESSING],
    status.COMPLETED: [status.QUEUED, status.PROCESSING, status.COMPLETED],
    status.FAILED: [status.QUEUED, status.PROCESSING, status.FAILED],
    status.RETRYING: [status.QUEUED, status.PROCESSING, status.FAILED, status.RETRYING],
    status.SKIPPED: [status.SKIPPED],
    status.CANCELLED: [status.CANCELLED],
}


def user(role="viewer", email=None, password=PASSWORD, **fields):
    made = User(email=email or f"{role}@example.com", role=role, **fields)
    made.set_password(password)
    db.session.add(made)
    db.session.flush()
    return made


def folder(path, name=None):
    """The local folder registered for the directory `path`, named `name` when given."""
    made = local_folder_for(str(path))
    if name:
        made.name = name
        db.session.flush()
    return made


def job(folder, status=job_status.COMPLETED, trigger="manual", **fields):
    """A batch job of `folder`; its file counters follow the file records made with it."""
    made = BatchJob(folder_id=folder.id, status=status, trigger=trigger, **fields)
    db.session.add(made)
    db.session.flush()
    return made


def file_record(folder, file_status=status.COMPLETED, job=None, file_name=None, error_code=None, **fields):
    """A file record of `folder` in `file_status`, with one event per move that led there.
    An `error_code` brings its category and explanation, as the pipeline records them."""
    file_name = file_name or f"{uuid.uuid4()}.wav"
    if error_code:
        category, explanation, _fix = explain(error_code)
        fields = {"error_category": category, "error_message": str(explanation), **fields}
    record = FileProcessingRecord(
        folder_id=folder.id,
        job_id=job.id if job else None,
        file_name=file_name,
        file_path=os.path.join(folder.storage_config.get("path", ""), file_name),
        file_size=2048,
        status=file_status,
        error_code=error_code,
        **fields,
    )
    db.session.add(record)
    db.session.flush()
    moves = [None, status.DISCOVERED, *PATH_TO[file_status]]
    for frm, to in itertools.pairwise(moves):
        details = {"code": error_code} if error_code and to == file_status else None
        db.session.add(FileEvent(file_id=record.id, from_status=frm, to_status=to, details=details))
    if job:
        job.total_files += 1
        if file_status in status.COUNTER:
            setattr(job, status.COUNTER[file_status], getattr(job, status.COUNTER[file_status]) + 1)
    db.session.flush()
    return record


def call(file=None, overall_score=None, **fields):
    """A sales call, filed from `file` (a completed file record) when one is given."""
    made = SalesCall(
        file_id=file.id if file else None,
        job_id=file.job_id if file else None,
        content_sha256=uuid.uuid4().hex * 2,
        call_uuid=os.path.splitext(file.file_name)[0] if file else str(uuid.uuid4()),
        overall_score=overall_score,
        **fields,
    )
    db.session.add(made)
    db.session.flush()
    return made
