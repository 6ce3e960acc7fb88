"""For the notification tests: an SMTP stand-in's handler (aiosmtpd) that keeps every message
it receives, and a file event as the status machine announces it."""

import email
import email.policy
import threading

from webapp.notifications import conditions as c

# A skipped file, as the status machine announces it to the notification rules.
FILE_SKIPPED_EVENT = {
    "condition": c.FILE_SKIPPED,
    "file_id": 7,
    "file_name": "3f2b8c1e-7a4d-4e2b-9c1f-0a1b2c3d4e5f.wav",
    "folder_id": None,
    "folder_name": "שיחות מכירה",
    "job_id": 3,
    "error_code": "CORRUPTED_FILE",
    "message": "The file is empty or damaged: no audio could be read from it.",
    "at": "2026-11-24T10:00:00",
}


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

    def channel_config(self, **changes):
        """The config of an e-mail channel that sends to this inbox, with `changes`."""
        return {
            "host": "127.0.0.1",
            "port": self.port,
            "security": "none",
            "sender": "callbatch@example.com",
            "recipients": "ops@example.com",
            **changes,
        }
