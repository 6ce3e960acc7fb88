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

from flask_babel import lazy_gettext as _l

from ... import outbound, redaction
from ...errors import CallbatchError, FileAccessError, SkipFile
from .base import MAX_COMPANION_BYTES, Companions, Field, StorageProvider, too_large

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


def endpoint_problems(label, url):
    """Validation messages for an endpoint URL the server may not call ([] when it may). A
    name that does not resolve now is let through: every connection is judged again."""
    try:
        outbound.check_url(url)
    except outbound.Unresolvable:
        return []
    except outbound.BlockedTarget as exc:
        return [f"{label}: {exc}"]
    return []


def url_problems(label, url, scheme="it must start with http:// or https://."):
    """Validation messages for a URL setting: its scheme (`scheme` says what to enter), then
    whether the server may call it. An empty one has none."""
    if not url:
        return []
    if not url.startswith(("http://", "https://")):
        return [f"{label}: {scheme}"]
    return endpoint_problems(label, url)


def name_problems(label, name, longest, allowed, rule):
    """Validation messages for a bucket's or container's name: 3 to `longest` characters,
    lower-case letters, digits and the `allowed` punctuation (`rule` says so in words)."""
    what = label.lower()
    if not name:
        return [f"{label}: enter the {what}'s name."]
    if not 3 <= len(name) <= longest or not all(c.islower() or c.isdigit() or c in allowed for c in name):
        return [f"{label}: '{name}' is not a valid {what} name ({rule})."]
    return []


def refused(exc):
    """The typed error for a connection the outbound guard refused."""
    return FileAccessError(f"The connection was refused: {exc}", code="TARGET_REFUSED")


def validate_transfer(config):
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


def text(config, name):
    value = (config or {}).get(name)
    return value.strip() if isinstance(value, str) else ""


def join_prefix(*parts):
    """Object-key prefixes joined with single slashes; '' for none."""
    joined = "/".join(p.strip("/") for p in parts if p and p.strip("/"))
    return joined + "/" if joined else ""


class Transfer:
    """Settings of a provider's downloads, read from its config."""

    def __init__(self, config):
        self.max_downloads = int(config.get("max_downloads") or DEFAULT_DOWNLOADS)
        self.timeout = int(config.get("download_timeout") or DEFAULT_TIMEOUT)


class CloudStorage(StorageProvider):
    """What the three cloud providers share: their config, prefix, download limits and
    secrets. A provider adds its bucket or container and its client."""

    def __init__(self, config):
        self.config = dict(config)
        self.prefix = join_prefix(text(config, "prefix"))
        self.transfer = Transfer(config)
        self.secrets = Secrets(config, self.secret_fields())
        self.pages_read = 0  # listing requests made (the paging tests count them)

    @property
    def max_downloads(self):
        return self.transfer.max_downloads

    @contextlib.contextmanager
    def download_file(self, path):
        """Stream the object to a temporary directory that is removed on exit; yields the
        recording's local path."""
        with download_dir(path) as local_path:
            self._fetch(path, local_path)
            yield local_path

    def companions_for(self, record_path):
        return Companions(self, record_path)

    def read_companion(self, key):
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


WORK_DIR_PREFIX = "callbatch-dl-"


def work_dir_prefix():
    """Names a download directory for its owner (host and process), so that a worker starting
    later can tell the leftovers of a killed one (batch.downloads.remove_stale_work_dirs)."""
    return f"{WORK_DIR_PREFIX}{socket.gethostname()}-{os.getpid()}-"


@contextlib.contextmanager
def download_dir(key):
    """A private temporary directory for one download; yields the local path for the
    object `key` and removes the directory whatever happens."""
    directory = tempfile.mkdtemp(prefix=work_dir_prefix())
    try:
        yield os.path.join(directory, os.path.basename(key) or "recording")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


@contextlib.contextmanager
def disk_full_on_no_space(local_path, what):
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


def write_chunks(local_path, chunks, timeout, what):
    """Stream `chunks` into `local_path`, failing once the download runs past `timeout`."""
    deadline = time.monotonic() + timeout
    size = 0
    with disk_full_on_no_space(local_path, what), open(local_path, "wb") as f:
        for chunk in chunks:
            f.write(chunk)
            size += len(chunk)
            if time.monotonic() > deadline:
                raise FileAccessError(
                    f"Downloading {what} took longer than {timeout} s; it is retried.",
                    code="STORAGE_UNAVAILABLE",
                    details={"timeout_seconds": timeout},
                )
    return size


class DeadlineWriter:
    """A file object for SDKs that write a download themselves: fails the download once it
    runs past `timeout` seconds."""

    def __init__(self, f, timeout, what):
        self.f, self.timeout, self.what = f, timeout, what
        self.deadline = time.monotonic() + timeout

    def write(self, data):
        if time.monotonic() > self.deadline:
            raise FileAccessError(
                f"Downloading {self.what} took longer than {self.timeout} s; it is retried.",
                code="STORAGE_UNAVAILABLE",
                details={"timeout_seconds": self.timeout},
            )
        return self.f.write(data)

    def __getattr__(self, name):
        return getattr(self.f, name)


def is_placeholder(value):
    """A secret a form sent back unchanged (masked) or a stored, sealed one."""
    return isinstance(value, str) and (value == MASK or value.startswith("enc:"))


def md5_checksum(hex_or_b64):
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

    def __init__(self, config, names):
        self.values = redaction.remember(config, names)

    def scrub(self, message):
        return redaction.redact(str(message))
