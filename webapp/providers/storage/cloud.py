"""What the three cloud providers share: transfer settings, downloads to a temporary
directory (always removed) with a deadline, the files delivered beside a recording fetched
from the bucket, checksums in one comparable form, and scrubbing secrets out of messages
and logs."""

import base64
import binascii
import contextlib
import errno
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, TypeVar

from flask_babel import lazy_gettext as _l

from ... import outbound, redaction
from ...errors import CallbatchError, FileAccessError, SkipFile
from .base import MAX_COMPANION_BYTES, Companions, Field, StorageProvider, too_large

T = TypeVar("T")

CHUNK = 1024 * 1024
DEFAULT_TIMEOUT = 600
DEFAULT_DOWNLOADS = 4
MASK = redaction.MASK

TRANSFER_FIELDS = (
    Field(
        "max_downloads",
        _l("Downloads at once"),
        kind="number",
        default=DEFAULT_DOWNLOADS,
        help=_l("How many recordings of this folder are downloaded at the same time (1–32)."),
    ),
    Field(
        "download_timeout",
        _l("Download timeout (seconds)"),
        kind="number",
        default=DEFAULT_TIMEOUT,
        help=_l("A download that takes longer fails and is retried (10–7200)."),
    ),
)


def endpoint_problems(label: str, url: str) -> list[str]:
    """Validation messages for an endpoint URL the server may not call ([] when it may). A
    name that does not resolve now is let through: every connection is judged again."""
    try:
        outbound.check_url(url)
    except outbound.Unresolvable:
        return []
    except outbound.BlockedTarget as exc:
        return [f"{label}: {exc}"]
    return []


def url_problems(label: str, url: str, scheme: str = "it must start with http:// or https://.") -> list[str]:
    """Validation messages for a URL setting: its scheme (`scheme` says what to enter), then
    whether the server may call it. An empty one has none."""
    if not url:
        return []
    if not url.startswith(("http://", "https://")):
        return [f"{label}: {scheme}"]
    return endpoint_problems(label, url)


def name_problems(label: str, name: str, longest: int, allowed: str, rule: str) -> list[str]:
    """Validation messages for a bucket's or container's name: 3 to `longest` characters,
    lower-case letters, digits and the `allowed` punctuation (`rule` says so in words)."""
    what = label.lower()
    if not name:
        return [f"{label}: enter the {what}'s name."]
    if not 3 <= len(name) <= longest or not all(c.islower() or c.isdigit() or c in allowed for c in name):
        return [f"{label}: '{name}' is not a valid {what} name ({rule})."]
    return []


def refused(exc: outbound.BlockedTarget) -> FileAccessError:
    """The typed error for a connection the outbound guard refused."""
    return FileAccessError(f"The connection was refused: {exc}", code="TARGET_REFUSED")


def may_not_read(name: str, code: str) -> SkipFile:
    """The typed error for an object the folder's credentials may not read: it is skipped."""
    return SkipFile(f"The folder's credentials may not read {name} ({code}).", code="ACCESS_DENIED")


def validate_transfer(config: dict[str, Any]) -> list[str]:
    messages = []
    downloads = config.get("max_downloads", DEFAULT_DOWNLOADS)
    if not _whole(downloads) or not 1 <= int(downloads) <= 32:
        messages.append("Downloads at once: enter a whole number from 1 to 32.")
    timeout = config.get("download_timeout", DEFAULT_TIMEOUT)
    if not _whole(timeout) or not 10 <= int(timeout) <= 7200:
        messages.append("Download timeout: enter a whole number of seconds from 10 to 7200.")
    return messages


def _whole(value):
    return isinstance(value, int) and not isinstance(value, bool) or (isinstance(value, str) and value.isdigit())


def text(config: dict[str, Any] | None, name: str) -> str:
    value = (config or {}).get(name)
    return value.strip() if isinstance(value, str) else ""


def join_prefix(*parts: str | None) -> str:
    """Object-key prefixes joined with single slashes; '' for none."""
    joined = "/".join(p.strip("/") for p in parts if p and p.strip("/"))
    return joined + "/" if joined else ""


class Transfer:
    """Settings of a provider's downloads, read from its config."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.max_downloads = int(config.get("max_downloads") or DEFAULT_DOWNLOADS)
        self.timeout = int(config.get("download_timeout") or DEFAULT_TIMEOUT)


class CloudStorage(StorageProvider):
    """What the three cloud providers share: their config, prefix, download limits and
    secrets, Test connection, reading companions, and the outbound guard around every SDK
    call. A provider adds its bucket or container, its client, and: `where()`,
    `_first_page()` (what a one-item listing finds), `_fetch(name, local_path)` and
    `_sdk_error(exc, name)` (its SDK's failures as typed errors)."""

    items = "objects"  # what the service calls the files it holds, for Test connection's report

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = dict(config)
        self.prefix = join_prefix(text(config, "prefix"))
        self.transfer = Transfer(config)
        self.secrets = Secrets(config, self.secret_fields())
        self.pages_read = 0  # listing requests made (the paging tests count them)

    @property
    def max_downloads(self) -> int:
        return self.transfer.max_downloads

    # -- connection ----------------------------------------------------------------------

    def connect(self) -> None:
        """Check the bucket can be listed; raise a typed error saying why not."""
        self._first_page()

    def test_connection(self) -> dict[str, Any]:
        """Connect and look at the first page; a short report for the folder page."""
        if not self._first_page():
            return {"message": f"Connected to {self.where()}, but it holds no {self.items} yet.", "empty": True}
        return {"message": f"Connected to {self.where()}; {self.items} are there to scan.", "empty": False}

    # -- objects -------------------------------------------------------------------------

    def _call_unless_gone(self, action, name):
        """`_call(action, name)`, or None when the object `name` is not there."""
        try:
            return self._call(action, name)
        except FileAccessError as err:
            if err.code == "FILE_NOT_FOUND":
                return None
            raise

    @contextlib.contextmanager
    def download_file(self, path: str) -> Iterator[str]:
        """Stream the object to a temporary directory that is removed on exit; yields the
        recording's local path."""
        with download_dir(path) as local_path:
            self._fetch(path, local_path)
            yield local_path

    def companions_for(self, record_path: str) -> Companions:
        return Companions(self, record_path)

    def read_companion(self, key: str) -> bytes | None:
        """The bytes of the object `key` (delivered beside a recording), or None when the
        bucket has no such object. Always fetched from the bucket."""
        stored = self.stat(key)
        if stored is None:
            return None
        if stored.denied:
            raise SkipFile(stored.denied, code="ACCESS_DENIED")
        if stored.size > MAX_COMPANION_BYTES:
            raise too_large(key)
        with download_dir(key) as local_path:
            try:
                self._fetch(key, local_path)
            except FileAccessError as err:
                if err.code == "FILE_NOT_FOUND":
                    return None  # removed since it was looked up
                raise
            with open(local_path, "rb") as f:
                data = f.read(MAX_COMPANION_BYTES + 1)
        if len(data) > MAX_COMPANION_BYTES:
            raise too_large(key)
        return data

    # -- errors --------------------------------------------------------------------------

    def _call(self, action: Callable[[], T], name: str | None = None) -> T:
        """Run an SDK call under the outbound guard, turning its failures into the project's
        typed errors: the provider's own (`_sdk_error`), else a broken connection for an
        OSError. `name` is the object the call is about (None for the bucket itself)."""
        try:
            with outbound.guard():
                return action()
        except outbound.BlockedTarget as exc:
            raise refused(exc) from None
        except Exception as exc:
            error = self._sdk_error(exc, name)
            if error is None and isinstance(exc, OSError):
                error = FileAccessError(
                    f"The connection to {self._host()} broke.",
                    code="STORAGE_UNAVAILABLE",
                    details={"error": self.secrets.scrub(exc)},
                )
            if error is None:
                raise
            raise error from None

    def _host(self):
        """The service as a broken connection's message names it."""
        return "the bucket"


WORK_DIR_PREFIX = "callbatch-dl-"


def work_dir_prefix() -> str:
    """Names a download directory for its owner (host and process), so that a worker starting
    later can tell the leftovers of a killed one (batch.downloads.remove_stale_work_dirs)."""
    return f"{WORK_DIR_PREFIX}{socket.gethostname()}-{os.getpid()}-"


@contextlib.contextmanager
def download_dir(key: str) -> Iterator[str]:
    """A private temporary directory for one download; yields the local path for the
    object `key` and removes the directory whatever happens."""
    directory = tempfile.mkdtemp(prefix=work_dir_prefix())
    try:
        yield os.path.join(directory, os.path.basename(key) or "recording")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


@contextlib.contextmanager
def disk_full_on_no_space(local_path: str, what: str) -> Iterator[None]:
    """Turn a write that found the disk (or the quota) full into DISK_FULL, with the bytes
    written by then; any other OSError passes as it is."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in NO_SPACE:
            raise
        written = os.path.getsize(local_path) if os.path.exists(local_path) else 0
        raise CallbatchError(
            f"The worker's disk filled up while downloading {what}.",
            code="DISK_FULL",
            details={"written_bytes": written, "error": errno.errorcode[exc.errno]},
        ) from None


def write_chunks(local_path: str, chunks: Iterable[bytes], timeout: int, what: str) -> int:
    """Stream `chunks` into `local_path`, failing once the download runs past `timeout`."""
    deadline = time.monotonic() + timeout
    size = 0
    with disk_full_on_no_space(local_path, what), open(local_path, "wb") as f:
        for chunk in chunks:
            f.write(chunk)
            size += len(chunk)
            if time.monotonic() > deadline:
                raise too_slow(what, timeout)
    return size


def too_slow(what: str, timeout: int) -> FileAccessError:
    """The typed error for a download that ran past its `timeout` (it is retried)."""
    return FileAccessError(
        f"Downloading {what} took longer than {timeout} s; it is retried.",
        code="STORAGE_UNAVAILABLE",
        details={"timeout_seconds": timeout},
    )


class DeadlineWriter:
    """A file object for SDKs that write a download themselves: fails the download once it
    runs past `timeout` seconds."""

    def __init__(self, f: IO[bytes], timeout: int, what: str) -> None:
        self.f, self.timeout, self.what = f, timeout, what
        self.deadline = time.monotonic() + timeout

    def write(self, data: bytes) -> int:
        if time.monotonic() > self.deadline:
            raise too_slow(self.what, self.timeout)
        return self.f.write(data)

    def __getattr__(self, name):
        return getattr(self.f, name)


def is_placeholder(value: object) -> bool:
    """A secret a form sent back unchanged (masked) or a stored, sealed one."""
    return isinstance(value, str) and (value == MASK or value.startswith("enc:"))


def md5_checksum(hex_or_b64: str | bytes | bytearray | None) -> str | None:
    """'md5:<hex>' from a hex digest or a base64 one (GCS md5Hash, Azure Content-MD5)."""
    if not hex_or_b64:
        return None
    if isinstance(hex_or_b64, (bytes, bytearray)):
        return "md5:" + bytes(hex_or_b64).hex() if len(hex_or_b64) == 16 else None
    value = hex_or_b64.strip('"')
    if re.fullmatch(r"[0-9a-fA-F]{32}", value):
        return "md5:" + value.lower()
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return "md5:" + raw.hex() if len(raw) == 16 else None


class Secrets:
    """Secret values a provider holds, to scrub from any message it builds (webapp.redaction
    masks them in every stored text and log record of the process as well)."""

    def __init__(self, config: dict[str, Any], names: Iterable[str]) -> None:
        self.values = redaction.remember(config, names)

    def scrub(self, message: object) -> str:
        return redaction.redact(str(message))
