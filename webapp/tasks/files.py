"""The per-file job."""

import logging

from rq import get_current_job

from .. import logging_setup
from ..batch import processing

log = logging.getLogger("workers.tasks")  # the logger name the job log lines have always had


def process_file(record_id):
    job = get_current_job()
    with logging_setup.bound(file=record_id):
        outcome = processing.process_file(
            record_id, rq_job_id=job.id if job else None, worker_name=job.worker_name if job else None
        )
        log.info("file %s: %s", record_id, outcome or "not ours to process")
    return outcome
