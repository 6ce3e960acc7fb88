"""External triggers over HTTP: the cloud receivers with payloads in the services' published
formats (S3 via SNS incl. SubscriptionConfirmation, Azure Event Grid in both schemas incl.
the validation handshakes, GCS Pub/Sub push) and a folder's inbound webhook (secret token
or HMAC signature) — each queues exactly the announced objects."""

import json

import pytest

from tests.support.cloud_events import PUSH, event_folder, queued_jobs, recorded
from tests.support.recordings import write_calls
from webapp.services import hooks

TOKEN = "events-token-0123456789"


@pytest.fixture
def receivers(app, monkeypatch, ctx):
    from tests.support.helpers import configure

    configure(scanning={"fileSettleSeconds": 0})
    monkeypatch.setitem(app.config, "EVENTS_TOKEN", TOKEN)
    return app.test_client()


def post(client, app, path, body, **kwargs):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    with app.app_context():
        return client.post(path, data=data, content_type=kwargs.pop("content_type", "application/json"), **kwargs)


def test_cloud_events_queue_exactly_the_announced_objects(receivers, app, cloud_folder, tmp_path):
    calls = write_calls(tmp_path, 3)
    cloud_folder.upload_calls(tmp_path, calls, prefix="in/")
    event_folder(cloud_folder, prefix="in/")
    push = PUSH[cloud_folder.type]
    path = f"/api/batch/events/{cloud_folder.type}"

    assert post(receivers, app, path, push(cloud_folder, "in/" + calls[0])).status_code == 401  # no token
    assert post(receivers, app, path + "?token=wrong", push(cloud_folder, "in/" + calls[0])).status_code == 401
    assert post(receivers, app, path + f"?token={TOKEN}", b"{not json").status_code == 400
    answer = post(
        receivers,
        app,
        path + f"?token={TOKEN}",
        push(cloud_folder, "in/" + calls[0]),
        content_type="text/plain; charset=UTF-8" if cloud_folder.type == "s3" else "application/json",
    )
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["queued"] == 1
    assert recorded() == ["in/" + calls[0]] and queued_jobs() == 1  # not the two others
    repeat = post(receivers, app, path + f"?token={TOKEN}", push(cloud_folder, "in/" + calls[0]))
    assert repeat.get_json()["queued"] == 0 and queued_jobs() == 1


def test_event_grid_handshakes(receivers, app):
    validation = [
        {
            "id": "2d1781af",
            "topic": "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/acct",
            "subject": "",
            "eventTime": "2026-11-25T10:00:00Z",
            "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
            "metadataVersion": "1",
            "dataVersion": "2",
            "data": {
                "validationCode": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6",
                "validationUrl": "https://rp-eastus2.eventgrid.azure.net/x",
            },
        }
    ]
    answer = post(
        receivers,
        app,
        f"/api/batch/events/azure?token={TOKEN}",
        validation,
        headers={"aeg-event-type": "SubscriptionValidation"},
    )
    assert answer.status_code == 200
    assert answer.get_json() == {"validationResponse": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"}
    with app.app_context():
        options = receivers.options(
            f"/api/batch/events/azure?token={TOKEN}", headers={"WebHook-Request-Origin": "eventgrid.azure.net"}
        )
    assert options.status_code == 200 and options.headers["WebHook-Allowed-Origin"] == "eventgrid.azure.net"
    with app.app_context():
        assert receivers.options("/api/batch/events/azure?token=bad").status_code == 401


def test_receivers_are_off_without_a_token(receivers, app, monkeypatch):
    monkeypatch.setitem(app.config, "EVENTS_TOKEN", "")
    answer = post(receivers, app, "/api/batch/events/gcs?token=x", {"message": {}})
    assert answer.status_code == 403 and answer.get_json()["error"]["code"] == "RECEIVERS_DISABLED"


def sns_confirmation(url):
    return {
        "Type": "SubscriptionConfirmation",
        "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3beb71854e285d6ad02428b09ceece29417f1f02d609c582afbacc99c583a916b9981dd2728f4ae6fdb82efd087cc3b7849e05798d2d2785c03b0879594eeac82c01f235d0e717736",  # noqa: E501 (AWS's example, unbroken)
        "TopicArn": "arn:aws:sns:us-west-2:123456789012:MyTopic",
        "Message": "You have chosen to subscribe to the topic arn:aws:sns:us-west-2:123456789012:MyTopic.\n"
        "To confirm the subscription, visit the SubscribeURL included in this message.",
        "SubscribeURL": url,
        "Timestamp": "2026-11-25T10:00:00.000Z",
        "SignatureVersion": "1",
        "Signature": "EXAMPLEpH+DcEwjAPg8O9mY8dReBSwksfg2S7WKQcikcNKWLQjwu6A4VbeS0QHVCkhRS7fUQvi2egU3N858fiTDN6bkkOxYDVrY0Ad8L10Hs3zH81mtnPk5uvvolIC1CXGu43obcgFxeL3khZl8IKvO61GWB6jI9b5+gLPoBc1Q=",  # noqa: E501 (as above)
        "SigningCertURL": "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem",
    }


def test_sns_subscription_is_confirmed_only_at_an_allowed_address(receivers, app, monkeypatch, httpserver):
    httpserver.expect_request("/", query_string={"Action": "ConfirmSubscription", "Token": "abc"}).respond_with_data(
        "<ConfirmSubscriptionResponse/>"
    )
    local = httpserver.url_for("/") + "?Action=ConfirmSubscription&Token=abc"
    path = f"/api/batch/events/s3?token={TOKEN}"
    monkeypatch.setitem(app.config, "ALLOW_PRIVATE_TARGETS", False)

    # the default allow-list only takes https://sns.<region>.amazonaws.com/: nothing is fetched
    refused = post(receivers, app, path, sns_confirmation(local), content_type="text/plain; charset=UTF-8")
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "SUBSCRIBE_URL_REFUSED"
    metadata = post(receivers, app, path, sns_confirmation("http://169.254.169.254/latest/meta-data/"))
    assert metadata.status_code == 403
    assert len(httpserver.log) == 0

    # matching the pattern is not enough: the outbound guard refuses a loopback address...
    monkeypatch.setitem(app.config, "SNS_SUBSCRIBE_URL_PATTERN", r"^http://127\.0\.0\.1:\d+/")
    assert post(receivers, app, path, sns_confirmation(local)).status_code == 403
    assert len(httpserver.log) == 0
    # ...unless private targets are allowed (a test, or an on-premises SNS stand-in)
    monkeypatch.setitem(app.config, "ALLOW_PRIVATE_TARGETS", True)
    confirmed = post(receivers, app, path, sns_confirmation(local))
    assert confirmed.status_code == 200 and confirmed.get_json() == {"confirmed": True}
    assert len(httpserver.log) == 1 and httpserver.log[0][0].method == "GET"

    from webapp.api.receivers import subscribe_url_allowed

    monkeypatch.setitem(app.config, "SNS_SUBSCRIBE_URL_PATTERN", r"^https://sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/")
    with app.test_request_context():
        assert not subscribe_url_allowed("https://sns.us-east-1.amazonaws.com.evil.example/?x")[0]
        assert not subscribe_url_allowed("http://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription")[0]


def test_a_folders_inbound_webhook_with_token_or_signature(api, app, s3_folder, tmp_path, ctx):
    from tests.support.helpers import configure

    configure(scanning={"fileSettleSeconds": 0})
    calls = write_calls(tmp_path, 3)
    s3_folder.upload_calls(tmp_path, calls)
    folder = event_folder(s3_folder)
    created = api.post("admin", f"/api/batch/folders/{folder.id}/webhook")
    assert created.status_code == 201
    secret = created.get_json()["secret"]
    assert "secret" not in api.get("admin", f"/api/batch/folders/{folder.id}/webhook").get_json()

    url = f"/api/hooks/folders/{folder.id}"
    body = json.dumps({"files": [calls[0]]}).encode()
    assert api.post(None, url, data=body, content_type="application/json").status_code == 401
    assert api.post(None, url + "?token=wrong", data=body, content_type="application/json").status_code == 401
    bad_sig = api.post(
        None,
        url,
        data=body,
        content_type="application/json",
        headers={"X-Callbatch-Signature": hooks.sign("wrong", body)},
    )
    assert bad_sig.status_code == 401
    by_token = api.post(None, url + f"?token={secret}", data=body, content_type="application/json")
    assert by_token.status_code == 202 and by_token.get_json()["queued"] == 1, by_token.get_json()
    body2 = json.dumps({"files": [calls[1]]}).encode()
    signed = api.post(
        None,
        url,
        data=body2,
        content_type="application/json",
        headers={"X-Callbatch-Signature": hooks.sign(secret, body2)},
    )
    assert signed.status_code == 202 and signed.get_json()["queued"] == 1
    assert recorded() == sorted(calls[:2]) and queued_jobs() == 2  # exactly the two announced
    unknown_field = api.post(None, url + f"?token={secret}", json={"files": [calls[2]], "x": 1})
    assert unknown_field.status_code == 422

    # rotating the secret retires the old one
    api.post("admin", f"/api/batch/folders/{folder.id}/webhook")
    assert api.post(None, url + f"?token={secret}", data=body, content_type="application/json").status_code == 401
