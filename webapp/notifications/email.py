"""E-mail through the config's own SMTP server (Flask-Mail): HTML with a plain-text part."""

import re
import smtplib
import socket

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_mail import Connection, Mail
from flask_mail import Message as MailMessage
from markupsafe import escape

from .. import outbound
from .base import DeliveryError, Field, Notifier

SECURITY = (("starttls", "STARTTLS"), ("ssl", "SSL/TLS"), ("none", _l("None (trusted network only)")))
ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class EmailNotifier(Notifier):
    type = "email"
    label = _l("E-mail")
    fields = (
        Field("host", _l("SMTP server"), required=True),
        Field("port", _l("Port"), kind="number", default=587),
        Field("security", _l("Security"), kind="select", default="starttls", choices=SECURITY),
        Field("username", _l("User name")),
        Field("password", _l("Password"), kind="secret"),
        Field("sender", _l("From address"), required=True),
        Field("recipients", _l("To (comma-separated)"), required=True),
    )

    @classmethod
    def validate_config(cls, config):
        errors = super().validate_config(config)
        sender = config.get("sender") or ""
        if sender and not ADDRESS.match(sender):
            errors.append(f"From address '{sender}' is not an e-mail address.")
        for address in recipients(config):
            if not ADDRESS.match(address):
                errors.append(f"'{address}' is not an e-mail address.")
        host = config.get("host")
        if host and isinstance(host, str):
            try:
                outbound.check_host(host)
            except outbound.Unresolvable:
                pass  # judged again when the connection is made
            except outbound.BlockedTarget as exc:
                errors.append(f"SMTP server: {exc}")
        return errors

    def send(self, message):
        security = self.config.get("security") or "starttls"
        # One SMTP server per config, not the app's: a Flask-Mail state built from this config.
        mail = Mail().init_mail(
            {
                "MAIL_SERVER": self.config["host"],
                "MAIL_PORT": int(self.config.get("port") or 587),
                "MAIL_USE_TLS": security == "starttls",
                "MAIL_USE_SSL": security == "ssl",
                "MAIL_USERNAME": self.config.get("username") or None,
                "MAIL_PASSWORD": self.config.get("password") or None,
                "MAIL_SUPPRESS_SEND": False,
            }
        )
        _register_flask_mail()
        mail_message = MailMessage(
            subject=message.title,
            recipients=recipients(self.config),
            sender=self.config["sender"],
            body=message.plain,
            html=html(message),
        )
        try:
            with outbound.guard(), Connection(mail) as connection:
                connection.send(mail_message)
        except outbound.BlockedTarget as exc:
            raise DeliveryError(f"SMTP {self.config['host']}: {exc}") from None
        except (smtplib.SMTPException, OSError, socket.timeout) as exc:
            raise DeliveryError(f"SMTP {self.config['host']}: {exc}") from exc


def _register_flask_mail():
    """Flask-Mail reads app-wide options (ascii_attachments) while it builds any message."""
    if "mail" not in current_app.extensions:
        Mail(current_app._get_current_object())


def recipients(config):
    return [a.strip() for a in str(config.get("recipients") or "").split(",") if a.strip()]


def html(message):
    # One element a line: SMTP servers refuse lines over 998 characters, and Flask-Mail sends
    # ASCII text as 7bit, unwrapped.
    facts = "\n".join(
        f"<tr><th align='start'>{escape(k)}</th><td dir='auto'>{escape(v)}</td></tr>" for k, v in message.facts
    )
    links = " ·\n".join(f"<a href='{escape(url)}'>{escape(label)}</a>" for label, url in message.links)
    return "\n".join(
        [
            "<!doctype html><html><body style='font-family:sans-serif'>",
            f"<h2 dir='auto'>{escape(message.title)}</h2>",
            f"<p dir='auto'>{escape(message.text)}</p>",
        ]
        + ([f"<table cellpadding='4'>\n{facts}\n</table>"] if facts else [])
        + ([f"<p>{links}</p>"] if links else [])
        + ["</body></html>"]
    )
