from .events import FileEventMonitor
from .polling import PollingMonitor

MONITORS = {"polling": PollingMonitor, "events": FileEventMonitor}
