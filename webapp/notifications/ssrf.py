"""Refuse outgoing requests to this server's own network (server-side request forgery).

A notification URL is typed by a person; without this check it could make the worker call
the cloud metadata service, a database admin page or anything else behind the firewall.
"""
import ipaddress
import socket
from urllib.parse import urlsplit

METADATA_HOSTS = {"metadata.google.internal", "metadata", "instance-data"}
# Never allowed, not even with private targets: they hand out the server's cloud credentials.
METADATA_ADDRESSES = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}


class BlockedTarget(Exception):
    pass


class Unresolvable(BlockedTarget):
    pass


def check_url(url, allow_private=False, schemes=("http", "https")):
    """Raise BlockedTarget unless `url` is an http(s) URL whose host is public."""
    parts = urlsplit(url or "")
    if parts.scheme not in schemes:
        raise BlockedTarget(f"The address must start with {' or '.join(s + '://' for s in schemes)}.")
    if not parts.hostname:
        raise BlockedTarget("The address has no host name.")
    check_host(parts.hostname, parts.port, allow_private)


def check_host(host, port=None, allow_private=False):
    """Raise BlockedTarget if `host` is, or resolves to, a non-public address."""
    if host.lower().rstrip(".") in METADATA_HOSTS:
        raise BlockedTarget(f"{host} is a cloud metadata service; requests to it are refused.")
    for address in _addresses(host, port):
        if address in METADATA_ADDRESSES:
            raise BlockedTarget(f"{host} is a cloud metadata service; requests to it are refused.")
        if not allow_private and (not address.is_global or address.is_multicast):
            raise BlockedTarget(
                f"{host} points to {address}, a loopback, private, link-local or reserved address. "
                "Requests to the server's own network are refused unless CALLBATCH_ALLOW_PRIVATE_TARGETS is set."
            )


def _addresses(host, port):
    try:
        addresses = [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)
        except socket.gaierror as exc:
            raise Unresolvable(f"The host {host} cannot be resolved ({exc.strerror}).") from exc
        addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    # An IPv4 address wrapped in IPv6 (::ffff:10.0.0.1) is judged as the IPv4 address it is.
    return [(a.ipv4_mapped or a) if isinstance(a, ipaddress.IPv6Address) else a for a in addresses]
