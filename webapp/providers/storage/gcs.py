"""Recordings in a Google Cloud Storage bucket."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l

from ...errors import FileAccessError
from . import cloud
from .base import Field, StoredFile

if TYPE_CHECKING:
    from google.cloud.storage import Client

READ_ONLY = ("https://www.googleapis.com/auth/devstorage.read_only",)


class GCSStorage(cloud.CloudStorage):
    type = "gcs"
    label = _l("Google Cloud Storage bucket")
    fields = (
        Field("bucket", _l("Bucket"), required=True),
        Field("prefix", _l("Prefix"), help=_l("Only objects whose name starts with this, e.g. calls/2026/.")),
        Field("project", _l("Project ID"), help=_l("Optional; taken from the service account when empty.")),
        Field(
            "credentials_json",
            _l("Service-account key (JSON)"),
            kind="secret",
            help=_l("Paste the key file's content. Leave empty to use the server's own Google credentials."),
        ),
        Field("endpoint", _l("API endpoint"), help=_l("Only for a private endpoint or an emulator.")),
        Field("anonymous", _l("No credentials (public bucket or emulator)"), kind="bool", default=False),
    ) + cloud.TRANSFER_FIELDS

    page_size = 1000  # objects per listing request (the service's maximum)

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.bucket_name = cloud.text(config, "bucket")
        self._client = None

    @classmethod
    def validate_config(cls, config: dict[str, Any] | None) -> list[str]:
        config = config or {}
        messages = cloud.name_problems(
            "Bucket",
            cloud.text(config, "bucket"),
            222,
            "._-",
            "lower-case letters, digits, dots, hyphens and underscores",
        )
        raw = cloud.text(config, "credentials_json")
        if raw and not cloud.is_placeholder(raw):
            messages += _check_key(raw)
        messages += cloud.url_problems("API endpoint", cloud.text(config, "endpoint"))
        if raw and config.get("anonymous"):
            messages.append("Credentials: choose either a service-account key or no credentials, not both.")
        return messages + cloud.validate_transfer(config)

    # -- connection ----------------------------------------------------------------------

    def client(self) -> Client:
        if self._client is None:
            from google.api_core.client_options import ClientOptions
            from google.auth.credentials import AnonymousCredentials
            from google.cloud import storage

            project = cloud.text(self.config, "project") or None
            raw = cloud.text(self.config, "credentials_json")
            if raw:
                from google.oauth2 import service_account

                try:
                    info = json.loads(raw)
                    credentials = service_account.Credentials.from_service_account_info(info, scopes=READ_ONLY)
                except (ValueError, KeyError, TypeError):
                    raise FileAccessError(
                        "The service-account key of this folder is not a valid key file.", code="INVALID_CREDENTIALS"
                    ) from None
                project = project or info.get("project_id")
            elif self.config.get("anonymous"):
                credentials, project = AnonymousCredentials(), project or "anonymous"
            else:
                credentials = None  # the environment's default credentials
            endpoint = cloud.text(self.config, "endpoint")
            options = ClientOptions(api_endpoint=endpoint) if endpoint else None
            client = self._call(
                lambda: storage.Client(project=project, credentials=credentials, client_options=options)
            )
            # The client fetches bucket metadata for its traces in threads of its own, outside
            # the outbound guard (it follows the caller's context only): not needed, so off.
            client._bucket_metadata_cache = None
            self._client = client
        return self._client

    def where(self) -> str:
        return f"gs://{self.bucket_name}/{self.prefix}"

    def _first_page(self):
        def first():
            blobs = self.client().list_blobs(
                self.bucket_name, prefix=self.prefix or None, max_results=1, timeout=(10, 30), retry=None
            )
            return list(blobs)

        return self._call(first)

    # -- listing -------------------------------------------------------------------------

    def list_files(self, prefix: str = "") -> Iterator[StoredFile]:
        from google.api_core.retry import Retry

        blobs = self._call(
            lambda: self.client().list_blobs(
                self.bucket_name,
                prefix=(self.prefix + prefix.lstrip("/")) or None,
                page_size=self.page_size,
                timeout=(10, 60),
                retry=Retry(timeout=60),
                fields="items(name,size,updated,md5Hash,crc32c,storageClass),nextPageToken",
            )
        )
        pages = self._call(lambda: iter(blobs.pages))
        while True:
            page = self._call(lambda: next(pages, None))
            if page is None:
                return
            self.pages_read += 1
            for blob in page:
                if not blob.name.endswith("/"):
                    yield self._stored(blob)

    def stat(self, name: str) -> StoredFile | None:
        """The StoredFile of one object (for announced objects), or None when it is gone."""
        blob = self._call_unless_gone(
            lambda: self.client().bucket(self.bucket_name).get_blob(name, timeout=(10, 30)), name
        )
        return None if blob is None else self._stored(blob)

    def _stored(self, blob):
        checksum = cloud.md5_checksum(blob.md5_hash) or (f"crc32c:{blob.crc32c}" if blob.crc32c else None)
        return StoredFile(blob.name, int(blob.size or 0), blob.updated, checksum=checksum)

    # -- download ------------------------------------------------------------------------

    def _fetch(self, name, local_path):
        from google.api_core.retry import Retry

        def stream():
            blob = self.client().bucket(self.bucket_name).blob(name)
            try:
                with cloud.disk_full_on_no_space(local_path, name), open(local_path, "wb") as f:
                    blob.download_to_file(
                        cloud.DeadlineWriter(f, self.transfer.timeout, name),
                        timeout=(10, min(60, self.transfer.timeout)),
                        retry=Retry(timeout=30),
                    )
            except BaseException:
                os.remove(local_path)  # no empty or partial file (a missing sidecar) is left behind
                raise

        return self._call(stream, name)

    # -- errors --------------------------------------------------------------------------

    def _sdk_error(self, exc, name):
        """The typed error for a failure of the Google Cloud libraries (None: not one of theirs)."""
        import requests
        from google.api_core import exceptions as api
        from google.auth import exceptions as auth

        if isinstance(exc, (api.NotFound, api.Unauthorized, api.Forbidden)):
            return self._refusal(exc, name)
        if isinstance(exc, auth.RefreshError):
            return FileAccessError(
                "Google refused the service-account key of this folder (it was revoked, deleted or is not valid).",
                code="INVALID_CREDENTIALS",
            )
        if isinstance(exc, auth.DefaultCredentialsError):
            return FileAccessError(
                "No Google credentials were found: paste a service-account key for this folder "
                "or give the server default credentials.",
                code="INVALID_CREDENTIALS",
            )
        unreachable = (
            requests.exceptions.RequestException,
            auth.TransportError,
            api.RetryError,
            api.ServerError,
            ConnectionError,
        )
        if isinstance(exc, unreachable):
            return FileAccessError(
                "The connection to Google Cloud Storage failed.",
                code="STORAGE_UNAVAILABLE",
                details={"error": type(exc).__name__},
            )
        if isinstance(exc, api.GoogleAPICallError):
            return FileAccessError(
                f"Google Cloud Storage answered with an error ({exc.code}).", code="STORAGE_UNAVAILABLE"
            )
        return None

    def _refusal(self, exc, name):
        """The typed error for a 404, 401 or 403 answer."""
        from google.api_core import exceptions as api

        if isinstance(exc, api.NotFound):
            if name:
                return FileAccessError(
                    f"{name} is no longer in the bucket '{self.bucket_name}'.", code="FILE_NOT_FOUND"
                )
            return FileAccessError(f"The bucket '{self.bucket_name}' does not exist.", code="BUCKET_NOT_FOUND")
        if isinstance(exc, api.Unauthorized):
            return FileAccessError(
                "Google Cloud rejected the credentials of this folder (401): check the service-account key.",
                code="INVALID_CREDENTIALS",
            )
        if name:
            return cloud.may_not_read(name, "403")
        return FileAccessError(
            f"The credentials are valid but may not list the bucket '{self.bucket_name}' "
            "(403): grant the Storage Object Viewer role.",
            code="ACCESS_DENIED",
        )


def _check_key(raw):
    try:
        info = json.loads(raw)
    except ValueError:
        return ["Service-account key: paste the whole JSON key file."]
    if not isinstance(info, dict) or info.get("type") != "service_account":
        return ['Service-account key: this is not a service-account key file (its "type" must be "service_account").']
    missing = [k for k in ("client_email", "private_key", "token_uri") if not info.get(k)]
    if missing:
        return [f"Service-account key: the key file lacks {', '.join(missing)}."]
    return cloud.endpoint_problems("Service-account key: its token_uri", str(info["token_uri"]))
