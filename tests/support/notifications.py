"""An SMTP stand-in's handler (aiosmtpd) that keeps every message it receives."""

import email
import email.policy
import threading


class Inbox:
    """aiosmtpd handler keeping every message, parsed as a modern EmailMessage."""

    def __init__(self):
        self.messages = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.arrived:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
            self.arrived.notify_all()
        return "250 OK"
