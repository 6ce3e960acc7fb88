"""Recordings in an Azure Blob Storage container."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from flask_babel import lazy_gettext as _l

from ...errors import FileAccessError
from . import cloud
from .base import Field, StoredFile

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

BAD_CREDENTIALS = (
    "AuthenticationFailed",
    "InvalidAuthenticationInfo",
    "NoAuthenticationInformation",
    # Azure answers this to a storage firewall rule too; Azurite to a wrong key or SAS
    # signature. Either way the folder's credentials as given do not get in.
    "AuthorizationFailure",
)
MISSING_CONTAINER = ("ContainerNotFound", "ContainerBeingDeleted")
MISSING_BLOB = ("BlobNotFound",)
DENIED = (
    "AuthorizationPermissionMismatch",
    "AuthorizationResourceTypeMismatch",
    "AuthorizationServiceMismatch",
    "AuthorizationSourceIPMismatch",
    "AuthorizationProtocolMismatch",
    "InsufficientAccountPermissions",
    "KeyBasedAuthenticationNotPermitted",
)


class AzureBlobStorage(cloud.CloudStorage):
    type = "azure"
    label = _l("Azure Blob Storage container")
    fields = (
        Field("container", _l("Container"), required=True),
        Field("prefix", _l("Prefix"), help=_l("Only blobs whose name starts with this, e.g. calls/2026/.")),
        Field(
            "connection_string",
            _l("Connection string"),
            kind="secret",
            help=_l(
                "From the storage account's Access keys page. Or leave it empty and give the account URL "
                "with an account key or a SAS token."
            ),
        ),
        Field("account_url", _l("Account URL"), help=_l("e.g. https://myaccount.blob.core.windows.net")),
        Field("account_key", _l("Account key"), kind="secret"),
        Field("sas_token", _l("SAS token"), kind="secret", help=_l("Needs the List and Read permissions.")),
    ) + cloud.TRANSFER_FIELDS

    items = "blobs"
    page_size = 5000  # results per listing request (the service's maximum)

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.container = cloud.text(config, "container")
        self._container_client = None

    @classmethod
    def validate_config(cls, config: dict[str, Any] | None) -> list[str]:
        config = config or {}
        messages = cloud.name_problems(
            "Container", cloud.text(config, "container"), 63, "-", "3–63 lower-case letters, digits and hyphens"
        )
        connection_string = cloud.text(config, "connection_string")
        url = cloud.text(config, "account_url")
        if connection_string:
            if not cloud.is_placeholder(connection_string) and (
                "=" not in connection_string or ";" not in connection_string
            ):
                messages.append(
                    "Connection string: paste the whole connection string "
                    "(DefaultEndpointsProtocol=…;AccountName=…;AccountKey=…)."
                )
            elif not cloud.is_placeholder(connection_string):
                messages += cloud.endpoint_problems(
                    "Connection string: its blob endpoint", blob_endpoint(connection_string)
                )
        elif not url:
            messages.append(
                "Credentials: enter a connection string, or the account URL with an account key or a SAS token."
            )
        else:
            messages += cloud.url_problems("Account URL", url, "it must start with https://.")
            if not (cloud.text(config, "account_key") or cloud.text(config, "sas_token")):
                messages.append("Credentials: with an account URL, enter the account key or a SAS token.")
        return messages + cloud.validate_transfer(config)

    # -- connection ----------------------------------------------------------------------

    def container_client(self, retries: int = 2) -> ContainerClient:
        """The container's client; `retries=0` for Test connection, which should answer at once."""
        if self._container_client is None or retries != 2:
            from azure.storage.blob import BlobServiceClient, ExponentialRetry

            # Short SDK retries (1 s, 3 s): a file that still fails is retried by the batch with its backoff.
            options = dict(
                connection_timeout=10,
                read_timeout=min(60, self.transfer.timeout),
                retry_policy=ExponentialRetry(
                    initial_backoff=1, increment_base=2, retry_total=retries, random_jitter_range=1
                ),
            )
            connection_string = cloud.text(self.config, "connection_string")
            if connection_string:
                service = BlobServiceClient.from_connection_string(connection_string, **options)
            else:
                credential = cloud.text(self.config, "account_key") or cloud.text(self.config, "sas_token")
                service = BlobServiceClient(cloud.text(self.config, "account_url"), credential=credential, **options)
            client = service.get_container_client(self.container)
            if retries != 2:
                return client
            self._container_client = client
        return self._container_client

    def where(self) -> str:
        return f"the container {self.container}/{self.prefix}"

    def _first_page(self):
        def first():
            pages = (
                self.container_client(retries=0)
                .list_blobs(name_starts_with=self.prefix or None, results_per_page=1)
                .by_page()
            )
            return list(next(pages, []))

        return self._call(first)

    # -- listing -------------------------------------------------------------------------

    def list_files(self, prefix: str = "") -> Iterator[StoredFile]:
        pages = self._call(
            lambda: (
                self.container_client()
                .list_blobs(
                    name_starts_with=(self.prefix + prefix.lstrip("/")) or None, results_per_page=self.page_size
                )
                .by_page()
            )
        )
        while True:
            page = self._call(lambda: list(next(pages, None) or ()) or None)
            if page is None:
                return
            self.pages_read += 1
            for blob in page:
                yield self._stored(blob)

    def stat(self, name: str) -> StoredFile | None:
        """The StoredFile of one blob (for announced blobs), or None when it is gone."""
        blob = self._call_unless_gone(lambda: self.container_client().get_blob_client(name).get_blob_properties(), name)
        return None if blob is None else self._stored(blob)

    def _stored(self, blob):
        settings = blob.content_settings
        denied = None
        if (blob.blob_tier or "") == "Archive":
            denied = f"{blob.name} is in the Archive tier; rehydrate it before Callbatch can read it."
        return StoredFile(
            blob.name,
            blob.size,
            blob.last_modified,
            checksum=cloud.md5_checksum(settings.content_md5 if settings else None),
            denied=denied,
        )

    # -- download ------------------------------------------------------------------------

    def _fetch(self, name, local_path):
        def stream():
            downloader = self.container_client().get_blob_client(name).download_blob(max_concurrency=1)
            return cloud.write_chunks(local_path, downloader.chunks(), self.transfer.timeout, name)

        return self._call(stream, name)

    # -- errors --------------------------------------------------------------------------

    def _sdk_error(self, exc, name):
        """The typed error for a failure of the Azure SDK (None: not one of its failures)."""
        from azure.core.exceptions import (
            ClientAuthenticationError,
            HttpResponseError,
            ServiceRequestError,
            ServiceResponseError,
        )

        if isinstance(exc, ClientAuthenticationError):  # before HttpResponseError, its base class
            code = _code(exc)
            return self._denied(code, name) if code in DENIED else _rejected(code)
        if isinstance(exc, HttpResponseError):
            return self._response_error(_code(exc), exc.status_code, name)
        if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
            return FileAccessError(
                f"The connection to {self._host()} failed.",
                code="STORAGE_UNAVAILABLE",
                details={"error": type(exc).__name__},
            )
        if isinstance(exc, ValueError):  # a malformed connection string, account key or SAS token
            return FileAccessError(
                "The folder's Azure credentials are malformed: paste the connection string, "
                "account key or SAS token again.",
                code="INVALID_CREDENTIALS",
            )
        return None

    def _response_error(self, code, status, name):
        """The typed error for an error answer of the service (its error code, HTTP status)."""
        if code in MISSING_CONTAINER:
            return FileAccessError(
                f"The container '{self.container}' does not exist in this storage account.",
                code="BUCKET_NOT_FOUND",
                details={"service_code": code},
            )
        if name and (code in MISSING_BLOB or status == 404):
            return FileAccessError(f"{name} is no longer in the container '{self.container}'.", code="FILE_NOT_FOUND")
        if code in BAD_CREDENTIALS:
            return _rejected(code)
        if code in DENIED or status == 403:
            return self._denied(code, name)
        return FileAccessError(
            f"Azure Blob Storage answered with an error ({code or status}).",
            code="STORAGE_UNAVAILABLE",
            details={"service_code": code},
        )

    def _denied(self, code, name):
        if name:
            return cloud.may_not_read(name, code)
        return FileAccessError(
            f"The credentials are valid but may not list the container '{self.container}' "
            f"({code}): they need the List and Read permissions.",
            code="ACCESS_DENIED",
            details={"service_code": code},
        )

    def _host(self):
        try:
            return urlparse(self.container_client().url).netloc or "Azure Blob Storage"
        except Exception:
            return "Azure Blob Storage"


def _rejected(code):
    """INVALID_CREDENTIALS, with the service's error `code` (none when the SDK gave none)."""
    return FileAccessError(
        f"Azure rejected the credentials of this folder ({code or 'authentication failed'}): check the "
        "connection string, account key or SAS token (and that no firewall rule of the storage account "
        "blocks this server).",
        code="INVALID_CREDENTIALS",
        details={"service_code": code},
    )


def blob_endpoint(connection_string: str) -> str:
    """The blob service address a connection string leads to: its BlobEndpoint, or the one
    the SDK builds from the account name and the endpoint suffix."""
    parts = {}
    for part in connection_string.split(";"):
        if "=" in part:
            key, value = part.split("=", 1)
            parts[key.strip().lower()] = value.strip()
    if parts.get("blobendpoint"):
        return parts["blobendpoint"]
    protocol = parts.get("defaultendpointsprotocol") or "https"
    suffix = parts.get("endpointsuffix") or "core.windows.net"
    return f"{protocol}://{parts.get('accountname', '')}.blob.{suffix}"


def _code(exc):
    code = getattr(exc, "error_code", None)
    if not code and getattr(exc, "response", None) is not None:
        code = exc.response.headers.get("x-ms-error-code")
    return str(getattr(code, "value", code) or "")
