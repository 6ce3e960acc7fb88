"""Moved to webapp.worker."""

from webapp.worker import EmbeddedRuntime, SchedulerLoop, ThreadWorker, Worker, make_cron, make_worker  # noqa: F401
