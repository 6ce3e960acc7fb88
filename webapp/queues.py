"""Redis connection and RQ queues.

Redis only carries work: a job says "look at record N"; the database holds the truth.
Embedded mode uses one in-process fakeredis server shared by every connection.
"""

from functools import lru_cache

import redis
from flask import current_app
from rq import Queue

FILES = "files"
SCANS = "scans"
NOTIFICATIONS = "notifications"
# A worker takes scans and notifications before files, so periodic work and alerts never
# wait behind a long queue of recordings.
ALL_QUEUES = (SCANS, NOTIFICATIONS, FILES)

# The job functions (webapp/tasks), by the name the code that queues them uses. The app
# factory registers them (`register_jobs`): that code sits in layers below webapp.tasks and
# never imports it, and RQ is still given the function itself.
JOBS = {}


def register_jobs(**functions):
    JOBS.update(functions)


def job(name):
    return JOBS[name]


@lru_cache(maxsize=None)
def _fake_server():
    import fakeredis

    return fakeredis.FakeServer()


def connect(url):
    if url:
        return redis.Redis.from_url(url)
    import fakeredis

    return fakeredis.FakeRedis(server=_fake_server())


def connection():
    ext = current_app.extensions
    if "callbatch_redis" not in ext:
        ext["callbatch_redis"] = connect(current_app.config["REDIS_URL"])
    return ext["callbatch_redis"]


def queue(name):
    prefix = current_app.config["QUEUE_PREFIX"]
    return Queue(f"{prefix}-{name}", connection=connection())


def queues():
    return [queue(name) for name in ALL_QUEUES]


def redis_key(*parts):
    """A key of the app's own (locks, limits, sightings), namespaced like the queues."""
    return ":".join([current_app.config["QUEUE_PREFIX"], *map(str, parts)])
