"""Recordings in an Amazon S3 bucket (or an S3-compatible service through its endpoint)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l

from ...errors import FileAccessError
from . import cloud
from .base import Field, StoredFile

if TYPE_CHECKING:
    from botocore.client import BaseClient

ARCHIVED = ("GLACIER", "DEEP_ARCHIVE")
BAD_CREDENTIALS = (
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidClientTokenId",
    "ExpiredToken",
    "InvalidToken",
    "TokenRefreshRequired",
    "AuthFailure",
    "UnrecognizedClientException",
)
MISSING_BUCKET = ("NoSuchBucket",)
MISSING_OBJECT = ("NoSuchKey", "404", "NotFound")
DENIED = ("AccessDenied", "AllAccessDisabled", "403", "AccessDeniedException")


class S3Storage(cloud.CloudStorage):
    type = "s3"
    label = _l("Amazon S3 bucket")
    fields = (
        Field("bucket", _l("Bucket"), required=True),
        Field("prefix", _l("Prefix"), help=_l("Only objects whose key starts with this, e.g. calls/2026/.")),
        Field("region", _l("Region"), default="us-east-1"),
        Field("endpoint_url", _l("Endpoint URL"), help=_l("Only for S3-compatible services (MinIO, Ceph…).")),
        Field(
            "access_key_id",
            _l("Access key ID"),
            kind="secret",
            help=_l("Leave both keys empty to use the server's own AWS credentials (role, profile, environment)."),
        ),
        Field("secret_access_key", _l("Secret access key"), kind="secret"),
        Field("session_token", _l("Session token"), kind="secret", help=_l("Only for temporary credentials.")),
        Field(
            "queue_url",
            _l("SQS queue URL"),
            help=_l(
                "For instant scans: the queue that receives the bucket's "
                "ObjectCreated notifications (monitor 'cloud events')."
            ),
        ),
    ) + cloud.TRANSFER_FIELDS

    page_size = 1000  # MaxKeys per listing request (S3's own maximum)

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.bucket = cloud.text(config, "bucket")
        self._client = None

    @classmethod
    def validate_config(cls, config: dict[str, Any] | None) -> list[str]:
        config = config or {}
        messages = cloud.name_problems(
            "Bucket", cloud.text(config, "bucket"), 63, ".-", "3–63 lower-case letters, digits, dots and hyphens"
        )
        key_id, secret = cloud.text(config, "access_key_id"), cloud.text(config, "secret_access_key")
        if bool(key_id) != bool(secret):
            messages.append(
                "Credentials: enter both the access key ID and the secret access key, or neither "
                "(to use the server's own AWS credentials)."
            )
        messages += cloud.url_problems("Endpoint URL", cloud.text(config, "endpoint_url"))
        messages += cloud.url_problems(
            "SQS queue URL",
            cloud.text(config, "queue_url"),
            "it must start with https:// (copy it from the queue's details).",
        )
        return messages + cloud.validate_transfer(config)

    # -- connection ----------------------------------------------------------------------

    def client(self, service: str = "s3") -> BaseClient:
        if service == "s3" and self._client is not None:
            return self._client
        import boto3
        from botocore.config import Config

        options = dict(
            region_name=cloud.text(self.config, "region") or "us-east-1",
            config=Config(
                connect_timeout=10,
                read_timeout=min(60, self.transfer.timeout),
                retries={"max_attempts": 3, "mode": "standard"},
                s3={"addressing_style": "path"} if self._endpoint() else None,
            ),
        )
        if self._endpoint():
            options["endpoint_url"] = self._endpoint()
        if cloud.text(self.config, "access_key_id"):
            options.update(
                aws_access_key_id=cloud.text(self.config, "access_key_id"),
                aws_secret_access_key=cloud.text(self.config, "secret_access_key"),
                aws_session_token=cloud.text(self.config, "session_token") or None,
            )
        client = boto3.session.Session().client(service, **options)
        if service == "s3":
            self._client = client
        return client

    def _endpoint(self):
        return cloud.text(self.config, "endpoint_url")

    def where(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def _first_page(self):
        page = self._call(lambda: self.client().list_objects_v2(Bucket=self.bucket, Prefix=self.prefix, MaxKeys=1))
        return page.get("KeyCount")

    # -- listing -------------------------------------------------------------------------

    def list_files(self, prefix: str = "") -> Iterator[StoredFile]:
        paginator = self.client().get_paginator("list_objects_v2")
        pages = paginator.paginate(
            Bucket=self.bucket, Prefix=self.prefix + prefix.lstrip("/"), PaginationConfig={"PageSize": self.page_size}
        )
        iterator = iter(pages)
        while True:
            page = self._call(lambda: next(iterator, None))
            if page is None:
                return
            self.pages_read += 1
            for item in page.get("Contents", ()):
                if item["Key"].endswith("/"):
                    continue  # a "folder" marker
                yield self._stored(
                    item["Key"], item["Size"], item["LastModified"], item.get("ETag"), item.get("StorageClass")
                )

    def stat(self, key: str) -> StoredFile | None:
        """The StoredFile of one object (for announced objects), or None when it is gone."""
        head = self._call_unless_gone(lambda: self.client().head_object(Bucket=self.bucket, Key=key), key)
        if head is None:
            return None
        return self._stored(
            key, head["ContentLength"], head["LastModified"], head.get("ETag"), head.get("StorageClass")
        )

    def _stored(self, key, size, modified, etag, storage_class):
        denied = None
        if storage_class in ARCHIVED:
            denied = f"{key} is archived in {storage_class}; restore it before Callbatch can read it."
        return StoredFile(key, size, modified, checksum=_checksum(etag), denied=denied)

    # -- download ------------------------------------------------------------------------

    def _fetch(self, key, local_path):
        def stream():
            body = self.client().get_object(Bucket=self.bucket, Key=key)["Body"]
            try:
                return cloud.write_chunks(local_path, body.iter_chunks(cloud.CHUNK), self.transfer.timeout, key)
            finally:
                body.close()

        return self._call(stream, key)

    # -- errors --------------------------------------------------------------------------

    def _sdk_error(self, exc, key):
        """The typed error for a failure of boto (None: not one of its failures)."""
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, PartialCredentialsError
        from botocore.exceptions import ConnectionError as BotoConnectionError

        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            return self._client_error(str(error.get("Code", "")), key)
        if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):  # before BotoCoreError, their base
            return FileAccessError(
                "No AWS credentials were found: enter an access key for this folder or give "
                "the server an AWS role or profile.",
                code="INVALID_CREDENTIALS",
            )
        if isinstance(exc, BotoCoreError):
            kind = "timed out" if "timeout" in type(exc).__name__.lower() else "failed"
            where = self._endpoint() or "Amazon S3"
            detail = type(exc).__name__ if isinstance(exc, BotoConnectionError) else self.secrets.scrub(exc)
            return FileAccessError(
                f"The connection to {where} {kind}.", code="STORAGE_UNAVAILABLE", details={"error": detail}
            )
        return None

    def _client_error(self, code, key):
        bucket = self.bucket
        if code in BAD_CREDENTIALS:
            return FileAccessError(
                f"AWS rejected the credentials of this folder ({code}): check the access key ID and secret.",
                code="INVALID_CREDENTIALS",
                details={"service_code": code},
            )
        if code in MISSING_BUCKET:
            return FileAccessError(
                f"The bucket '{bucket}' does not exist (or is in another account).",
                code="BUCKET_NOT_FOUND",
                details={"service_code": code},
            )
        if key and code in MISSING_OBJECT:
            return FileAccessError(f"{key} is no longer in the bucket '{bucket}'.", code="FILE_NOT_FOUND")
        if code in DENIED:
            if key:
                return cloud.may_not_read(key, code)
            return FileAccessError(
                f"The credentials are valid but may not list the bucket '{bucket}' ({code}): "
                "allow s3:ListBucket and s3:GetObject.",
                code="ACCESS_DENIED",
                details={"service_code": code},
            )
        return FileAccessError(
            f"S3 answered with an error ({code or 'unknown'}).",
            code="STORAGE_UNAVAILABLE",
            details={"service_code": code},
        )


def _checksum(etag):
    """A single-part upload's ETag is the content's MD5; a multipart one identifies the
    upload (same content and part size give the same value)."""
    if not etag:
        return None
    etag = etag.strip('"')
    return cloud.md5_checksum(etag) if "-" not in etag else f"s3etag:{etag}"
