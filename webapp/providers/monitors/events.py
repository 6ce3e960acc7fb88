"""Scan a local folder as soon as files appear in it (inotify through watchdog).

Events arrive in bursts while a file is copied; they are debounced so one quiet moment
after the burst triggers one scan."""
import os
import threading
import time

from watchdog.events import FileSystemEventHandler
from watchdog.observers import Observer

DEBOUNCE_SECONDS = 2.0


class FileEventMonitor:
    type = "events"
    label = "Scan as soon as files arrive (local folders)"

    @classmethod
    def validate_config(cls, folder_config):
        if folder_config.get("storage_type") != "local":
            return ["Instant file events work only for local folders; use polling for cloud storage."]
        return []

    @staticmethod
    def is_due(folder, now):
        return False  # scans come from file events, not from the clock


class _Changes(FileSystemEventHandler):
    def __init__(self):
        self.last_event = None
        self.lock = threading.Lock()

    def on_any_event(self, event):
        if event.event_type in ("created", "modified", "moved", "closed"):
            with self.lock:
                self.last_event = time.monotonic()

    def take_if_quiet(self, quiet_seconds):
        with self.lock:
            if self.last_event is not None and time.monotonic() - self.last_event >= quiet_seconds:
                self.last_event = None
                return True
            return False


class Watchers:
    """The set of watched folders, kept in step with the folders configured for events."""

    def __init__(self, debounce=DEBOUNCE_SECONDS):
        self.observer = None
        self.debounce = debounce
        self.watched = {}  # folder id → (path, watch, changes)

    def sync(self, folders):
        """Watch exactly these (id, path) pairs."""
        wanted = {folder_id: path for folder_id, path in folders if os.path.isdir(path)}
        if wanted and self.observer is None:
            self.observer = Observer()
            self.observer.daemon = True
            self.observer.start()
        for folder_id in list(self.watched):
            if wanted.get(folder_id) != self.watched[folder_id][0]:
                self.observer.unschedule(self.watched.pop(folder_id)[1])
        for folder_id, path in wanted.items():
            if folder_id not in self.watched:
                changes = _Changes()
                watch = self.observer.schedule(changes, path, recursive=True)
                self.watched[folder_id] = (path, watch, changes)

    def quiet_changed(self):
        """Folder ids whose burst of events has ended since the last call."""
        return [fid for fid, (_p, _w, changes) in self.watched.items() if changes.take_if_quiet(self.debounce)]

    def stop(self):
        if self.observer is not None:
            self.observer.stop()
            self.observer.join(timeout=5)
            self.observer = None
        self.watched.clear()
