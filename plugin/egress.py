"""Where horseshoe may open connections to: the one rule for every URL an admin or a payload gives us.

An ``api_base`` (self-hosted Mastodon, a Bluesky PDS), a Salesforce instance or login URL, an admin's
notification webhook and every media URL we fetch must be ``https`` and must not resolve to a private,
loopback, link-local or otherwise reserved address: otherwise a form field turns the server into a
proxy into its own network (SSRF). Hosts the operator lists in ``allowed_private_hosts`` are exempt
(the sandbox's fakes on 127.0.0.1, an on-premises Mastodon), and may use plain http.

The check resolves the name when the URL is accepted; it does not pin the address for the later
connection, so a DNS answer that changes in between is not covered (documented in README).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from plugin.errors import BadInput

Resolver = Callable[..., list[tuple[Any, ...]]]


def allowed_hosts(setting: str) -> frozenset[str]:
    """``allowed_private_hosts`` ("127.0.0.1, mastodon.internal") as a set of lower-case host names."""
    return frozenset(h.strip().lower() for h in setting.split(",") if h.strip())


def _private(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def check_url(
    url: str, allowed: Iterable[str], *, what: str = "URL", resolve: Resolver = socket.getaddrinfo
) -> str:
    """``url`` when horseshoe may connect to it, else ``BadInput`` (400) with the reason."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError as exc:
        raise BadInput(f"{what} is not a valid URL: {exc}") from None
    if parts.username or parts.password:
        raise BadInput(f"{what} must not carry a user name or password")
    if not host:
        raise BadInput(f"{what} must be an absolute http(s) URL with a host")
    exempt = host in set(allowed)
    if parts.scheme != "https" and not (exempt and parts.scheme == "http"):
        raise BadInput(f"{what} must use https")
    if exempt:
        return url
    try:
        infos = resolve(host, port or 443, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise BadInput(f"{what}: cannot resolve {host}: {exc}") from None
    addresses = {str(info[4][0]) for info in infos}
    if not addresses:
        raise BadInput(f"{what}: {host} has no address")
    if any(_private(a) for a in addresses):
        raise BadInput(
            f"{what}: {host} resolves to a private, loopback or link-local address; "
            "an operator may allow it with the allowed_private_hosts setting"
        )
    return url
