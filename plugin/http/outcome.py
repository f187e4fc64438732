"""The one rule for "did the request reach the network?".

A failure before the request left this machine (DNS, connection refused, connect timeout, TLS
handshake) cannot have changed anything on the network: retrying is safe, so it is a RetriableError.
A failure after it was sent (read timeout, connection reset or closed before the answer, an answer
cut short) may have taken effect: for a write that is ``OutcomeUnknown`` (posting twice is worse than
asking an agent); for a read it is retriable, since reading twice changes nothing.

The rule is applied the same way to requests (our own client) and to the SDKs' transports (Mastodon.py
uses requests; atproto uses httpx, whose exception types connectors pass in through ``never_sent``).
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Iterator

import requests
import urllib3.exceptions

from plugin.errors import HorseshoeError, OutcomeUnknown, RetriableError

from .redact import describe

# Raised by urllib3 while opening the connection, i.e. before a byte of the request was written.
_BEFORE_SENDING: tuple[type[BaseException], ...] = (
    urllib3.exceptions.NewConnectionError,  # refused, unreachable (NameResolutionError is a subclass)
    urllib3.exceptions.ConnectTimeoutError,
    urllib3.exceptions.SSLError,  # the TLS handshake precedes the request
    requests.exceptions.ConnectTimeout,
    requests.exceptions.SSLError,
    socket.gaierror,
    ConnectionRefusedError,
)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, its causes/contexts, and what urllib3/requests wrap in ``args``/``reason``."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for linked in (current.__cause__, current.__context__, getattr(current, "reason", None), *current.args):
            if isinstance(linked, BaseException):
                todo.append(linked)


def never_sent(exc: BaseException, extra: Iterable[type[BaseException]] = ()) -> bool:
    """True only when the failure provably happened before the request was sent.

    ``extra`` adds a transport's own before-sending types (e.g. httpx.ConnectError). Anything not
    recognised counts as "may have been sent": the safe answer for a write.
    """
    kinds = (*_BEFORE_SENDING, *extra)
    return any(isinstance(link, kinds) for link in _chain(exc))


def transport_error(
    exc: BaseException,
    *,
    mutating: bool,
    what: str,
    secrets: Iterable[str | None] = (),
    never_sent_types: Iterable[type[BaseException]] = (),
) -> HorseshoeError:
    """The taxonomy error for a request that got no HTTP answer (see the module docstring)."""
    secrets = tuple(secrets)
    detail = describe(exc, secrets)
    if never_sent(exc, never_sent_types):
        return RetriableError(f"{what}: could not connect ({detail})", code="connection")
    if mutating:
        return OutcomeUnknown(f"{what}: no answer after sending; it may have taken effect ({detail})")
    code = "read_timeout" if isinstance(exc, requests.ReadTimeout) else "connection_lost"
    return RetriableError(f"{what}: no answer ({detail})", code=code)
