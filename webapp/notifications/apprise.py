"""Any apprise URL (Teams, Discord, Telegram and 100+ more) for channels without a native notifier."""
import apprise

from .base import DeliveryError, Field, Notifier, allow_private
from . import ssrf


class AppriseNotifier(Notifier):
    type = "apprise"
    label = "Apprise (Teams, Discord, Telegram, …)"
    fields = (
        Field("url", "Apprise URL", kind="secret", required=True,
              help="For example discord://webhook_id/webhook_token or tgram://bot_token/chat_id."),
    )

    @classmethod
    def validate_config(cls, config):
        errors = super().validate_config(config)
        if config.get("url") and not errors:
            try:
                check(config["url"])
            except ssrf.BlockedTarget as exc:
                errors.append(f"Apprise URL: {exc}")
        return errors

    def send(self, message):
        try:
            check(self.config["url"])
        except ssrf.BlockedTarget as exc:
            raise DeliveryError(str(exc)) from exc
        notifier = apprise.Apprise()
        notifier.add(self.config["url"])
        with apprise.LogCapture(level=apprise.logging.WARNING) as log:
            result = notifier.notify(title=message.title, body=body(message),
                                     notify_type=NOTIFY_TYPES.get(message.severity, apprise.NotifyType.INFO))
        if not result:
            raise DeliveryError("apprise could not deliver: " + (log.getvalue().strip()[-300:] or "no reason given"))


NOTIFY_TYPES = {"error": apprise.NotifyType.FAILURE, "warning": apprise.NotifyType.WARNING,
                "info": apprise.NotifyType.INFO}


def body(message):
    return message.plain.split("\n", 2)[2]  # the title travels separately


def check(url):
    """Refuse a URL apprise does not understand, or one aimed at the server's own network.
    Services with a fixed endpoint (Discord, Telegram, …) keep ids in the host part, so only
    plugins that connect to the host they are given have it checked."""
    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        raise ssrf.BlockedTarget("this is not a URL apprise understands (see the apprise wiki for the forms).")
    host = getattr(plugin, "host", None)
    if not host or getattr(type(plugin), "notify_url", None):
        return
    try:
        ssrf.check_host(host, getattr(plugin, "port", None), allow_private())
    except ssrf.Unresolvable:
        pass  # an id such as a Slack token: the plugin cannot connect to it as a host either
