"""Which tenant a hook call is made for.

Hook signatures are a stable public contract and carry no tenant, yet a resolver must never look
across tenants. The host sets this context around every per-mention hook call; plugins read it with
``current_tenant()``. Around a routing pass it also sets which authors the pass routes
(``current_pass()``), so a plugin can look them up together.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from plugin.models import Mention


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
    as of the pass (a few seconds at most): it must drop or refresh what it writes itself.

    ``mentions``: the pass's mentions per tenant id, in the order their hooks are called (triage
    reads their histories together). ``epoch`` counts the moments the store may have changed under
    the pass: each group commit of a routing pass (it routes some of the pass's mentions), or a wait
    of the announcer, whose batches of just-stored mentions are passes too. Key what you read about
    mention statuses by ``epoch``: read before, it is stale."""

    authors: dict[int, frozenset[tuple[str, str]]]
    memo: dict[object, object] = field(default_factory=dict)
    mentions: dict[int, tuple[Mention, ...]] = field(default_factory=dict)
    epoch: int = 0

    def advance(self) -> None:
        """Called by the host when the store may have changed under the pass."""
        self.epoch += 1


_pass: ContextVar[RoutingPass | None] = ContextVar("horseshoe_routing_pass", default=None)


def current_pass() -> RoutingPass | None:
    return _pass.get()


def authors_of(mentions: Mapping[int, Sequence[Mention]]) -> dict[int, frozenset[tuple[str, str]]]:
    """The (network, author external id) of ``mentions``, per tenant id: ``RoutingPass.authors``."""
    return {tenant: frozenset((m.network, m.author.external_id) for m in found) for tenant, found in mentions.items()}


@contextmanager
def routing_pass(mentions: Mapping[int, Sequence[Mention]]) -> Iterator[RoutingPass]:
    """The pass of ``mentions`` (per tenant id; its authors are theirs) for the hook calls inside."""
    scope = RoutingPass(authors_of(mentions), mentions={k: tuple(v) for k, v in mentions.items()})
    token = _pass.set(scope)
    try:
        yield scope
    finally:
        _pass.reset(token)
