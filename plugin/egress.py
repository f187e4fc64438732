"""Where horseshoe may open connections to: the one rule for every URL an admin or a payload gives us.

An ``api_base`` (self-hosted Mastodon, a Bluesky PDS), a Salesforce instance or login URL, an admin's
notification webhook and every media URL we fetch must be ``https`` and must not resolve to a private,
loopback, link-local or otherwise reserved address: otherwise a form field turns the server into a
proxy into its own network (SSRF). Hosts the operator lists in ``allowed_private_hosts`` are exempt
(the sandbox's fakes on 127.0.0.1, an on-premises Mastodon), and may use plain http.

Two places apply the rule. ``check_url`` when a URL is accepted (an admin form, a configuration), so
the admin reads the reason at once. And every connection to such a URL, at the moment it is opened
(``plugin/http/pinned.py``): the name is resolved once, every address checked, and the socket opened to
a checked address while Host header, TLS SNI and certificate verification keep the original name. A
DNS answer that changes after the first check (DNS rebinding: public when the form was saved,
127.0.0.1 when the worker connects) therefore reaches nothing private.

The rule is operator-wide, so it is held here (``configure``, called by ``build_runtime`` from the
settings); a caller may pass its own ``Policy`` instead (tests, a notifier with its own list).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from plugin.errors import BadInput, FatalError

Resolver = Callable[..., list[tuple[Any, ...]]]
# (address, port), timeout, source address -> a connected socket (``socket.create_connection``'s shape).
Connect = Callable[..., socket.socket]


class EgressRefused(FatalError):
    """A connection the egress rule forbids (no retry changes the rule; the reason names the host)."""

    def __init__(self, message: str):
        super().__init__(message, code="egress_refused")


@dataclass(frozen=True)
class Policy:
    """The operator's exemptions and how names are resolved and sockets opened (tests inject both)."""

    allowed: frozenset[str] = frozenset()
    resolve: Resolver = field(default=socket.getaddrinfo, compare=False)
    connect: Connect = field(default=socket.create_connection, compare=False)


_lock = threading.Lock()
_current = Policy()


def configure(policy: Policy) -> None:
    """Make ``policy`` the process's rule (``build_runtime`` does, from ``allowed_private_hosts``)."""
    global _current
    with _lock:
        _current = policy


def current() -> Policy:
    return _current


def allowed_hosts(setting: str) -> frozenset[str]:
    """``allowed_private_hosts`` ("127.0.0.1, mastodon.internal") as a set of lower-case host names."""
    return frozenset(h.strip().lower() for h in setting.split(",") if h.strip())


def _private(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def vetted_addresses(host: str, port: int, policy: Policy, *, what: str = "connection") -> list[tuple[Any, ...]]:
    """The ``getaddrinfo`` answers for ``host`` a connection may use: all of them for an allowed host,
    else all of them provided every one is public (``EgressRefused`` otherwise, ``OSError`` when the
    name does not resolve). Resolved once: the caller connects to these, never resolves again."""
    infos = policy.resolve(host, port, type=socket.SOCK_STREAM)
    if not infos:
        raise socket.gaierror(f"{host} has no address")
    if host.lower().strip("[]") in policy.allowed:
        return list(infos)
    private = sorted({str(info[4][0]) for info in infos if _private(str(info[4][0]))})
    if private:
        raise EgressRefused(
            f"{what}: {host} resolves to a private, loopback or link-local address ({', '.join(private)}); "
            "an operator may allow it with the allowed_private_hosts setting"
        )
    return list(infos)


def check_url(
    url: str,
    allowed: Iterable[str] | None = None,
    *,
    what: str = "URL",
    resolve: Resolver | None = None,
) -> str:
    """``url`` when horseshoe may connect to it, else ``BadInput`` (400) with the reason.
    ``allowed``/``resolve`` default to the configured policy's."""
    policy = current()
    if allowed is None:
        allowed = policy.allowed
    resolve = resolve or policy.resolve
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


def check_scheme(url: str, policy: Policy, *, what: str = "connection") -> None:
    """At connection time: https, or plain http to an allowed host (``EgressRefused`` otherwise)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme == "https" or (parts.scheme == "http" and host in policy.allowed):
        return
    raise EgressRefused(f"{what}: {parts.scheme}://{host} is refused; only https leaves this server")
