"""Recordings on a local or mounted (NFS/SMB) directory.

Everything read from the directory (recordings and the files delivered beside them) is
opened here, with one confinement: the resolved path lies inside the folder's root, the
file is a regular file (checked on the opened descriptor, so a swap after the check is
caught), and nothing else is ever opened (a FIFO would block the reader). The root itself
must be allowed (see refusal)."""

import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l

from ...errors import FileAccessError, SkipFile
from .base import MAX_COMPANION_BYTES, Companions, Field, StorageProvider, StoredFile, too_large

ROOTS_VARIABLE = "CALLBATCH_LOCAL_ROOTS"
SYSTEM_DIRECTORIES = ("/etc", "/proc", "/sys", "/dev", "/root")
# Never blocks on a FIFO; never follows a link put in place after the path was resolved.
OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
OPEN_FILES = "/proc/self/fd"


class LocalStorage(StorageProvider):
    type = "local"
    label = _l("Local or mounted directory")
    fields = (
        Field("path", _l("Directory"), required=True, help=_l("Absolute path of the folder to watch.")),
        Field("recursive", _l("Include subfolders"), kind="bool", default=True),
    )

    def __init__(self, config: dict[str, Any]) -> None:
        self.path = config["path"]
        self.root = os.path.realpath(config["path"])
        self.recursive = config.get("recursive", True)
        self._root_refused = None

    @classmethod
    def validate_config(cls, config: dict[str, Any] | None) -> list[str]:
        path = (config or {}).get("path")
        if not path or not isinstance(path, str):
            return ["Directory: enter the absolute path of the folder."]
        if not os.path.isabs(path):
            return [f"Directory: '{path}' is not an absolute path."]
        problem = refusal(path)
        return [f"Directory: {problem}"] if problem else []

    def connect(self) -> None:
        """Check the folder may and can be listed; raise a typed error saying why not."""
        self._check_root()
        if not os.path.exists(self.root):
            raise FileAccessError(f"The directory {self.root} does not exist.", code="FILE_NOT_FOUND")
        if not os.path.isdir(self.root):
            raise FileAccessError(f"{self.root} is not a directory.", code="FILE_NOT_FOUND")
        if not os.access(self.root, os.R_OK | os.X_OK):
            raise FileAccessError(f"Callbatch may not read the directory {self.root}.", code="ACCESS_DENIED")

    def _check_root(self):
        """A folder saved before its root was refused, or whose root became a link to
        somewhere refused, is not read. Checked once per provider: one is built for each
        scan and each file."""
        if self._root_refused is None:
            self._root_refused = refusal(self.path) or ""
        if self._root_refused:
            raise FileAccessError(self._root_refused, code="ACCESS_DENIED")

    # -- listing -------------------------------------------------------------------------

    def list_files(self, prefix: str = "") -> Iterator[StoredFile]:
        self.connect()
        start = self._confined(prefix) if prefix else self.root
        relative = os.path.relpath(start, self.root).replace(os.sep, "/")
        yield from self._walk(start, "" if relative == "." else relative + "/")

    def _walk(self, directory, relative):
        """The files under `directory`, whose path relative to the root is `relative`."""
        try:
            entries = list(os.scandir(directory))
        except OSError:
            return  # unreadable, or gone since it was listed
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if self.recursive:
                    yield from self._walk(entry.path, relative + entry.name + "/")
                continue
            stored = self._stored(entry, relative + entry.name)
            if stored is not None:
                yield stored

    def _stored(self, entry, relative):
        """The listing's entry for a directory entry; None for what is not there to read
        (removed meanwhile, a dangling link, a link loop, a link to a directory)."""
        try:
            own = entry.stat(follow_symlinks=False)
        except OSError:
            return None
        modified = datetime.fromtimestamp(own.st_mtime, timezone.utc)
        shown = readable(relative)
        if shown != relative:
            return StoredFile(
                shown,
                own.st_size,
                modified,
                denied_code="INVALID_FILENAME",
                denied=f"The name '{shown}' is not valid UTF-8 text; rename the file to its call's UUID.",
            )
        target = own
        if entry.is_symlink():
            if not self._inside(os.path.realpath(entry.path)):
                return StoredFile(relative, 0, modified, denied=leads_out(relative))
            try:
                target = entry.stat()
            except OSError:
                return None
        if stat.S_ISDIR(target.st_mode):
            return None
        if not stat.S_ISREG(target.st_mode):
            return StoredFile(relative, 0, modified, denied=not_regular(relative, target))
        denied = None if os.access(entry.path, os.R_OK) else f"File permissions do not let Callbatch read {relative}."
        return StoredFile(relative, target.st_size, modified, denied=denied)

    # -- reading -------------------------------------------------------------------------

    @contextlib.contextmanager
    def download_file(self, path: str) -> Iterator[str]:
        """Local files are read in place. Yields a path that opens the very file checked
        here (a link, in a private directory, to the open descriptor), so nothing that
        reads the recording afterwards can be sent to another file."""
        self._check_root()
        fd = self._open_regular(path)
        try:
            if not os.path.isdir(OPEN_FILES):
                yield self._confined(path)
                return
            directory = tempfile.mkdtemp(prefix="callbatch-file-")
            try:
                pinned = os.path.join(directory, os.path.basename(path) or "recording")
                os.symlink(f"{OPEN_FILES}/{fd}", pinned)
                yield pinned
            finally:
                shutil.rmtree(directory, ignore_errors=True)
        finally:
            os.close(fd)

    def local_path(self, path: str) -> str:
        """The real path of the recording `path`, checked like a download (for streaming it
        in place)."""
        self._check_root()
        os.close(self._open_regular(path))
        return self._confined(path)

    def companions_for(self, record_path: str) -> Companions:
        return Companions(self, record_path)

    def read_companion(self, path: str) -> bytes | None:
        """The bytes of a file delivered beside a recording, or None when there is none."""
        self._check_root()
        try:
            fd = self._open_regular(path)
        except FileAccessError as err:
            if err.code == "FILE_NOT_FOUND":
                return None
            raise
        with os.fdopen(fd, "rb") as f:
            data = f.read(MAX_COMPANION_BYTES + 1)
        if len(data) > MAX_COMPANION_BYTES:
            raise too_large(path)
        return data

    def _open_regular(self, path):
        """A read-only descriptor of the regular file `path` inside the root. SkipFile
        (ACCESS_DENIED) for a link leading out or anything but a regular file;
        FileAccessError (FILE_NOT_FOUND) when there is no such file."""
        full = self._confined(path)
        try:
            found = os.stat(full)  # `full` is resolved: this is the file itself
        except FileNotFoundError:
            raise FileAccessError(f"{path} is no longer in the folder.", code="FILE_NOT_FOUND") from None
        except OSError as exc:  # a link loop, a name too long…
            raise SkipFile(
                f"{path} cannot be opened ({exc.strerror}); Callbatch does not read it.", code="ACCESS_DENIED"
            ) from None
        if not stat.S_ISREG(found.st_mode):
            raise SkipFile(not_regular(path, found), code="ACCESS_DENIED")
        try:
            fd = os.open(full, OPEN_FLAGS)
        except FileNotFoundError:
            raise FileAccessError(f"{path} is no longer in the folder.", code="FILE_NOT_FOUND") from None
        except PermissionError:
            raise SkipFile(f"Callbatch may not read {path} (file permissions).", code="ACCESS_DENIED") from None
        except OSError as exc:  # replaced by a link since it was resolved
            raise SkipFile(
                f"{path} changed while Callbatch opened it ({exc.strerror}); it was not read.", code="ACCESS_DENIED"
            ) from None
        try:
            opened = os.fstat(fd)
            if not stat.S_ISREG(opened.st_mode):
                raise SkipFile(not_regular(path, opened), code="ACCESS_DENIED")
            if not self._inside(_opened_path(fd, full)):
                raise SkipFile(leads_out(path), code="ACCESS_DENIED")
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _confined(self, path):
        full = os.path.realpath(os.path.join(self.root, path))
        if not self._inside(full):
            raise SkipFile(leads_out(path), code="ACCESS_DENIED")
        return full

    def _inside(self, real_path):
        return real_path == self.root or real_path.startswith(self.root + os.sep)


def _opened_path(fd, fallback):
    """Where the open descriptor `fd` really is (the kernel's word for it)."""
    try:
        return os.readlink(f"{OPEN_FILES}/{fd}")
    except OSError:
        return fallback


def leads_out(path: str) -> str:
    return f"{path} is a link leading outside the folder; Callbatch does not read it."


def not_regular(path: str, st: os.stat_result) -> str:
    kinds = (
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a device"),
        (stat.S_ISBLK, "a device"),
    )
    kind = next((name for test, name in kinds if test(st.st_mode)), "not a regular file")
    return f"{path} is {kind}, not a regular file; Callbatch does not read it."


def readable(text: str) -> str:
    """`text` with the bytes of an undecodable file name shown as \\xNN."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")


# -- which directories may be watched ----------------------------------------------------


def refusal(path: str) -> str | None:
    """Why the directory `path` may not be watched (a sentence), or None. Allowed are the
    folders inside the instance folder and the directories listed in CALLBATCH_LOCAL_ROOTS;
    never a system directory, anything holding the instance folder's secrets (its secret key,
    the embedded database) or the app's own code, nor a path that resolves to one of those."""
    instance = os.path.realpath(current_app.instance_path)
    code = os.path.realpath(os.path.dirname(current_app.root_path))
    protected = [(instance, "instance folder (its secret key and database)"), (code, "own code")]
    database = _sqlite_file(current_app.config.get("SQLALCHEMY_DATABASE_URI", ""))
    if database:
        protected.append((database, "database"))
    for candidate in dict.fromkeys((os.path.abspath(path), os.path.realpath(path))):
        if candidate == os.sep or any(_within(candidate, d) for d in SYSTEM_DIRECTORIES):
            return f"{path} is a system directory; Callbatch never watches it ({ROOTS_VARIABLE} cannot allow it)."
        for held, what in protected:
            if _within(held, candidate):
                return f"{path} holds Callbatch's {what}; it cannot be watched ({ROOTS_VARIABLE} cannot allow it)."
        if _within(candidate, code) and not _strictly_within(candidate, instance):
            return f"{path} is inside Callbatch's own code; it cannot be watched ({ROOTS_VARIABLE} cannot allow it)."
    real = os.path.realpath(path)
    listed = current_app.config.get("LOCAL_ROOTS") or []
    if _strictly_within(real, instance) or any(_within(real, os.path.realpath(root)) for root in listed):
        return None
    return (
        f"{path} is outside the directories Callbatch may watch: folders inside {instance} and those "
        f"listed in {ROOTS_VARIABLE} ({os.pathsep.join(listed) or 'not set'}). Ask the administrator "
        f"to add its directory to {ROOTS_VARIABLE}."
    )


def _within(path, directory):
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


def _strictly_within(path, directory):
    return path != directory and _within(path, directory)


def _sqlite_file(url):
    if not url.startswith("sqlite:///") or url == "sqlite:///:memory:":
        return None
    return os.path.realpath(url[len("sqlite:///") :])
