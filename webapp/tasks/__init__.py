"""The RQ job functions, one module per area of work. Each is a plain function: the worker
(webapp.worker) runs every job in a fresh app context of its app, with the log context of
the request that queued it. The app factory registers them in webapp.queues.JOBS, from
which the lower layers queue them."""

from . import files, notifications, scans, schedule, trackers

__all__ = ["files", "notifications", "scans", "schedule", "JOBS"]

JOBS = {
    "process_file": files.process_file,
    "scan_folder": scans.scan_folder,
    "dispatch_notifications": notifications.dispatch_notifications,
    "deliver_notification": notifications.deliver_notification,
    "recount_trackers": trackers.recount_trackers,
}
