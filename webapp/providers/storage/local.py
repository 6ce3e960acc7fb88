"""Recordings on a local or mounted (NFS/SMB) directory."""
import contextlib
import os
from datetime import datetime, timezone

from ...errors import FileAccessError, SkipFile
from .base import Field, StoredFile


class LocalStorage:
    type = "local"
    label = "Local or mounted directory"
    fields = (
        Field("path", "Directory", required=True, help="Absolute path of the folder to watch."),
        Field("recursive", "Include subfolders", kind="bool", default=True),
    )

    def __init__(self, config):
        self.root = os.path.realpath(config["path"])
        self.recursive = config.get("recursive", True)

    @classmethod
    def validate_config(cls, config):
        path = (config or {}).get("path")
        if not path or not isinstance(path, str):
            return ["Directory: enter the absolute path of the folder."]
        if not os.path.isabs(path):
            return [f"Directory: '{path}' is not an absolute path."]
        return []

    def connect(self):
        """Check the folder can be listed; raise a typed error saying why not."""
        if not os.path.exists(self.root):
            raise FileAccessError(f"The directory {self.root} does not exist.", code="FILE_NOT_FOUND")
        if not os.path.isdir(self.root):
            raise FileAccessError(f"{self.root} is not a directory.", code="FILE_NOT_FOUND")
        if not os.access(self.root, os.R_OK | os.X_OK):
            raise FileAccessError(f"Callbatch may not read the directory {self.root}.", code="ACCESS_DENIED")

    def list_files(self, prefix=""):
        self.connect()
        start = self._confined(prefix) if prefix else self.root
        yield from self._walk(start)

    def _walk(self, directory):
        try:
            entries = list(os.scandir(directory))
        except PermissionError:
            return
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if self.recursive:
                    yield from self._walk(entry.path)
                continue
            relative = os.path.relpath(entry.path, self.root).replace(os.sep, "/")
            if entry.is_symlink() and not self._inside(os.path.realpath(entry.path)):
                yield StoredFile(relative, 0, _now(), denied=f"{relative} is a link pointing outside the folder.")
                continue
            try:
                st = entry.stat()
            except OSError:
                continue  # removed or a broken link: gone before we looked
            if not entry.is_file():
                continue
            modified = datetime.fromtimestamp(st.st_mtime, timezone.utc)
            denied = None if os.access(entry.path, os.R_OK) else f"File permissions do not let Callbatch read {relative}."
            yield StoredFile(relative, st.st_size, modified, denied=denied)

    @contextlib.contextmanager
    def download_file(self, path):
        """Local files are read in place: yields the confined absolute path."""
        full = self._confined(path)
        if not os.path.exists(full):
            raise FileAccessError(f"{path} is no longer in the folder.", code="FILE_NOT_FOUND")
        if not os.access(full, os.R_OK):
            raise SkipFile(f"Callbatch may not read {path} (file permissions).", code="ACCESS_DENIED")
        yield full

    def _confined(self, path):
        full = os.path.realpath(os.path.join(self.root, path))
        if not self._inside(full):
            raise SkipFile(f"{path} points outside the folder {self.root}.", code="ACCESS_DENIED")
        return full

    def _inside(self, real_path):
        return real_path == self.root or real_path.startswith(self.root + os.sep)


def _now():
    return datetime.now(timezone.utc)
