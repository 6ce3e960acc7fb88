"""A local folder scanned for real, and what the worker processes made of its files:
records counted, a file caught in processing, a failure recorded, each file completed once."""

import sqlalchemy as sa

from tests.support.helpers import wait_for
from webapp.batch import discovery, reaper, status
from webapp.batch import folder_config as folders
from webapp.extensions import db
from webapp.models import FileEvent, FileProcessingRecord, SalesCall

FPR = FileProcessingRecord


def count(*where):
    """How many file records match `where`, read afresh."""
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(FPR).where(*where))


def scan(path):
    """Scan the local folder at `path` (registered on first use) as a scheduled scan would."""
    return discovery.scan(folders.local_folder_for(str(path)), trigger="test")


def file_in_processing(worker_name, timeout=60):
    """The id of a file the worker `worker_name` is processing, as soon as there is one."""
    return wait_for(
        lambda: (
            db.session.scalar(
                sa.select(FPR.id)
                .where(FPR.status == status.PROCESSING, FPR.worker_name == worker_name)
                .execution_options(populate_existing=True)
            )
            or db.session.rollback()
        ),
        timeout=timeout,
        interval=0.002,
        message="a file in processing",
    )


def wait_until_failure_recorded(file_id, timeout):
    """Wait until the worker itself has moved the file out of processing."""
    wait_for(
        lambda: (
            db.session.get(FPR, file_id, populate_existing=True).status != status.PROCESSING or db.session.rollback()
        ),
        timeout=timeout,
        message="the worker to record the failure",
    )


def reap_until_completed(total, timeout, interval, message):
    """Run the reaper, as the scheduler's tick does, until `total` files are completed."""

    def reaped_and_done():
        reaper.reap()
        return count(FPR.status == status.COMPLETED) == total

    wait_for(reaped_and_done, timeout=timeout, interval=interval, message=message)


def assert_each_completed_once(total):
    db.session.rollback()
    assert count(FPR.status == status.COMPLETED) == total, "every file completed, none stuck"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SalesCall)) == total
    calls = db.session.execute(sa.select(SalesCall.file_id, sa.func.count()).group_by(SalesCall.file_id)).all()
    assert len(calls) == total and all(n == 1 for _, n in calls), "one sales call per file"
    completions = db.session.execute(
        sa.select(FileEvent.file_id, sa.func.count())
        .where(FileEvent.to_status == status.COMPLETED)
        .group_by(FileEvent.file_id)
    ).all()
    assert len(completions) == total and all(n == 1 for _, n in completions)
