"""The worker and scheduler processes (`flask worker`, `flask scheduler`), and the embedded
runtime that runs both as threads beside the web app when there is no Redis server. The job
functions they run live in webapp.tasks."""

import logging
import os
import signal
import threading
import time

import flask_migrate
from rq import SimpleWorker
from rq.cron import CronScheduler
from rq.scheduler import RQScheduler
from rq.timeouts import TimerDeathPenalty

from . import logging_setup, queues
from .batch import downloads, enqueue, faults, schedule
from .errors import WorkerStopping
from .extensions import db
from .providers.monitors.events import Watchers
from .services import workers as worker_stats
from .tasks import files
from .tasks import schedule as schedule_tasks

log = logging.getLogger(__name__)

# RQ names a job by its function's path; a file job queued before the jobs moved to webapp.tasks
# still carries the old one (the shim in workers/tasks.py runs it).
FILE_JOBS = {f"{files.process_file.__module__}.{files.process_file.__qualname__}", "workers.tasks.process_file"}


class Worker(SimpleWorker):
    """Runs jobs in its own process, without forking: the app and the ASR model are loaded
    once per worker process and reused for every file (forking after native thread pools
    start can hang the child, and a fork per job costs more than the work it saves).

    RQ beats a non-forking worker's heartbeat only when a job starts; this one keeps beating
    every CALLBATCH_HEARTBEAT_SECONDS while the job runs, so the reaper can tell a started
    job of a live worker from one whose worker was killed (enqueue.live_job_ids).

    Stopping: on SIGTERM (or SIGINT) it takes no more work; a file in progress gets
    `grace_seconds` to finish, after which (or on a second signal) it is handed back to the
    queue (processing.WorkerStopping) and the worker exits. After each file it also stops by
    itself once it has processed `max_files` files or its resident memory passed
    `max_rss_mb`, so that its process manager starts a fresh one.

    Every job runs in a fresh app context of `app` (its own database session: a failed job's
    broken session never leaks into the next one), logging the request id that queued it and
    its RQ job id."""

    beat_seconds = 10  # make_worker sets these from the app's settings
    grace_seconds = 50
    max_files = 0
    max_rss_mb = 0

    def __init__(self, *args, app=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.app = app
        self.files_done = 0
        self.in_file = False
        self.grace_timer = None

    def execute_job(self, job, queue):
        is_file = job.func_name in FILE_JOBS
        if is_file:
            faults.pause_at("dequeued")
        stop = threading.Event()
        beat = threading.Thread(
            target=self._beat_while_running, args=(job, stop), daemon=True, name=f"rq-heartbeat-{self.name}"
        )
        beat.start()
        self.in_file = is_file
        try:
            super().execute_job(job, queue)
        finally:
            self.in_file = False
            stop.set()
            beat.join()
        if is_file:
            self.files_done += 1
            self._stop_if_over_limits()

    def perform_job(self, job, queue, execution):
        with logging_setup.bound(request_id=job.meta.get("request_id"), rq_job=job.id), self.app.app_context():
            return super().perform_job(job, queue, execution)

    def _stop_if_over_limits(self):
        reason = None
        if self.max_files and self.files_done >= self.max_files:
            reason = f"it processed {self.files_done} files (CALLBATCH_WORKER_MAX_FILES={self.max_files})"
        elif self.max_rss_mb and (rss := resident_mb()) > self.max_rss_mb:
            reason = f"its memory reached {rss:.0f} MB (CALLBATCH_WORKER_MAX_RSS_MB={self.max_rss_mb})"
        if reason and not self._stop_requested:
            log.warning("worker %s stops for a fresh process: %s", self.name, reason)
            self._stop_requested = True  # as RQ's own warm shutdown: the work loop ends before the next job

    def request_stop(self, signum, frame):
        """First SIGTERM: RQ's warm shutdown (stop after the current job), bounded by the grace
        period for a file in progress."""
        signal.signal(signal.SIGUSR1, self._hand_back_now)
        if self.in_file and self.grace_timer is None:
            log.warning(
                "worker %s: stop requested; the file in progress has %s s to finish", self.name, self.grace_seconds
            )
            self.grace_timer = threading.Timer(self.grace_seconds, os.kill, (os.getpid(), signal.SIGUSR1))
            self.grace_timer.daemon = True
            self.grace_timer.start()
        super().request_stop(signum, frame)

    def request_force_stop(self, signum, frame):
        """A second signal hands the file in progress back at once (RQ would just exit)."""
        if self.in_file:
            self._hand_back_now(signum, frame)
        super().request_force_stop(signum, frame)

    def _hand_back_now(self, signum, frame):
        if self.in_file:
            raise WorkerStopping()

    def teardown(self):
        if self.grace_timer is not None:
            self.grace_timer.cancel()
        super().teardown()

    def prepare_job_execution(self, job, remove_from_intermediate_queue=False):
        super().prepare_job_execution(job, remove_from_intermediate_queue)
        if job.func_name in FILE_JOBS:
            faults.pause_at("started")

    def _beat_while_running(self, job, stop):
        while not stop.wait(self.beat_seconds):
            try:
                self.heartbeat(self.get_heartbeat_ttl(job))
            except Exception:  # a missed beat is harmless; a long silence lets the reaper step in
                log.warning("worker heartbeat failed", exc_info=True)

    def heartbeat(self, timeout=None, pipeline=None):
        super().heartbeat(timeout, pipeline)
        worker_stats.publish(self.connection, self.name, timeout or self.worker_ttl + 60)  # for the Workers page


class ThreadWorker(Worker):
    """A worker in a background thread (embedded mode): no signals, timer-based timeouts."""

    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self):
        pass

    def _stop_if_over_limits(self):
        pass  # a thread has no process manager to start a fresh one

    def dequeue_job_and_maintain_ttl(self, timeout, max_idle_time=None):
        """Wait for a job in one-second steps, so a stop request ends the thread promptly
        (None ends RQ's work loop)."""
        while not self._stop_requested:
            result = super().dequeue_job_and_maintain_ttl(1, max_idle_time=1)
            if result is not None:
                return result
        return None


def make_worker(app, worker_class=Worker, name=None):
    with app.app_context():
        worker = worker_class(queues.queues(), connection=queues.connection(), name=name, app=app)
        downloads.remove_stale_work_dirs(app.config["FILE_JOB_TIMEOUT"])
    worker.beat_seconds = app.config["HEARTBEAT_SECONDS"]
    worker.grace_seconds = app.config["WORKER_GRACE_SECONDS"]
    worker.max_files = app.config["WORKER_MAX_FILES"]
    worker.max_rss_mb = app.config["WORKER_MAX_RSS_MB"]
    return worker


def resident_mb():
    """This process's resident memory in MB (Linux: /proc/self/statm)."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def make_cron(app):
    with app.app_context():
        cron = CronScheduler(connection=queues.connection(), name=f"{app.config['QUEUE_PREFIX']}-cron")
        cron.register(
            schedule_tasks.tick,
            queues.queue(queues.SCANS).name,
            interval=app.config["TICK_SECONDS"],
            job_timeout=600,
            result_ttl=60,
        )
    return cron


class SchedulerLoop:
    """The scheduler process's loop: the periodic tick (through RQ's cron: reaper, due scans,
    waiting files whose processing window opened), file-event watchers for local folders
    (those inotify cannot serve are polled instead, with a warning on the folder), and the
    release of due delayed jobs (retries). Two loops running by mistake queue each scan
    once (see webapp.batch.schedule). Workers
    release those too (`--with-scheduler`), but a killed worker keeps RQ's scheduler lock
    for up to two minutes; releasing a due job twice is harmless."""

    def __init__(self, app):
        self.app = app
        self.cron = make_cron(app)
        self.watchers = Watchers()
        with app.app_context():
            self.delayed = RQScheduler([queues.queue(q) for q in queues.ALL_QUEUES], connection=queues.connection())
        self.stopping = threading.Event()

    def run(self):
        last_sync = 0.0
        while not self.stopping.is_set():
            try:
                with self.app.app_context():
                    self.cron.enqueue_jobs()
                    self.delayed.enqueue_scheduled_jobs()
                    if time.monotonic() - last_sync >= self.app.config["TICK_SECONDS"]:
                        schedule.note_watch_fallbacks(self.watchers.sync(schedule.event_folders()))
                        last_sync = time.monotonic()
                    else:
                        self.watchers.check()  # a directory back after its mount dropped is watched again
                    for folder_id in self.watchers.quiet_changed():
                        enqueue.scan(folder_id, "events")
                    db.session.remove()
            except Exception:
                log.exception("scheduler loop iteration failed; continuing")
            self.stopping.wait(1.0)
        self.watchers.stop()

    def stop(self):
        self.stopping.set()


class EmbeddedRuntime:
    """In-process worker threads and the scheduler loop, for the embedded default."""

    def __init__(self, app, workers=1):
        self.app = app
        if app.config["EMBEDDED"]:
            with app.app_context():
                flask_migrate.upgrade()  # the embedded database is created and kept current on start
        self.workers = [make_worker(app, ThreadWorker, name=f"embedded-{i}") for i in range(workers)]
        self.scheduler = SchedulerLoop(app)
        self.threads = []

    def start(self):
        for worker in self.workers:
            thread = threading.Thread(
                target=worker.work, kwargs={"logging_level": "WARNING"}, daemon=True, name=worker.name
            )
            thread.start()
            self.threads.append(thread)
        thread = threading.Thread(target=self.scheduler.run, daemon=True, name="embedded-scheduler")
        thread.start()
        self.threads.append(thread)
        return self

    def stop(self, wait_seconds=30):
        """Stop every thread after its current job, waiting up to `wait_seconds` for them."""
        self.scheduler.stop()
        for worker in self.workers:
            worker._stop_requested = True
        deadline = time.monotonic() + wait_seconds
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
