"""Cloud storage events in the services' published formats (S3 notifications and their SNS
envelope, Azure Event Grid, GCS Pub/Sub push), and what announcing them leaves behind."""

import base64
import json
import uuid

import sqlalchemy as sa

from tests.support.cloud import make_folder
from webapp import queues
from webapp.extensions import db
from webapp.models import FileProcessingRecord


def s3_event(bucket, key, name="ObjectCreated:Put", size=1024):
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": "2026-11-25T10:00:00.000Z",
                "eventName": name,
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "calls",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {
                        "key": key,
                        "size": size,
                        "eTag": "0123456789abcdef0123456789abcdef",
                        "sequencer": "0A1B2C3D4E5F678901",
                    },
                },
            }
        ]
    }


def sns_envelope(message):
    return {
        "Type": "Notification",
        "MessageId": str(uuid.uuid4()),
        "TopicArn": "arn:aws:sns:us-east-1:1:calls",
        "Subject": "Amazon S3 Notification",
        "Message": json.dumps(message),
        "Timestamp": "2026-11-25T10:00:00.000Z",
        "SignatureVersion": "1",
        "Signature": "c2ln",
        "SigningCertURL": "https://sns.us-east-1.amazonaws.com/cert.pem",
    }


def event_grid(container, blob, kind="Microsoft.Storage.BlobCreated"):
    return [
        {
            "topic": "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/acct",
            "subject": f"/blobServices/default/containers/{container}/blobs/{blob}",
            "eventType": kind,
            "id": str(uuid.uuid4()),
            "eventTime": "2026-11-25T10:00:00Z",
            "dataVersion": "",
            "metadataVersion": "1",
            "data": {
                "api": "PutBlob",
                "contentType": "audio/wav",
                "contentLength": 1024,
                "blobType": "BlockBlob",
                "url": f"https://acct.blob.core.windows.net/{container}/{blob}",
                "sequencer": "0001",
            },
        }
    ]


def pubsub_push(bucket, name, kind="OBJECT_FINALIZE"):
    resource = {
        "kind": "storage#object",
        "bucket": bucket,
        "name": name,
        "size": "1024",
        "md5Hash": "ASNFZ4mrze8BI0VniavN7w==",
        "updated": "2026-11-25T10:00:00.000Z",
    }
    return {
        "message": {
            "attributes": {
                "bucketId": bucket,
                "objectId": name,
                "eventType": kind,
                "payloadFormat": "JSON_API_V1",
                "notificationConfig": "projects/_/buckets/b",
            },
            "data": base64.b64encode(json.dumps(resource).encode()).decode(),
            "messageId": "1",
            "publishTime": "2026-11-25T10:00:00Z",
        },
        "subscription": "projects/p/subscriptions/calls",
    }


def event_folder(cloud, **changes):
    return make_folder(cloud, monitor="cloud_events", **changes)


def recorded():
    db.session.rollback()
    return sorted(db.session.scalars(sa.select(FileProcessingRecord.file_path)))


def queued_jobs():
    return queues.queue(queues.FILES).count


PUSH = {
    "s3": lambda f, key: sns_envelope(s3_event(f.config["bucket"], key.replace(" ", "+"))),
    "azure": lambda f, key: event_grid(f.config["container"], key),
    "gcs": lambda f, key: pubsub_push(f.config["bucket"], key),
}
