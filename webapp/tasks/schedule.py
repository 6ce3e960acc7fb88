"""The periodic tick, which the scheduler's RQ cron queues."""

from ..batch import schedule
from ..services import workers


def tick():
    workers.record_tick()  # "the scheduler's last tick" on the Workers page
    return schedule.tick()
