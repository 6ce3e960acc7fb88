"""Starting points for a new folder, one per kind of storage: good defaults for the form
and what to set up on the storage side so that new recordings are picked up at once."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

TEMPLATES = (
    {
        "id": "local",
        "label": _l("A drop folder on this server"),
        "summary": _l(
            "The phone system (or a person) copies recordings into a directory on this server or a mounted "
            "share; each new file is scanned a moment after it arrives."
        ),
        "data": {
            "name": "Call recordings",
            "storage_type": "local",
            "storage_config": {"recursive": True},
            "monitor_type": "events",
            "scan_interval": 300,
        },
    },
    {
        "id": "s3",
        "label": _l("An S3 bucket with SQS events"),
        "summary": _l(
            "Recordings land in an Amazon S3 bucket; the bucket announces each new object on an SQS queue "
            "that Callbatch reads."
        ),
        "data": {
            "name": "S3 recordings",
            "storage_type": "s3",
            "storage_config": {"region": "us-east-1", "prefix": "calls/", "max_downloads": 4},
            "monitor_type": "cloud_events",
            "scan_interval": 900,
        },
    },
    {
        "id": "azure",
        "label": _l("An Azure container with Event Grid"),
        "summary": _l(
            "Recordings land in an Azure Blob Storage container; Event Grid posts each new blob to Callbatch."
        ),
        "data": {
            "name": "Azure recordings",
            "storage_type": "azure",
            "storage_config": {"prefix": "calls/", "max_downloads": 4},
            "monitor_type": "cloud_events",
            "scan_interval": 900,
        },
    },
    {
        "id": "gcs",
        "label": _l("A GCS bucket with Pub/Sub"),
        "summary": _l(
            "Recordings land in a Google Cloud Storage bucket; a Pub/Sub push subscription posts each new "
            "object to Callbatch."
        ),
        "data": {
            "name": "GCS recordings",
            "storage_type": "gcs",
            "storage_config": {"prefix": "calls/", "max_downloads": 4},
            "monitor_type": "cloud_events",
            "scan_interval": 900,
        },
    },
)


def get(template_id: str) -> dict[str, Any] | None:
    return next((t for t in TEMPLATES if t["id"] == template_id), None)


def receiver_url(service: str) -> str:
    """The address a cloud service posts its events to. The token itself is a secret of the
    server's environment and is never shown: the placeholder names where it comes from."""
    base = current_app.config["BASE_URL"]
    return f"{base}/api/batch/events/{service}?token=<CALLBATCH_EVENTS_TOKEN>"


def events_ready() -> bool:
    """Whether the cloud event receivers are on (CALLBATCH_EVENTS_TOKEN is set)."""
    return bool(current_app.config.get("EVENTS_TOKEN"))


def cloud_steps(template_id: str) -> list[str]:
    """What to set up outside Callbatch for template `template_id`, as sentences in order
    (plain text: the page escapes the <placeholders> in them)."""
    steps = {"local": _local_steps, "s3": _s3_steps, "azure": _azure_steps, "gcs": _gcs_steps}.get(template_id)
    return steps() if steps else []


def _local_steps():
    return [
        _("Create the directory and let the user running Callbatch read it; enter its absolute path."),
        _(
            "Have the phone system write each recording as <call-uuid>.<ext>, with its transcript "
            "(<call-uuid>.json or .txt) and customer details (<call-uuid>.meta.json) beside it, if it "
            "delivers them."
        ),
        _("File events need a local disk: for a network share choose “Scan every few minutes” instead."),
    ]


def _s3_steps():
    return [
        _(
            "Create an SQS queue in the bucket's region and allow the bucket to send to it (the queue's "
            "access policy: sqs:SendMessage from s3.amazonaws.com for this bucket)."
        ),
        _(
            "In the bucket's Properties → Event notifications, send “All object create events” "
            "(s3:ObjectCreated:*) for the prefix to that queue."
        ),
        _("Copy the queue's URL (https://sqs.<region>.amazonaws.com/<account>/<queue>) into “SQS queue URL” below."),
        _(
            "Give Callbatch's credentials s3:ListBucket, s3:GetObject, sqs:ReceiveMessage and "
            "sqs:DeleteMessage; leave the keys empty to use the server's own AWS role."
        ),
    ]


def _azure_steps():
    return [
        _("Give Callbatch a connection string, or the account URL with a key or a SAS token allowing List and Read."),
        _(
            "In the storage account's Events, create an Event Grid subscription for “Blob Created” events, "
            "filtered to the container (subject begins with /blobServices/default/containers/<container>/)."
        ),
        _(
            "Endpoint type Web Hook, endpoint %(url)s (the subscription's validation is answered on its own).",
            url=receiver_url("azure"),
        ),
    ]


def _gcs_steps():
    return [
        _(
            "Give Callbatch a service-account key with Storage Object Viewer on the bucket (or use the "
            "server's default Google credentials)."
        ),
        _(
            "Send the bucket's new objects to a Pub/Sub topic: gcloud storage buckets notifications create "
            "gs://<bucket> --topic=<topic> --event-types=OBJECT_FINALIZE"
        ),
        _("Create a push subscription on that topic to %(url)s", url=receiver_url("gcs")),
    ]


def form_data(template_id: str, defaults: dict[str, Any]) -> dict[str, Any]:
    """The new-folder form's data with the template's choices over `defaults`."""
    template = get(template_id)
    if template is None:
        return defaults
    data = dict(defaults)
    data.update({k: v for k, v in template["data"].items() if k != "storage_config"})
    data["storage_config"] = dict(template["data"]["storage_config"])
    return data
