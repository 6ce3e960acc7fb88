from .cloud_events import CloudEventMonitor
from .events import FileEventMonitor
from .polling import PollingMonitor
from .schedule import ScheduleMonitor

MONITORS = {
    "polling": PollingMonitor,
    "events": FileEventMonitor,
    "cloud_events": CloudEventMonitor,
    "schedule": ScheduleMonitor,
}
