"""The file status machine: allowed moves, event rows and job counters."""

import pytest
import sqlalchemy as sa

from webapp.batch import status
from webapp.extensions import db
from webapp.models import BatchJob, ExternalFolder, FileEvent, FileProcessingRecord
from webapp.models import job as job_status


@pytest.fixture
def job_with_files(ctx):
    folder = ExternalFolder(name="calls", storage_type="local", storage_config={"path": "/tmp"})
    db.session.add(folder)
    db.session.flush()
    job = BatchJob(folder_id=folder.id, status=job_status.RUNNING, total_files=2)
    db.session.add(job)
    db.session.flush()
    records = [
        FileProcessingRecord(
            folder_id=folder.id, job_id=job.id, file_path=f"{n}.wav", file_name=f"{n}.wav", status=status.QUEUED
        )
        for n in range(2)
    ]
    db.session.add_all(records)
    db.session.commit()
    return job, records


def events(record):
    return db.session.execute(
        sa.select(FileEvent.from_status, FileEvent.to_status)
        .where(FileEvent.file_id == record.id)
        .order_by(FileEvent.id)
    ).all()


def test_every_change_leaves_an_event_and_moves_the_job_counters(job_with_files):
    job, (first, second) = job_with_files
    assert status.claim(first.id, "w1", "rq-1").status == status.PROCESSING
    transition_and_commit(first, status.FAILED, "boom")
    transition_and_commit(first, status.RETRYING, "again")
    assert status.claim(first.id, "w1", "rq-2").attempts == 2
    transition_and_commit(first, status.COMPLETED, "done")
    assert events(first) == [
        ("queued", "processing"),
        ("processing", "failed"),
        ("failed", "retrying"),
        ("retrying", "processing"),
        ("processing", "completed"),
    ]
    db.session.refresh(job)
    assert (job.processed_files, job.failed_files, job.status) == (1, 0, job_status.RUNNING)

    status.claim(second.id, "w1", "rq-3")
    transition_and_commit(second, status.FAILED, "gave up")
    db.session.refresh(job)
    assert (job.processed_files, job.failed_files, job.status) == (1, 1, job_status.COMPLETED_WITH_ERRORS)

    transition_and_commit(second, status.QUEUED, "manual retry")  # a person's retry re-opens the job
    db.session.refresh(job)
    assert (job.failed_files, job.status) == (0, job_status.RUNNING)


def transition_and_commit(record, to, message):
    record = db.session.get(FileProcessingRecord, record.id, populate_existing=True)
    status.transition(record, to, message)
    db.session.commit()


@pytest.mark.parametrize(
    "frm,to",
    [
        ("queued", "completed"),
        ("completed", "failed"),
        ("skipped", "processing"),
        ("discovered", "processing"),
        ("failed", "completed"),
    ],
)
def test_moves_outside_the_machine_are_refused(job_with_files, frm, to):
    _, (record, _) = job_with_files
    record.status = frm
    db.session.commit()
    with pytest.raises(status.InvalidTransition):
        status.transition(record, to, "not allowed")


def test_a_record_is_claimed_once(job_with_files):
    _, (record, _) = job_with_files
    assert status.claim(record.id, "w1", "rq-1") is not None
    assert status.claim(record.id, "w2", "rq-1") is None
    assert db.session.get(FileProcessingRecord, record.id).worker_name == "w1"


def test_a_claim_asked_again_by_the_same_job_is_still_its_own(job_with_files):
    """The commit landed but its answer was lost (connection cut): asking again must not
    strand the record as processing with nobody working on it."""
    _, (record, _) = job_with_files
    assert status.claim(record.id, "w1", "rq-1") is not None
    again = status.claim(record.id, "w1", "rq-1")
    assert again is not None and again.attempts == 1
    assert status.claim(record.id, "w1", "rq-2") is None
