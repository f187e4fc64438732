"""Metering: which answers a piece of work got from a rate-limited service, seen from outside it.

The host reserves a rate budget for a call (a Zendesk push, a network poll) before it runs, and
afterwards settles it with what really happened: how many requests went out and what the service
said about its limit in their headers (``X-Rate-Limit-Remaining``, ``Sforce-Limit-Info``...). The
code that sends the requests (``HttpClient``, the Zendesk push client, the Salesforce session hook)
only calls ``record(response)``; whoever opened a ``metering()`` scope in the same thread or task sees
every answer. Outside a scope ``record`` does nothing, so clients need not know whether anyone
counts. A context variable, not a global: worker threads meter their own calls only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import requests

_CURRENT: ContextVar[Meter | None] = ContextVar("horseshoe_http_meter", default=None)


@dataclass
class Meter:
    """The answers seen in one scope: their count, statuses, and the last headers (newest wins)."""

    calls: int = 0
    statuses: list[int] = field(default_factory=list)
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def rate_limited(self) -> int:
        return sum(1 for status in self.statuses if status == 429)

    @property
    def refused(self) -> int:
        """Answers that refused the credentials (401): the service could not tell whose call it was."""
        return sum(1 for status in self.statuses if status == 401)


def record(response: requests.Response) -> None:
    """Count one answer in the current scope (if any). Cheap and never raises for the caller."""
    meter = _CURRENT.get()
    if meter is None:
        return
    meter.calls += 1
    meter.statuses.append(int(response.status_code))
    meter.headers = response.headers


def response_hook(response: requests.Response, *args: object, **kwargs: object) -> None:
    """``session.hooks["response"].append(response_hook)``: meter a library's own Session (zenpy,
    simple-salesforce, an SDK) without touching its calls."""
    record(response)


@contextmanager
def metering() -> Iterator[Meter]:
    """Collect the answers of the calls made inside the block (nested scopes each see their own)."""
    meter = Meter()
    token = _CURRENT.set(meter)
    try:
        yield meter
    finally:
        _CURRENT.reset(token)
