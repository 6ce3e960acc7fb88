"""Scan a local folder as soon as files appear in it (inotify through watchdog).

Events arrive in bursts while a file is copied; they are debounced so one quiet moment
after the burst triggers one scan. A watched directory that disappears (a network mount
dropping) is watched again once it is back, and scanned then. Where inotify cannot serve
a folder (a network file system, whose changes made by other machines raise no events,
or inotify refusing the watch) the folder is polled at its scan interval instead, with a
warning kept on the folder."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from watchdog.events import FileSystemEventHandler
from watchdog.observers import Observer

from .polling import PollingMonitor

if TYPE_CHECKING:
    from ...models import ExternalFolder

DEBOUNCE_SECONDS = 2.0
NETWORK_FILE_SYSTEMS = {
    "nfs",
    "nfs4",
    "cifs",
    "smb3",
    "smbfs",
    "9p",
    "ceph",
    "glusterfs",
    "fuse.glusterfs",
    "fuse.sshfs",
    "fuse.s3fs",
    "fuse.rclone",
    "afs",
    "lustre",
    "gpfs",
    "beegfs",
    "davfs",
}
MOUNTS = "/proc/self/mountinfo"


class FileEventMonitor:
    type = "events"
    label = _l("Scan as soon as files arrive (local folders)")
    stamp = "last_polled_at"
    trigger = "monitor"
    needs_auto_start = True

    @classmethod
    def validate_config(cls, folder_config: dict[str, Any]) -> list[str]:
        if folder_config.get("storage_type") != "local":
            return ["Instant file events work only for local folders; use polling for cloud storage."]
        return []

    @staticmethod
    def is_due(folder: ExternalFolder, now: datetime) -> bool:
        """Scans come from file events, not from the clock, unless the folder fell back to polling."""
        return bool(folder.monitor_warning) and PollingMonitor.is_due(folder, now)


class _Changes(FileSystemEventHandler):
    def __init__(self, root):
        self.root = root
        self.last_event = None
        self.lost = False  # the watched directory itself was deleted or moved away
        self.lock = threading.Lock()

    def on_any_event(self, event):
        if event.src_path == self.root and event.event_type in ("deleted", "moved"):
            self.lost = True
        if event.event_type in ("created", "modified", "moved", "closed"):
            self.touch()

    def touch(self):
        with self.lock:
            self.last_event = time.monotonic()

    def take_if_quiet(self, quiet_seconds):
        with self.lock:
            if self.last_event is not None and time.monotonic() - self.last_event >= quiet_seconds:
                self.last_event = None
                return True
            return False


@dataclass
class _Watch:
    path: str
    identity: tuple  # (device, inode) of the directory when the watch was set
    handle: object  # watchdog's ObservedWatch
    changes: _Changes = field(repr=False)


class Watchers:
    """The set of watched folders, kept in step with the folders configured for events."""

    def __init__(self, debounce: float = DEBOUNCE_SECONDS, mounts: str = MOUNTS) -> None:
        self.observer = None
        self.debounce = debounce
        self.mounts = mounts  # the mount table that tells a network file system
        self.wanted = {}  # folder id → path
        self.watched = {}  # folder id → _Watch
        self.fallback = {}  # folder id → why it is polled instead
        self.gone = set()  # folder ids whose directory is missing: scanned once it is back

    def sync(self, folders: Iterable[tuple[int, str]]) -> dict[int, str]:
        """Watch exactly these (id, path) pairs. Returns {folder id: warning} for the folders
        polled instead of watched."""
        self.wanted = dict(folders)
        for folder_id in list(self.watched):
            if self.wanted.get(folder_id) != self.watched[folder_id].path:
                self._drop(folder_id)
        self.fallback = {}  # looked at afresh: a refused watch is tried again
        self.gone &= set(self.wanted)
        self.check()
        return dict(self.fallback)

    def check(self) -> None:
        """Set up the watches that are missing: new folders, and directories that came back
        (or were replaced) since their watch was set."""
        for folder_id, path in self.wanted.items():
            identity = _identity(path)
            watch = self.watched.get(folder_id)
            if watch and watch.identity == identity and not watch.changes.lost:
                continue
            if watch:
                self._drop(folder_id)
            if identity is None:
                self.gone.add(folder_id)
                continue
            if folder_id in self.fallback:
                continue
            self._watch(folder_id, path, identity)

    def _watch(self, folder_id, path, identity):
        file_system = file_system_of(path, self.mounts)
        if file_system in NETWORK_FILE_SYSTEMS:
            self.fallback[folder_id] = (
                f"{path} is on a network file system ({file_system}), where file events "
                "are not delivered; the folder is polled at its scan interval instead."
            )
            return
        changes = _Changes(path)
        try:
            if self.observer is None:
                observer = Observer()
                observer.daemon = True
                observer.start()
                self.observer = observer
            handle = self.observer.schedule(changes, path, recursive=True)
        except OSError as err:
            self.fallback[folder_id] = (
                f"File events are not available for {path} ({err.strerror or err}); "
                "the folder is polled at its scan interval instead."
            )
            return
        self.watched[folder_id] = _Watch(path, identity, handle, changes)
        if folder_id in self.gone:  # files may have arrived while it was away
            self.gone.discard(folder_id)
            changes.touch()

    def _drop(self, folder_id):
        watch = self.watched.pop(folder_id)
        try:
            self.observer.unschedule(watch.handle)
        except KeyError:  # watchdog already dropped the watch of a deleted directory
            pass

    def quiet_changed(self) -> list[int]:
        """Folder ids whose burst of events has ended since the last call."""
        return [fid for fid, watch in self.watched.items() if watch.changes.take_if_quiet(self.debounce)]

    def stop(self) -> None:
        if self.observer is not None:
            self.observer.stop()
            self.observer.join(timeout=5)
            self.observer = None
        self.watched.clear()


def _identity(path):
    try:
        info = os.stat(path)
    except OSError:  # gone, or a dropped mount answering ESTALE / EIO
        return None
    return (info.st_dev, info.st_ino) if os.path.isdir(path) else None


def file_system_of(path: str, mounts: str = MOUNTS) -> str | None:
    """The file system type of the mount holding `path` (from the kernel's mount table)."""
    real = os.path.realpath(path)
    best, kind = "", None
    try:
        with open(mounts, encoding="utf-8", errors="replace") as table:
            for line in table:
                fields = line.split()
                if " - " not in line or len(fields) < 5:
                    continue
                point = _unescape(fields[4])
                after = line.split(" - ", 1)[1].split()
                inside = real == point or real.startswith(point.rstrip("/") + "/")
                if inside and len(point) >= len(best) and after:
                    best, kind = point, after[0]
    except OSError:
        return None
    return kind


def _unescape(text):
    """Mount points in the table escape space, tab, newline and backslash as octal."""
    return text.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")
