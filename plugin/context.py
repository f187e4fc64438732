"""Which tenant a hook call is made for.

Hook signatures are a stable public contract and carry no tenant, yet a resolver must never look
across tenants. The host sets this context around every per-mention hook call; plugins read it with
``current_tenant()``. Around a routing pass it also sets which authors the pass routes
(``current_pass()``), so a plugin can look them up together.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Tenant:
    id: int
    key: str  # Zendesk subdomain / Salesforce org id


_current: ContextVar[Tenant | None] = ContextVar("horseshoe_tenant", default=None)


def current_tenant() -> Tenant | None:
    return _current.get()


@contextmanager
def tenant_context(tenant: Tenant) -> Iterator[Tenant]:
    token = _current.set(tenant)
    try:
        yield tenant
    finally:
        _current.reset(token)


@dataclass
class RoutingPass:
    """The routing pass a per-mention hook call belongs to: the (network, author external id) of every
    mention the pass routes, per tenant id, and ``memo``, where a plugin may keep what it looked up
    for the whole pass (its own keys; gone when the pass ends).

    Hooks are called one mention at a time, but a resolver that knows every author of the pass can
    read their records in one query instead of one per mention. What a plugin keeps in ``memo`` is
    as of the pass (a few seconds at most): it must drop or refresh what it writes itself."""

    authors: dict[int, frozenset[tuple[str, str]]]
    memo: dict[object, object] = field(default_factory=dict)


_pass: ContextVar[RoutingPass | None] = ContextVar("horseshoe_routing_pass", default=None)


def current_pass() -> RoutingPass | None:
    return _pass.get()


@contextmanager
def routing_pass(authors: dict[int, frozenset[tuple[str, str]]]) -> Iterator[RoutingPass]:
    scope = RoutingPass(authors)
    token = _pass.set(scope)
    try:
        yield scope
    finally:
        _pass.reset(token)
