"""RQ job functions. Each one is thin: it opens an app context and calls the batch package."""
import functools
import logging

from flask import current_app, has_app_context
from rq import get_current_job

from webapp import create_app, logging_setup
from webapp.batch import discovery, processing, schedule
from webapp.extensions import db
from webapp.models import ExternalFolder

_app = None
log = logging.getLogger(__name__)


def use_app(app):
    """The worker process's app, created once (and the ASR model with it, once loaded)."""
    global _app
    _app = app


def _in_app_context(func, id_field=None):
    """Run each job in a fresh app context, so every job gets its own database session
    (and a failed job's broken session never leaks into the next one). Its log records carry
    the request id that enqueued it and the id it was given (its first argument, logged as
    `id_field`)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        global _app
        if _app is None:
            _app = current_app._get_current_object() if has_app_context() else create_app()
        job = get_current_job()
        token = logging_setup.bind(request_id=job.meta.get("request_id") if job else None,
                                   rq_job=job.id if job else None,
                                   **({id_field: args[0]} if id_field and args else {}))
        try:
            with _app.app_context():
                return func(*args, **kwargs)
        finally:
            logging_setup.unbind(token)

    return wrapper


@functools.partial(_in_app_context, id_field="file")
def process_file(record_id):
    job = get_current_job()
    worker_name = job.worker_name if job else None
    outcome = processing.process_file(record_id, rq_job_id=job.id if job else None, worker_name=worker_name)
    log.info("file %s: %s", record_id, outcome or "not ours to process")
    return outcome


@functools.partial(_in_app_context, id_field="folder")
def scan_folder(folder_id, trigger="manual", user_id=None):
    folder = db.session.get(ExternalFolder, folder_id)
    if folder is None:
        return None
    result = discovery.scan(folder, trigger, user_id)
    log.info("scan of folder %s (%s): %d queued, %d skipped", folder_id, trigger, result.queued, result.skipped)
    return result.__dict__


@_in_app_context
def tick():
    from webapp.services import workers

    workers.record_tick()  # "the scheduler's last tick" on the Workers page
    return schedule.tick()


@_in_app_context
def dispatch_notifications(events):
    from webapp.notifications import dispatch

    return len(dispatch.dispatch(events))


@_in_app_context
def deliver_notification(delivery_id):
    from webapp.notifications import dispatch

    return dispatch.deliver(delivery_id)


@_in_app_context
def recount_trackers(tracker_ids=None):
    from webapp.services import trackers

    return trackers.recount(tracker_ids)
