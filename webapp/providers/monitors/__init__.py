from .cloud_events import CloudEventMonitor
from .events import FileEventMonitor
from .polling import PollingMonitor

MONITORS = {"polling": PollingMonitor, "events": FileEventMonitor, "cloud_events": CloudEventMonitor}
