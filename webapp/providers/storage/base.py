from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime

from ...errors import SkipFile

# Files a telephony system delivers beside a recording: its transcript, its metadata and the
# directory's manifest (see batch.validation.is_companion). They are read through the
# folder's storage provider, never by a path of their own.
TRANSCRIPT_SUFFIXES = (".json", ".txt")
METADATA_SUFFIX = ".meta.json"
MANIFEST = "manifest.csv"
MAX_COMPANION_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class StoredFile:
    """A file as a storage listing reports it: no content read yet."""

    path: str  # relative to the folder's root (or the object key)
    size: int
    modified: datetime
    checksum: str | None = None  # the service's content hash (ETag/MD5/CRC) where it gives one
    denied: str | None = None  # why Callbatch may not read it, when it may not
    denied_code: str = "ACCESS_DENIED"

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Field:
    """One setting of a provider, enough to draw its form field and check it."""

    name: str
    label: str
    kind: str = "text"  # text | number | bool | secret | select
    required: bool = False
    help: str = ""
    default: object = None
    choices: tuple = ()


class StorageProvider:
    """What every storage back end declares: its settings, as form fields."""

    fields = ()

    @classmethod
    def secret_fields(cls) -> list[str]:
        """The names of the settings stored encrypted and never shown."""
        return [f.name for f in cls.fields if f.kind == "secret"]


class Companions:
    """The files delivered beside one recording, asked of its folder's storage provider.

    `read(name)` gives the bytes of `name` in the recording's directory, or None when there
    is no such file; a file the provider refuses to read (a link leading out of the folder,
    anything but a regular file, over MAX_COMPANION_BYTES) raises SkipFile saying why."""

    def __init__(self, storage: StorageProvider | None, record_path: str) -> None:
        self.storage = storage
        directory, _, name = record_path.rpartition("/")
        self.directory = directory + "/" if directory else ""
        self.stem = os.path.splitext(name)[0]
        self._read = {}

    @classmethod
    def none(cls, record_path: str) -> Companions:
        """No companions at all (a recording analysed on its own)."""
        return cls(None, os.path.basename(record_path))

    def read(self, name: str) -> bytes | None:
        if self.storage is None:
            return None
        if name not in self._read:
            self._read[name] = self.storage.read_companion(self.directory + name)
        return self._read[name]


def too_large(path: str) -> SkipFile:
    return SkipFile(
        f"{path} is over {MAX_COMPANION_BYTES // (1024 * 1024)} MB, the most Callbatch reads of a "
        "file delivered beside a recording.",
        code="FILE_TOO_LARGE",
    )
