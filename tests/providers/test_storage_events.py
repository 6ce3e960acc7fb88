"""Cloud events: the three published payload formats (S3 notifications, directly or through
SNS/SQS; Azure Event Grid; GCS Pub/Sub push), S3 → SQS with moto, and announcing exactly
the announced objects of a folder — other buckets, prefixes and types ignored, repeats
harmless."""

import json
import uuid

import sqlalchemy as sa

from tests.support.cloud_events import (
    PUSH,
    event_folder,
    event_grid,
    pubsub_push,
    queued_jobs,
    recorded,
    s3_event,
    sns_envelope,
)
from tests.support.helpers import configure
from tests.support.recordings import write_calls
from webapp.batch import announce
from webapp.extensions import db
from webapp.models import FileProcessingRecord
from webapp.providers.monitors import MONITORS
from webapp.providers.monitors.cloud_events import parse_event_grid, parse_pubsub, parse_s3

FPR = FileProcessingRecord


# -- parsing ---------------------------------------------------------------------------------


def test_s3_notifications_directly_through_sns_and_their_handshakes():
    found, _ = parse_s3(json.dumps(s3_event("calls", "in/%D7%A9%D7%99%D7%97%D7%94+1.wav")))
    assert [(a.service, a.bucket, a.key, a.size) for a in found] == [("s3", "calls", "in/שיחה 1.wav", 1024)]
    assert parse_s3(sns_envelope(s3_event("calls", "a.wav")))[0][0].key == "a.wav"
    assert parse_s3(json.dumps(s3_event("calls", "a.wav", name="ObjectRemoved:Delete"))) == ([], None)
    test_event = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "calls"}
    assert parse_s3(json.dumps(test_event)) == ([], None)
    _, handshake = parse_s3({"Type": "SubscriptionConfirmation", "SubscribeURL": "https://sns.example/confirm"})
    assert handshake.kind == "sns_subscription" and handshake.value == "https://sns.example/confirm"
    assert parse_s3("not json") == ([], None) and parse_s3(b"[1, 2]") == ([], None)


def test_event_grid_events_in_both_schemas_and_the_validation_handshake():
    found, _ = parse_event_grid(json.dumps(event_grid("calls", "2026/a b.wav")))
    assert [(a.service, a.bucket, a.key, a.size) for a in found] == [("azure", "calls", "2026/a b.wav", 1024)]
    cloud_event = {
        "specversion": "1.0",
        "type": "Microsoft.Storage.BlobCreated",
        "source": "/acct",
        "id": "1",
        "subject": "/blobServices/default/containers/calls/blobs/x.wav",
        "data": {"contentLength": 5, "url": "https://acct.blob.core.windows.net/calls/x.wav"},
    }
    assert parse_event_grid(cloud_event)[0][0].key == "x.wav"
    assert parse_event_grid(event_grid("calls", "x.wav", kind="Microsoft.Storage.BlobDeleted")) == ([], None)
    validation = [
        {
            "id": "1",
            "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
            "subject": "",
            "data": {"validationCode": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"},
        }
    ]
    _, handshake = parse_event_grid(validation)
    assert handshake.response == {"validationResponse": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"}


def test_pubsub_pushes_and_eventarc_events():
    found, _ = parse_pubsub(json.dumps(pubsub_push("calls", "in/a.wav")))
    assert [(a.service, a.bucket, a.key, a.size) for a in found] == [("gcs", "calls", "in/a.wav", 1024)]
    assert parse_pubsub(pubsub_push("calls", "in/a.wav", kind="OBJECT_DELETE")) == ([], None)
    without_attributes = pubsub_push("calls", "b.wav")
    without_attributes["message"]["attributes"] = {"eventType": "OBJECT_FINALIZE"}
    assert parse_pubsub(without_attributes)[0][0].key == "b.wav"  # taken from the object resource
    eventarc = {
        "specversion": "1.0",
        "type": "google.cloud.storage.object.v1.finalized",
        "data": {"bucket": "calls", "name": "c.wav", "size": "3"},
    }
    assert parse_pubsub(eventarc)[0][0].key == "c.wav"


def test_the_monitor_takes_cloud_folders_only():
    monitor = MONITORS["cloud_events"]
    assert monitor.validate_config({"storage_type": "s3", "scan_interval": 300}) == []
    assert "only for S3" in monitor.validate_config({"storage_type": "local"})[0]


# -- announcing ------------------------------------------------------------------------------


def test_a_pushed_event_records_exactly_the_announced_objects(ctx, cloud_folder, tmp_path):
    configure(scanning={"fileSettleSeconds": 0})
    calls = write_calls(tmp_path, 3)
    cloud_folder.upload_calls(tmp_path, calls, prefix="in/")
    cloud_folder.put("out/" + calls[0], b"other prefix")
    event_folder(cloud_folder, prefix="in/")
    push = PUSH[cloud_folder.type]

    _, results = announce.receive_push(cloud_folder.type, push(cloud_folder, "in/" + calls[0]))
    assert [(r.queued, r.ignored) for r in results] == [(1, 0)]
    assert recorded() == ["in/" + calls[0]] and queued_jobs() == 1  # not the other two files

    stem = calls[1].rsplit(".", 1)[0]
    for key in ("out/" + calls[0], f"in/{stem}.json", "in/notes.csv"):  # other prefix, sidecar, other type
        _, results = announce.receive_push(cloud_folder.type, push(cloud_folder, key))
        assert [(r.queued, r.ignored) for r in results] == [(0, 1)]
    other_bucket = {**cloud_folder.config, "bucket": "someone-else", "container": "someone-else"}
    assert (
        announce.receive_push(
            cloud_folder.type, PUSH[cloud_folder.type](type("F", (), {"config": other_bucket}), "in/" + calls[1])
        )[1]
        == []
    )

    _, results = announce.receive_push(cloud_folder.type, push(cloud_folder, "in/" + calls[0]))  # a repeat
    assert results[0].queued == 0 and results[0].known == 1
    _, results = announce.receive_push(cloud_folder.type, push(cloud_folder, "in/never-uploaded.wav"))
    assert results[0].missing == 1
    assert recorded() == ["in/" + calls[0]] and queued_jobs() == 1
    record = db.session.scalars(sa.select(FPR)).one()
    assert record.file_size == (tmp_path / calls[0]).stat().st_size and record.status == "queued"


def test_s3_notifications_through_sqs_are_drained_once(ctx, s3_folder, tmp_path):
    from tests.support.cloud import aws_client

    configure(scanning={"fileSettleSeconds": 0})
    sqs = aws_client("sqs", s3_folder.endpoint)
    queue_url = sqs.create_queue(QueueName=f"calls-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3_folder.client.put_bucket_notification_configuration(
        Bucket=s3_folder.bucket,
        NotificationConfiguration={"QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]},
    )
    folder = event_folder(s3_folder, prefix="in/", queue_url=queue_url)
    calls = write_calls(tmp_path, 2)
    s3_folder.upload_calls(tmp_path, calls, prefix="in/")  # 2 recordings + 2 sidecars
    s3_folder.put("elsewhere/" + calls[0], b"not this folder's")

    results = announce.drain_event_queues()
    assert [(r.folder_id, r.queued, r.ignored) for r in results] == [(folder.id, 2, 3)]
    assert recorded() == sorted("in/" + c for c in calls) and queued_jobs() == 2
    left = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )
    assert all(v == "0" for v in left["Attributes"].values())  # every message was deleted

    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(s3_event(s3_folder.bucket, "in/" + calls[0])))
    assert [(r.queued, r.known) for r in announce.drain_event_queues()] == [(0, 1)]  # a repeat changes nothing
    assert queued_jobs() == 2
