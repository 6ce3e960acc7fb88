"""Notifications: channels (a registry keyed by a config's `type`), the conditions that fire
them, cooldown with digests, and delivery in RQ jobs. Pages and the API use `service`."""

from .apprise import AppriseNotifier
from .email import EmailNotifier
from .slack import SlackNotifier
from .sms import SmsNotifier
from .webhook import WebhookNotifier

NOTIFIERS = {
    "email": EmailNotifier,
    "slack": SlackNotifier,
    "webhook": WebhookNotifier,
    "sms": SmsNotifier,
    "apprise": AppriseNotifier,
}

__all__ = ["NOTIFIERS"]
