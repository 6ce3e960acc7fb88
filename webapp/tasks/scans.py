"""The scan of one folder."""

import logging

from .. import logging_setup
from ..batch import discovery
from ..extensions import db
from ..models import ExternalFolder

log = logging.getLogger("workers.tasks")  # the logger name the job log lines have always had


def scan_folder(folder_id, trigger="manual", user_id=None):
    with logging_setup.bound(folder=folder_id):
        folder = db.session.get(ExternalFolder, folder_id)
        if folder is None:
            return None
        result = discovery.scan(folder, trigger, user_id)
        log.info("scan of folder %s (%s): %d queued, %d skipped", folder_id, trigger, result.queued, result.skipped)
    return result.__dict__
