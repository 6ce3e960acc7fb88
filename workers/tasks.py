"""Jobs queued before the job functions moved to webapp.tasks name them here."""

from webapp.tasks.files import process_file  # noqa: F401
from webapp.tasks.notifications import deliver_notification, dispatch_notifications  # noqa: F401
from webapp.tasks.scans import scan_folder  # noqa: F401
from webapp.tasks.schedule import tick  # noqa: F401
from webapp.tasks.trackers import recount_trackers  # noqa: F401
