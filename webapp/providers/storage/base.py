from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class StoredFile:
    """A file as a storage listing reports it: no content read yet."""

    path: str             # relative to the folder's root (or the object key)
    size: int
    modified: datetime
    checksum: str | None = None  # the service's content hash (ETag/MD5/CRC) where it gives one
    denied: str | None = None    # why Callbatch may not read it, when it may not

    @property
    def name(self):
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Field:
    """One setting of a provider, enough to draw its form field and check it."""

    name: str
    label: str
    kind: str = "text"      # text | number | bool | secret | select
    required: bool = False
    help: str = ""
    default: object = None
    choices: tuple = ()
