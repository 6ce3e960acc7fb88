"""What every notifier shares: the message it is given, its settings, and a guarded HTTP POST."""

from dataclasses import asdict, dataclass, field

import requests
from flask import current_app, has_app_context
from flask_babel import force_locale

from .. import outbound, redaction
from ..providers.storage.base import Field

__all__ = ["DeliveryError", "Field", "Message", "Notifier", "post"]


class DeliveryError(Exception):
    """The channel did not take the message; the sentence says why."""


@dataclass
class Message:
    """A notification, channel-neutral: each notifier renders it its own way."""

    condition: str
    title: str  # one line: e-mail subject, first line of an SMS
    text: str  # a few plain sentences
    facts: list = field(default_factory=list)  # [label, value] pairs
    links: list = field(default_factory=list)  # [label, url] pairs; the first is the main one
    events: list = field(default_factory=list)  # the raw events, for machine receivers
    severity: str = "error"  # error | warning | info

    def to_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, data):
        return cls(**data)

    @property
    def plain(self):
        """The whole message as plain text."""
        lines = [self.title, "", self.text]
        if self.facts:
            lines += [""] + [f"{label}: {value}" for label, value in self.facts]
        if self.links:
            lines += [""] + [f"{label}: {url}" for label, url in self.links]
        return "\n".join(lines)


class Notifier:
    type = ""
    label = ""
    fields = ()
    target = ""  # the field holding the address messages go to, judged by the outbound guard when saved

    def __init__(self, config):
        self.config = config  # secrets already decrypted
        redaction.remember(config, self.secret_fields())

    @classmethod
    def secret_fields(cls):
        return tuple(f.name for f in cls.fields if f.kind == "secret")

    @classmethod
    def validate_config(cls, config):
        """Messages for every missing or malformed setting; [] when the config is usable.
        Written in English, as every stored or API message is; pages say them in the reader's
        language (views/stored_words)."""
        with force_locale("en"):
            errors = cls._config_errors(config)
            if cls.target and config.get(cls.target) and not errors:
                label = next(str(f.label) for f in cls.fields if f.name == cls.target)
                problem = cls.target_problem(config[cls.target], label)
                if problem:
                    errors.append(problem)
            return errors

    @classmethod
    def _config_errors(cls, config):
        errors = []
        for f in cls.fields:
            value = config.get(f.name)
            if f.required and (value is None or str(value).strip() == ""):
                errors.append(f"{f.label} is required.")
            elif f.kind == "number" and value not in (None, ""):
                try:
                    int(value)
                except (TypeError, ValueError):
                    errors.append(f"{f.label} must be a whole number.")
            elif f.kind == "select" and value not in (None, "") and value not in [c[0] for c in f.choices]:
                errors.append(f"{f.label} must be one of {', '.join(c[0] for c in f.choices)}.")
        return errors

    @classmethod
    def target_problem(cls, address, label):
        """A validation message for a target address the server may not send to, or None."""
        return check_target(address, label)

    def send(self, message):
        raise NotImplementedError


def check_target(url, label="URL"):
    """A validation message for a URL the server may not call, or None. A name that does not
    resolve now is let through: every connection is judged again when it is made."""
    try:
        outbound.check_url(url)
    except outbound.Unresolvable:
        return None
    except outbound.BlockedTarget as exc:
        return f"{label}: {exc}"
    return None


def post(url, **kwargs):
    """POST to a person-supplied URL. Checked when saved, and again where it matters: the
    connection is judged on the address it goes to (DNS may have changed since, or answer
    differently twice), redirects are not followed (they could lead inside), and no proxy
    from the environment is used (it would make the request on the server's behalf, unchecked)."""
    timeout = current_app.config.get("NOTIFY_TIMEOUT_SECONDS", 10) if has_app_context() else 10
    try:
        host = outbound.parse(url).host
        with outbound.guard(), requests.Session() as session:
            session.trust_env = False
            response = session.post(url, timeout=timeout, allow_redirects=False, **kwargs)
    except outbound.BlockedTarget as exc:
        raise DeliveryError(str(exc)) from None
    except requests.RequestException as exc:
        raise DeliveryError(f"Could not reach {host}: {exc}") from None
    if response.is_redirect:
        raise DeliveryError(
            f"{host} answered with a redirect (HTTP {response.status_code}); redirects are "
            "not followed: enter the final address."
        )
    if response.status_code >= 300:
        raise DeliveryError(f"{host} answered HTTP {response.status_code}: {response.text[:200]}")
    return response
