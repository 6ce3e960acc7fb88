"""External triggers that announce new recordings:

- `POST /api/hooks/folders/{id}`: a folder's inbound webhook, authenticated by the folder's
  secret (`?token=`) or an HMAC-SHA256 signature of the body (`X-Callbatch-Signature`).
- `POST /api/batch/events/s3`: Amazon SNS HTTP(S) subscription to a bucket's S3 event
  notifications, including the SubscriptionConfirmation handshake (the SubscribeURL is
  fetched only when it matches CALLBATCH_SNS_SUBSCRIBE_URL_PATTERN and passes the outbound guard).
- `POST /api/batch/events/azure` (+ `OPTIONS`): Azure Event Grid webhook, Event Grid schema
  (SubscriptionValidationEvent handshake) and CloudEvents 1.0 schema (OPTIONS handshake).
- `POST /api/batch/events/gcs`: Google Cloud Pub/Sub push subscription of a bucket's
  notifications (or Eventarc CloudEvents).

The cloud receivers need `?token=<CALLBATCH_EVENTS_TOKEN>` in the subscription URL. Each takes
exactly the announced objects of the folders (cloud_events monitor) on that bucket. When a
folder is busy (a scan holds it) or its storage cannot be reached, the answer is a 503 so the
service delivers the event again."""

import hmac
import logging
import re

import requests
from flask import current_app, jsonify, request

from .. import outbound
from ..batch import announce
from ..errors import CallbatchError
from ..extensions import db
from ..models import ExternalFolder
from ..services import hooks
from . import bp
from .errors import ApiError
from .input import read_json
from .registry import operation
from .schemas import Announce, EventsQuery, HookQuery

log = logging.getLogger(__name__)
TAG = "receivers"
SIGNATURE_HEADER = "X-Callbatch-Signature"


def _result(r):
    return {
        "folder_id": r.folder_id,
        "job_id": r.job_id,
        "queued": r.queued,
        "held": r.held,
        "skipped": r.skipped,
        "known": r.known,
        "ignored": r.ignored,
        "missing": r.missing,
        "busy": r.busy,
    }


# -- the per-folder inbound webhook -------------------------------------------------------------


@operation(
    bp,
    "POST",
    "/hooks/folders/<int:folder_id>",
    tag=TAG,
    role=None,
    body=Announce,
    query=HookQuery,
    status=202,
    summary="A folder's inbound webhook: announce new recordings",
    extra_parameters=[
        {
            "name": SIGNATURE_HEADER,
            "in": "header",
            "required": False,
            "description": "sha256=<hex HMAC-SHA256 of the raw body under the folder's secret>",
            "schema": {"type": "string", "maxLength": 200},
        }
    ],
    responses={
        401: "Missing or wrong secret / signature",
        409: "Folder disabled",
        503: "Folder busy or unreachable: send again later",
    },
)
def folder_hook(folder_id, query, body):
    """Authenticate with the folder's webhook secret as `?token=`, or sign the body. Body:
    {"files": ["path/or/key.wav", ...]} — paths relative to the folder (object keys for
    cloud folders). Exactly those files are recorded and queued (a local folder is scanned)."""
    folder = db.session.get(ExternalFolder, folder_id)
    if folder is None:
        raise ApiError(404, f"There is no folder {folder_id}.")
    raw = request.get_data(cache=True)
    if not hooks.verify(folder, raw, token=query.token, signature=request.headers.get(SIGNATURE_HEADER)):
        raise ApiError(
            401,
            "Send the folder's webhook secret as ?token=, or sign the body with it "
            f"({SIGNATURE_HEADER}: sha256=<hex>).",
        )
    if not folder.enabled:
        raise ApiError(409, f"Folder {folder.id} is disabled.")
    try:
        report = hooks.announce_files(folder, body.files)
    except CallbatchError as err:
        raise ApiError(503, err.message, code=err.code, headers={"Retry-After": "30"}) from None
    if report.get("busy"):
        raise ApiError(
            503, "A scan holds the folder; send the announcement again.", code="BUSY", headers={"Retry-After": "10"}
        )
    return report, 202


# -- cloud storage events ----------------------------------------------------------------------


def _check_token(query):
    expected = current_app.config.get("EVENTS_TOKEN") or ""
    if not expected:
        raise ApiError(
            403,
            "The cloud event receivers are off: set CALLBATCH_EVENTS_TOKEN and put "
            "?token=<it> in the subscription URL.",
            code="RECEIVERS_DISABLED",
        )
    if not query.token or not hmac.compare_digest(query.token.encode(), expected.encode()):
        raise ApiError(401, "Missing or wrong ?token= for the event receivers.")


def _receive(service):
    raw = request.get_data(cache=True)
    read_json()  # malformed JSON is a 400 here, not an event silently ignored
    try:
        handshake, results = announce.receive_push(service, raw)
    except CallbatchError as err:
        raise ApiError(503, err.message, code=err.code, headers={"Retry-After": "30"}) from None
    if any(r.busy for r in results):
        raise ApiError(
            503, "A scan holds a folder; deliver the event again.", code="BUSY", headers={"Retry-After": "10"}
        )
    return handshake, {"folders": [_result(r) for r in results], "queued": sum(r.queued + r.held for r in results)}


def subscribe_url_allowed(url):
    """Whether a SubscribeURL may be fetched: it must match the configured pattern (by default
    https://sns.<region>.amazonaws.com/…) and pass the outbound guard. Returns (ok, reason)."""
    pattern = current_app.config.get("SNS_SUBSCRIBE_URL_PATTERN")
    if not url or not re.match(pattern, url):
        return False, "The SubscribeURL is not an Amazon SNS address."
    try:
        outbound.check_url(url)
    except outbound.BlockedTarget as exc:
        return False, str(exc)
    return True, ""


RECEIVER_RESPONSES = {
    401: "Missing or wrong ?token=",
    403: "Receivers off (no CALLBATCH_EVENTS_TOKEN)",
    503: "A folder is busy or unreachable: the service should deliver again",
}
ANY_JSON = {"description": "The service's payload, as it publishes it."}


@operation(
    bp,
    "POST",
    "/batch/events/s3",
    tag=TAG,
    role=None,
    query=EventsQuery,
    body_doc=ANY_JSON,
    summary="Amazon S3 event notifications via an SNS HTTP(S) subscription",
    responses={**RECEIVER_RESPONSES, 502: "The SubscribeURL did not confirm"},
)
def s3_events(query):
    """SNS `Notification` envelopes holding S3 `ObjectCreated:*` records (raw deliveries too);
    a `SubscriptionConfirmation` is confirmed by fetching its SubscribeURL (allow-listed)."""
    _check_token(query)
    handshake, report = _receive("s3")
    if handshake is not None:
        ok, reason = subscribe_url_allowed(handshake.value)
        if not ok:
            raise ApiError(403, f"Subscription not confirmed: {reason}", code="SUBSCRIBE_URL_REFUSED")
        try:
            with outbound.guard(), requests.Session() as session:
                session.trust_env = False  # no proxy from the environment: it would call out unchecked
                answer = session.get(
                    handshake.value, allow_redirects=False, timeout=current_app.config.get("NOTIFY_TIMEOUT_SECONDS", 10)
                )
        except outbound.BlockedTarget as exc:
            raise ApiError(403, f"Subscription not confirmed: {exc}", code="SUBSCRIBE_URL_REFUSED") from None
        except requests.RequestException as exc:
            raise ApiError(502, f"Fetching the SubscribeURL failed ({type(exc).__name__}).") from None
        if answer.status_code != 200:
            raise ApiError(502, f"The SubscribeURL answered {answer.status_code}.")
        log.info("confirmed an SNS subscription")
        return {"confirmed": True}
    return report


@operation(
    bp,
    "POST",
    "/batch/events/azure",
    tag=TAG,
    role=None,
    query=EventsQuery,
    body_doc=ANY_JSON,
    summary="Azure Event Grid (Event Grid or CloudEvents schema)",
    responses=RECEIVER_RESPONSES,
)
def azure_events(query):
    """`Microsoft.Storage.BlobCreated` events; the `SubscriptionValidationEvent` handshake is
    answered with {"validationResponse": code}."""
    _check_token(query)
    handshake, report = _receive("azure")
    if handshake is not None:
        return handshake.response
    return report


@operation(
    bp,
    "OPTIONS",
    "/batch/events/azure",
    tag=TAG,
    role=None,
    query=EventsQuery,
    summary="CloudEvents webhook validation (Event Grid, CloudEvents schema)",
    extra_parameters=[
        {
            "name": "WebHook-Request-Origin",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "maxLength": 200},
        }
    ],
)
def azure_events_options(query):
    """Answers the CloudEvents abuse-protection handshake: `WebHook-Allowed-Origin`."""
    _check_token(query)
    origin = request.headers.get("WebHook-Request-Origin", "")
    resp = jsonify({"allowed_origin": origin or None})
    if origin:
        resp.headers["WebHook-Allowed-Origin"] = origin
        resp.headers["WebHook-Allowed-Rate"] = "*"
    return resp


@operation(
    bp,
    "POST",
    "/batch/events/gcs",
    tag=TAG,
    role=None,
    query=EventsQuery,
    body_doc=ANY_JSON,
    summary="Google Cloud Storage notifications via a Pub/Sub push subscription",
    responses=RECEIVER_RESPONSES,
)
def gcs_events(query):
    """Pub/Sub push messages of `OBJECT_FINALIZE` notifications (or Eventarc CloudEvents)."""
    _check_token(query)
    _handshake, report = _receive("gcs")
    return report
