"""Scan cloud folders object by object as the storage service announces new objects.

Where announcements come from:
- S3 → SQS: the bucket sends ObjectCreated notifications to an SQS queue (directly, or
  through an SNS topic); `SqsQueue` reads and deletes them.
- S3 → SNS (HTTP push), Azure Event Grid (webhook), GCS Pub/Sub (push subscription): the
  JSON API's receivers hand the request body to the parse functions below.

Every parser returns `Announcement`s (bucket/container and object key) for created objects
only, and ignores everything else (deletions, test events, other event types). Deciding
which announced objects belong to which folder (bucket, prefix, suffix) and recording them
is webapp.batch.announce's work. A periodic full scan at the folder's scan interval is kept
as a safety net for events that were lost."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, unquote_plus, urlparse

from flask_babel import lazy_gettext as _l

from .polling import PollingMonitor

if TYPE_CHECKING:
    from ...models import ExternalFolder
    from ..storage.s3 import S3Storage

CLOUD_TYPES = ("s3", "azure", "gcs")
AZURE_CREATED = "Microsoft.Storage.BlobCreated"
AZURE_VALIDATION = "Microsoft.EventGrid.SubscriptionValidationEvent"
GCS_FINALIZE = ("OBJECT_FINALIZE", "google.cloud.storage.object.v1.finalized")
EventBody = str | bytes | dict | list | None  # a request or message body, raw or parsed


@dataclass(frozen=True)
class Announcement:
    """A created object as an event names it."""

    service: str  # s3 | azure | gcs
    bucket: str  # bucket or container
    key: str  # object key / blob name, decoded
    size: int | None = None


@dataclass
class Handshake:
    """A subscription check the receiver must answer (SNS SubscribeURL, Event Grid code)."""

    kind: str  # sns_subscription | eventgrid_validation
    value: str  # the URL to confirm, or the validation code
    response: dict | None = None


class CloudEventMonitor:
    type = "cloud_events"
    label = _l("Scan as soon as the cloud storage announces new objects")
    stamp = "last_polled_at"
    trigger = "monitor"
    needs_auto_start = True

    @classmethod
    def validate_config(cls, folder_config: dict[str, Any]) -> list[str]:
        if folder_config.get("storage_type") not in CLOUD_TYPES:
            return [
                "Cloud events work only for S3, Azure Blob and GCS folders; use file events or polling for "
                "local folders."
            ]
        return PollingMonitor.validate_config(folder_config)  # the safety-net scan's interval

    @staticmethod
    def is_due(folder: ExternalFolder, now: datetime) -> bool:
        return PollingMonitor.is_due(folder, now)  # the safety net: events can be lost


# -- S3: event notifications, directly, through SQS or through SNS ---------------------------


def parse_s3(body: EventBody) -> tuple[list[Announcement], Handshake | None]:
    """Announcements and an optional handshake from an S3 event notification, an SNS
    envelope around one (HTTP push or SNS → SQS without raw delivery) or an SQS body."""
    document = _json(body)
    if not isinstance(document, dict):
        return [], None
    if document.get("Type") == "SubscriptionConfirmation":
        return [], Handshake("sns_subscription", str(document.get("SubscribeURL", "")))
    if document.get("Type") == "Notification":
        document = _json(document.get("Message"))
        if not isinstance(document, dict):
            return [], None
    found = []
    for record in document.get("Records") or ():
        if not isinstance(record, dict) or not str(record.get("eventName", "")).startswith("ObjectCreated:"):
            continue
        s3 = record.get("s3") or {}
        bucket, obj = (s3.get("bucket") or {}).get("name"), s3.get("object") or {}
        if bucket and obj.get("key"):
            found.append(Announcement("s3", bucket, unquote_plus(obj["key"]), _int(obj.get("size"))))
    return found, None  # s3:TestEvent and non-created events fall through as nothing


# -- Azure: Event Grid (its own schema and the CloudEvents 1.0 schema) -------------------------


def parse_event_grid(body: EventBody) -> tuple[list[Announcement], Handshake | None]:
    document = _json(body)
    events = document if isinstance(document, list) else [document] if isinstance(document, dict) else []
    found = []
    for event in events:
        if not isinstance(event, dict):
            continue
        kind = event.get("eventType") or event.get("type")
        data = event.get("data") or {}
        if kind == AZURE_VALIDATION:
            code = str(data.get("validationCode", ""))
            return [], Handshake("eventgrid_validation", code, {"validationResponse": code})
        if kind != AZURE_CREATED:
            continue
        container, name = _azure_subject(event.get("subject", "")) or _azure_url(data.get("url", ""))
        if container and name:
            found.append(Announcement("azure", container, name, _int(data.get("contentLength"))))
    return found, None


def _azure_subject(subject):
    # /blobServices/default/containers/<container>/blobs/<name with slashes>
    marker = "/containers/"
    if marker not in subject or "/blobs/" not in subject:
        return None
    rest = subject.split(marker, 1)[1]
    container, name = rest.split("/blobs/", 1)
    return container, name


def _azure_url(url):
    path = unquote(urlparse(url).path).lstrip("/")
    if "/" not in path:
        return None, None
    container, name = path.split("/", 1)
    return container, name


# -- GCS: Pub/Sub push (notification attributes, JSON_API_V1 payload) and Eventarc CloudEvents -


def parse_pubsub(body: EventBody) -> tuple[list[Announcement], Handshake | None]:
    document = _json(body)
    if not isinstance(document, dict):
        return [], None
    if "message" in document:
        message = document.get("message") or {}
        attributes = message.get("attributes") or {}
        kind = attributes.get("eventType")
        payload = _json(_b64(message.get("data")))
        payload = payload if isinstance(payload, dict) else {}
        bucket = attributes.get("bucketId") or payload.get("bucket")
        name = attributes.get("objectId") or payload.get("name")
    else:  # a CloudEvent delivered by Eventarc: the object resource is the body
        kind = document.get("type") or document.get("ce-type")
        payload = document.get("data") if isinstance(document.get("data"), dict) else document
        bucket, name = payload.get("bucket"), payload.get("name")
    if kind not in GCS_FINALIZE or not bucket or not name:
        return [], None
    return [Announcement("gcs", bucket, name, _int(payload.get("size")))], None


PARSERS = {"s3": parse_s3, "azure": parse_event_grid, "gcs": parse_pubsub}


# -- S3 → SQS: reading the queue ---------------------------------------------------------------


class SqsQueue:
    """The SQS queue of an S3 folder (its `queue_url`), read with the folder's credentials."""

    def __init__(self, storage: S3Storage) -> None:
        self.url = storage.config.get("queue_url")
        self.client = storage.client("sqs")

    def receive(self, max_batches: int = 10, wait_seconds: int = 0) -> list[tuple[str, list[Announcement]]]:
        """[(receipt handle, announcements)] for up to max_batches × 10 messages."""
        received = []
        for _ in range(max_batches):
            answer = self.client.receive_message(
                QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds, VisibilityTimeout=60
            )
            messages = answer.get("Messages") or []
            for message in messages:
                announcements, _handshake = parse_s3(message.get("Body", ""))
                received.append((message["ReceiptHandle"], announcements))
            if len(messages) < 10:
                break
        return received

    def delete(self, receipts: Iterable[str]) -> None:
        receipts = list(receipts)
        for start in range(0, len(receipts), 10):
            entries = [{"Id": str(i), "ReceiptHandle": r} for i, r in enumerate(receipts[start : start + 10])]
            self.client.delete_message_batch(QueueUrl=self.url, Entries=entries)


def _json(value):
    if isinstance(value, (dict, list)):
        return value
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    try:
        return json.loads(value) if value else None
    except (TypeError, ValueError):
        return None


def _b64(value):
    try:
        return base64.b64decode(value or "").decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
