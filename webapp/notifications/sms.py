"""SMS through Twilio: a short text and a link back to the app."""

import re
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import lazy_gettext as _l
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from .. import outbound
from .base import DeliveryError, Field, Notifier

PHONE = re.compile(r"^\+[1-9]\d{6,14}$")
SMS_LIMIT = 320  # two concatenated segments of Latin text; Hebrew costs more per segment


class SmsNotifier(Notifier):
    type = "sms"
    label = _l("SMS (Twilio)")
    fields = (
        Field("account_sid", _l("Account SID"), required=True),
        Field("auth_token", _l("Auth token"), kind="secret", required=True),
        Field("from_number", _l("From number"), required=True, help=_l("A Twilio number in +E.164 form.")),
        Field(
            "to_numbers",
            _l("To numbers (comma-separated)"),
            required=True,
            help=_l("e.g. +972501234567, +972521234567"),
        ),
    )

    @classmethod
    def validate_config(cls, config):
        errors = super().validate_config(config)
        for number in [config.get("from_number") or "", *numbers(config)]:
            if number and not PHONE.match(number):
                errors.append(f"'{number}' is not a phone number in international form (+972...).")
        return errors

    def send(self, message):
        client = Client(self.config["account_sid"], self.config["auth_token"], http_client=http_client())
        failures = []
        for number in numbers(self.config):
            try:
                with outbound.guard():
                    client.messages.create(to=number, from_=self.config["from_number"], body=text(message))
            except outbound.BlockedTarget as exc:
                raise DeliveryError(f"Twilio API: {exc}") from None
            except (TwilioException, OSError) as exc:
                failures.append(f"{number}: {exc}")
        if failures:
            raise DeliveryError("Twilio refused: " + "; ".join(failures))


def numbers(config):
    return [
        n.strip().replace(" ", "").replace("-", "") for n in str(config.get("to_numbers") or "").split(",") if n.strip()
    ]


def text(message):
    link = message.links[0][1] if message.links else ""
    room = SMS_LIMIT - len(link) - 1
    title = message.title if len(message.title) <= room else message.title[: room - 1] + "…"
    return f"{title}\n{link}" if link else title


def http_client():
    """Twilio's own client, or one aimed at CALLBATCH_TWILIO_API_BASE (a Twilio-compatible
    gateway, or the test suite's stand-in)."""
    timeout = current_app.config.get("NOTIFY_TIMEOUT_SECONDS", 10)
    base = current_app.config.get("TWILIO_API_BASE")
    if base:
        try:
            outbound.check_url(base)
        except outbound.BlockedTarget as exc:
            raise DeliveryError(f"CALLBATCH_TWILIO_API_BASE: {exc}") from None
    client = RewritingHttpClient(base, timeout=timeout) if base else TwilioHttpClient(timeout=timeout)
    client.session.trust_env = False  # no proxy from the environment: it would call out unchecked
    return client


class RewritingHttpClient(TwilioHttpClient):
    """Sends every Twilio API request to `base` instead of https://api.twilio.com."""

    def __init__(self, base, **kwargs):
        super().__init__(**kwargs)
        self.base = base.rstrip("/")

    def request(self, method, url, *args, **kwargs):
        parts = urlsplit(url)
        target = self.base + parts.path + (f"?{parts.query}" if parts.query else "")
        return super().request(method, target, *args, **kwargs)
