"""Requests to addresses a person typed: notification URLs, SMTP hosts, cloud storage
endpoints, model servers, SNS subscribe URLs.

Without a guard, such an address could make the server call the cloud metadata service, a
database admin page or anything else behind the firewall (server-side request forgery).
Two checks, one rule:

- `check_url` / `check_host` judge an address when a setting is saved (a clear message). URLs
  are parsed with urllib3's parser, the one `requests` connects with, so the check and the
  connection cannot disagree on the host.
- `guard()` enforces the rule at the moment of connecting: inside it, every socket connection
  the process opens (whatever library opens it: requests, smtplib, apprise, botocore, the Azure
  and Google SDKs, httpx) is judged on the very address it connects to, after DNS has answered.
  A name that resolved to a public address when it was checked and to 127.0.0.1 a second later
  (DNS rebinding), or a redirect into the server's network, is refused there.

Private addresses (loopback, RFC 1918, link-local, reserved, and IPv6 forms that carry one) are
allowed only with CALLBATCH_ALLOW_PRIVATE_TARGETS; the cloud metadata address never is.
"""

import contextlib
import contextvars
import ipaddress
import os
import socket
import sys

from flask import current_app, has_app_context
from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

METADATA_HOSTS = {"metadata.google.internal", "metadata", "instance-data", "metadata.azure.internal"}
# Never allowed, not even with private targets: they hand out the server's cloud credentials.
METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"),
    ipaddress.ip_address("fd00:ec2::254"),
    ipaddress.ip_address("169.254.170.2"),
}
NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
ALLOW_HINT = "Requests to the server's own network are refused unless CALLBATCH_ALLOW_PRIVATE_TARGETS is set."


class BlockedTarget(Exception):
    """An address the server may not call; the sentence says why. Not an OSError, so that
    no library takes it for a network hiccup and retries or rewords it."""


class Unresolvable(BlockedTarget):
    pass


def private_allowed():
    """The CALLBATCH_ALLOW_PRIVATE_TARGETS setting: the app's, or the environment's outside an app."""
    if has_app_context():
        return bool(current_app.config.get("ALLOW_PRIVATE_TARGETS"))
    return os.environ.get("CALLBATCH_ALLOW_PRIVATE_TARGETS", "").strip().lower() in ("1", "true", "yes", "on")


# -- judging an address typed into a setting --------------------------------------------------


def check_url(url, allow_private=None, schemes=("http", "https")):
    """Raise BlockedTarget unless `url` is a plain URL of one of `schemes` whose host is
    allowed; returns the parsed URL (urllib3's Url)."""
    parsed = parse(url, schemes)
    check_host(parsed.host, parsed.port, allow_private)
    return parsed


def parse(url, schemes=("http", "https")):
    """The URL as the HTTP client reads it; refuses the forms on which parsers disagree."""
    if not isinstance(url, str) or not url.strip():
        raise BlockedTarget("The address is empty.")
    if "\\" in url:
        raise BlockedTarget("The address contains a backslash; write it with forward slashes only.")
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise BlockedTarget("The address contains spaces or control characters.")
    try:
        parsed = parse_url(url)
    except LocationParseError:
        raise BlockedTarget("This is not a valid web address.") from None
    if parsed.scheme not in schemes:
        raise BlockedTarget(f"The address must start with {' or '.join(s + '://' for s in schemes)}.")
    if parsed.auth is not None:
        raise BlockedTarget(
            "The address contains a user name or password before '@'; remove it (credentials go in their own fields)."
        )
    if not parsed.host:
        raise BlockedTarget("The address has no host name.")
    return parsed


def check_host(host, port=None, allow_private=None):
    """Raise BlockedTarget if `host` is, or resolves to, an address the server may not call.
    Returns the addresses it resolves to."""
    allow_private = private_allowed() if allow_private is None else allow_private
    name = str(host or "").strip().strip("[]").lower().rstrip(".")
    if not name:
        raise BlockedTarget("The address has no host name.")
    if name in METADATA_HOSTS:
        raise BlockedTarget(f"{host} is a cloud metadata service; requests to it are refused.")
    addresses = resolve(name, port)
    for address in addresses:
        judge(address, allow_private, host)
    return addresses


def resolve(name, port=None):
    """The addresses the system resolver gives for `name`, as a client connecting to it gets
    them (so 2130706433 and 0x7f.1 are 127.0.0.1, as they are for every HTTP client)."""
    try:
        return [ipaddress.ip_address(name.split("%")[0])]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(name, port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not a valid host name"
        raise Unresolvable(f"The host {name} cannot be resolved ({reason}).") from None
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


def judge(address, allow_private, host=None):
    """Raise BlockedTarget if a connection to `address` is not allowed. An IPv6 address that
    carries an IPv4 one (mapped, compatible, 6to4, NAT64, Teredo) is judged as that too: the
    packets end up there."""
    for candidate in (*embedded_ipv4(address), address):
        if candidate in METADATA_ADDRESSES:
            raise BlockedTarget(f"{host or address} is a cloud metadata service; requests to it are refused.")
        if not allow_private and not is_public(candidate):
            shown = f"{address}" if candidate == address else f"{address} ({candidate})"
            what = "a loopback, private, link-local or reserved address"
            if host:
                sentence = f"{host} points to {shown}, {what}."
            else:
                sentence = f"The connection to {shown} was refused: it is {what}."
            raise BlockedTarget(f"{sentence} {ALLOW_HINT}")


def is_public(address):
    return address.is_global and not address.is_multicast


def embedded_ipv4(address):
    """The IPv4 addresses an IPv6 address stands for, if any."""
    if address.version != 6:
        return []
    found = []
    if address.ipv4_mapped:
        found.append(address.ipv4_mapped)
    if address.sixtofour:
        found.append(address.sixtofour)
    if address.teredo:
        found.extend(address.teredo)
    if any(address in net for net in NAT64) or (address in IPV4_COMPATIBLE and int(address) > 1):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


# -- enforcing the rule where the connection is made -----------------------------------------

_POLICY = contextvars.ContextVar("outbound_policy", default=None)
_JUDGED_EVENTS = ("socket.connect", "socket.sendto", "socket.sendmsg")


@contextlib.contextmanager
def guard(allow_private=None):
    """Run a request to a person-supplied address: every connection opened inside is judged
    on the address it goes to. An exception caused by a refused connection comes out as the
    BlockedTarget itself, whatever the library wrapped it in.

    The rule follows the context, so it holds in asyncio tasks and in apprise's worker threads
    (which copy the context) but not in a plain thread a library starts on its own: such
    background requests are turned off where an SDK makes them (see the GCS provider)."""
    token = _POLICY.set(private_allowed() if allow_private is None else bool(allow_private))
    try:
        yield
    except Exception as exc:
        blocked = blocked_in(exc)
        if blocked is None or blocked is exc:
            raise
        raise blocked from None
    finally:
        _POLICY.reset(token)


def blocked_in(exc):
    """The BlockedTarget behind `exc` (it, its cause or its context), or None."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, BlockedTarget):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def _audit(event, args):
    if event not in _JUDGED_EVENTS:
        return
    allow_private = _POLICY.get()
    if allow_private is None:
        return  # not inside a guard: the app's own connections (database, Redis)
    sock, address = args[0], args[1]
    if getattr(sock, "family", None) not in (socket.AF_INET, socket.AF_INET6) or address is None:
        return
    try:
        ip = ipaddress.ip_address(str(address[0]).split("%")[0])
    except ValueError:
        raise BlockedTarget(
            f"A connection to {address[0]} by name was refused: only resolved addresses can be checked."
        ) from None
    judge(ip, allow_private)


sys.addaudithook(_audit)
