"""Old import paths, kept for jobs already queued under them and for code not yet moved: the
job functions live in webapp.tasks, the worker and scheduler in webapp.worker."""
