"""Any apprise URL (Teams, Discord, Telegram and 100+ more) for channels without a native notifier."""

import apprise
from flask_babel import lazy_gettext as _l

from .. import outbound
from .base import DeliveryError, Field, Notifier

# Plugins that notify this machine itself (desktop notifications, the local syslog, a USB
# light): no network connection the guard could judge, so only with private targets allowed.
LOCAL_PLUGINS = (
    "NotifyDBus",
    "NotifyGLib",
    "NotifyGnome",
    "NotifyMacOSX",
    "NotifyWindows",
    "NotifySyslog",
    "NotifyBlink1",
)


class AppriseNotifier(Notifier):
    type = "apprise"
    label = _l("Apprise (Teams, Discord, Telegram, …)")
    fields = (
        Field(
            "url",
            _l("Apprise URL"),
            kind="secret",
            required=True,
            help=_l("For example discord://webhook_id/webhook_token or tgram://bot_token/chat_id."),
        ),
    )
    target = "url"

    @classmethod
    def target_problem(cls, address, label):
        try:
            check(address)
        except outbound.BlockedTarget as exc:
            return f"{label}: {exc}"
        return None

    def send(self, message):
        """Every connection the plugin opens (to its service, its ?smtp= server, a redirect)
        is judged by the outbound guard on the address it goes to."""
        notifier = apprise.Apprise()
        try:
            notifier.add(check(self.config["url"]))  # this one plugin: a string could name several URLs
            with apprise.LogCapture(level=apprise.logging.WARNING) as log, outbound.guard():
                result = notifier.notify(
                    title=message.title,
                    body=body(message),
                    notify_type=NOTIFY_TYPES.get(message.severity, apprise.NotifyType.INFO),
                )
        except outbound.BlockedTarget as exc:
            raise DeliveryError(str(exc)) from None
        if not result:
            raise DeliveryError("apprise could not deliver: " + (log.getvalue().strip()[-300:] or "no reason given"))


NOTIFY_TYPES = {
    "error": apprise.NotifyType.FAILURE,
    "warning": apprise.NotifyType.WARNING,
    "info": apprise.NotifyType.INFO,
}


def body(message):
    return message.plain.split("\n", 2)[2]  # the title travels separately


def check(url):
    """The apprise plugin for `url`, refused when apprise does not understand it, when it
    notifies this machine itself, or when a host it connects to (its server, the `?smtp=`
    server of mailto://) is in the server's own network. Services with a fixed endpoint
    (Discord, Telegram, …) keep ids in the host part, so their host is not judged as one."""
    if "\\" in url or any(ord(c) < 32 or ord(c) == 127 for c in url):
        raise outbound.BlockedTarget(
            "The address contains a backslash or control characters; parsers disagree on where such an address leads."
        )
    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        raise outbound.BlockedTarget("this is not a URL apprise understands (see the apprise wiki for the forms).")
    if type(plugin).__name__ in LOCAL_PLUGINS and not outbound.private_allowed():
        raise outbound.BlockedTarget(
            f"{url.split(':', 1)[0]}:// notifies this server itself, which the server "
            f"cannot check. {outbound.ALLOW_HINT}"
        )
    for host, port in _hosts(plugin):
        try:
            outbound.check_host(host, port)
        except outbound.Unresolvable:
            pass  # an id, or a name that does not resolve now: judged again on every connection
    return plugin


def _hosts(plugin):
    """The hosts the plugin connects to by name: its own, unless its service's address is
    fixed (the host part then holds an id), and every other `*_host` (mailto's ?smtp=)."""
    endpoints = getattr(type(plugin), "notify_url", None) or []
    endpoints = list(endpoints.values()) if isinstance(endpoints, dict) else [endpoints] if endpoints else []
    fixed = endpoints and all("{" not in e.split("://", 1)[-1].split("/", 1)[0] for e in endpoints)
    hosts = [] if fixed or not getattr(plugin, "host", None) else [(plugin.host, getattr(plugin, "port", None))]
    for name, value in vars(plugin).items():
        if name.endswith("_host") and isinstance(value, str) and value:
            hosts.append((value, None))
    return hosts
