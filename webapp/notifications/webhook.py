"""A JSON POST to any URL, signed so the receiver can tell it came from this server.

X-Callbatch-Timestamp: seconds since the epoch when it was sent
X-Callbatch-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>" with the config's secret>
"""

import hashlib
import hmac
import json
import time

from flask_babel import lazy_gettext as _l

from .base import Field, Notifier, post


class WebhookNotifier(Notifier):
    type = "webhook"
    label = _l("Webhook")
    fields = (
        Field("url", _l("URL"), required=True, help=_l("Receives a JSON POST for every notification.")),
        Field(
            "secret",
            _l("Signing secret"),
            kind="secret",
            help=_l("Signs each request (X-Callbatch-Signature) so the receiver can verify it."),
        ),
    )
    target = "url"

    def send(self, message):
        body = json.dumps(document(message), ensure_ascii=False).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Callbatch",
            "X-Callbatch-Event": message.condition,
            "X-Callbatch-Timestamp": timestamp,
        }
        if self.config.get("secret"):
            headers["X-Callbatch-Signature"] = "sha256=" + sign(self.config["secret"], timestamp, body)
        post(self.config["url"], data=body, headers=headers)


def sign(secret, timestamp, body):
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify(secret, timestamp, body, signature, tolerance=300, now=None):
    """What a receiver does (in any language): recompute, compare in constant time, and
    refuse old timestamps so a captured request cannot be replayed."""
    if abs((now or time.time()) - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest("sha256=" + sign(secret, timestamp, body), signature)


def document(message):
    return {
        "event": message.condition,
        "title": message.title,
        "text": message.text,
        "severity": message.severity,
        "facts": dict(message.facts),
        "links": dict(message.links),
        "events": message.events,
    }
