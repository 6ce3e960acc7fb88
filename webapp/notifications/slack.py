"""Slack incoming webhook: a header, the sentence, the facts and buttons back to the app."""

from flask_babel import lazy_gettext as _l

from .base import Field, Notifier, post

SLACK_TEXT_LIMIT = 2900  # Slack refuses section text over 3000 characters


class SlackNotifier(Notifier):
    type = "slack"
    label = "Slack"
    fields = (
        Field(
            "webhook_url",
            _l("Incoming webhook URL"),
            kind="secret",
            required=True,
            help=_l("From Slack: Apps → Incoming Webhooks → Add to a channel."),
        ),
    )
    target = "webhook_url"

    def send(self, message):
        post(self.config["webhook_url"], json=payload(message))


def payload(message):
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": message.title[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _escape(message.text)[:SLACK_TEXT_LIMIT]}},
    ]
    if message.facts:
        blocks.append(
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*{_escape(label)}*\n{_escape(value)}"[:1900]}
                    for label, value in message.facts[:10]
                ],
            }
        )
    if message.links:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {"type": "button", "text": {"type": "plain_text", "text": label}, "url": url}
                    for label, url in message.links[:5]
                ],
            }
        )
    return {"text": message.title, "blocks": blocks}


def _escape(text):
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
