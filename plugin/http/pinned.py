"""Connections that go to the address the egress rule checked (``plugin/egress.py``), and nowhere else.

Checking a URL when it is saved is not enough: the name is resolved again when the connection is
opened, and a hostile DNS server can answer a public address the first time and 127.0.0.1 the second
(DNS rebinding). Here the name is resolved once per new connection, every address is checked, and
the socket is opened to one of exactly those addresses. Only the socket's destination changes: the
``Host`` header, TLS SNI and certificate verification still use the URL's own name, so a pinned
connection to a public host is as authenticated as any other.

Two clients, one rule:

* ``pinned_session()`` / ``PinnedAdapter``: requests (``HttpClient``, attachment downloads,
  notification webhooks, Salesforce through simple-salesforce, Mastodon.py). Redirects are followed
  by requests hop by hop through the same adapter, so each hop is checked too.
* ``PinnedTransport``: httpx (the atproto SDK behind the Bluesky connector).

Plain http is refused unless the host is one the operator allowed (the sandbox's fakes). A
connection through an HTTP(S) proxy is resolved by the proxy, not here; sessions made here ignore
proxy environment variables for that reason (``trust_env = False``).
"""

from __future__ import annotations

import socket
import ssl
from typing import Any

import httpcore
import httpx
import requests
from httpcore._backends.sync import SyncStream
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from plugin import egress


def _open(policy: egress.Policy, host: str, port: int, timeout: Any, **options: Any) -> socket.socket:
    """A socket to a vetted address of ``host`` (the first that accepts), or the last error."""
    addresses = egress.vetted_addresses(host, port, policy, what=f"connection to {host}")
    last: OSError | None = None
    for *_, address in addresses:  # family and type follow from the address literal
        try:
            return policy.connect((address[0], port), timeout, **options)
        except OSError as exc:
            last = exc
    assert last is not None  # vetted_addresses never returns an empty list
    raise last


class _PinnedMixin:
    """``_new_conn`` of urllib3's connections, opening the socket to a vetted address."""

    egress_policy: egress.Policy | None = None  # None: the process's configured rule
    host: str
    port: int
    timeout: Any
    source_address: Any
    socket_options: Any

    def _new_conn(self) -> socket.socket:
        policy = self.egress_policy or egress.current()
        host = self.host.strip("[]")
        # urllib3's "no timeout given" is its own sentinel, not a number: the socket default then.
        timeout = self.timeout if self.timeout is None or isinstance(self.timeout, int | float) else None
        try:
            sock = _open(policy, host, self.port, timeout, source_address=self.source_address)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc  # type: ignore[arg-type]
        except TimeoutError as exc:
            raise ConnectTimeoutError(self, f"Connection to {host} timed out") from exc
        except OSError as exc:
            raise NewConnectionError(self, f"Failed to establish a new connection: {exc}") from exc  # type: ignore[arg-type]
        for option in self.socket_options or ():
            sock.setsockopt(*option)
        return sock


class _PinnedHTTPConnection(_PinnedMixin, HTTPConnection):
    pass


class _PinnedHTTPSConnection(_PinnedMixin, HTTPSConnection):
    pass


class PinnedAdapter(HTTPAdapter):
    """A requests transport adapter whose every connection is vetted and pinned (``policy`` or the
    process's configured rule)."""

    def __init__(self, policy: egress.Policy | None = None, **kwargs: Any):
        self.egress_policy = policy
        super().__init__(**kwargs)

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any) -> None:
        super().init_poolmanager(connections, maxsize, block=block, **pool_kwargs)
        bound = {"egress_policy": self.egress_policy}
        http_conn = type("PinnedHTTPConnection", (_PinnedHTTPConnection,), bound)
        https_conn = type("PinnedHTTPSConnection", (_PinnedHTTPSConnection,), bound)
        self.poolmanager.pool_classes_by_scheme = {
            "http": type("PinnedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn}),
            "https": type("PinnedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn}),
        }

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        egress.check_scheme(request.url or "", self.egress_policy or egress.current())
        return super().send(request, *args, **kwargs)


def mount_pinned(session: requests.Session, policy: egress.Policy | None = None) -> requests.Session:
    """Route every http(s) request of ``session`` through a ``PinnedAdapter``."""
    adapter = PinnedAdapter(policy)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.trust_env = False  # a proxy from the environment would resolve the name itself
    return session


def pinned_session(policy: egress.Policy | None = None) -> requests.Session:
    """A ``requests.Session`` that connects only where the egress rule allows, to the vetted address."""
    return mount_pinned(requests.Session(), policy)


class _PinnedBackend(httpcore.NetworkBackend):
    """httpcore's network backend, opening TCP connections to vetted addresses only."""

    def __init__(self, policy: egress.Policy | None):
        self._policy = policy
        self._sync = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        policy = self._policy or egress.current()
        source = (local_address, 0) if local_address else None
        try:
            sock = _open(policy, host.strip("[]"), port, timeout, source_address=source)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        for option in socket_options or ():
            sock.setsockopt(*option)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return SyncStream(sock)

    def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: Any = None) -> Any:
        raise httpcore.ConnectError("unix sockets are not an egress destination")

    def sleep(self, seconds: float) -> None:
        self._sync.sleep(seconds)


class PinnedTransport(httpx.HTTPTransport):
    """An httpx transport whose every connection is vetted and pinned; TLS (SNI, certificate) for the
    URL's own name, as with any httpx transport."""

    def __init__(self, policy: egress.Policy | None = None, *, verify: ssl.SSLContext | bool = True):
        super().__init__(verify=verify, trust_env=False)
        self._egress_policy = policy
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=_PinnedBackend(policy),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        egress.check_scheme(str(request.url), self._egress_policy or egress.current())
        return super().handle_request(request)
