"""What the console's health page and home show: every account and CRM connection the admin reaches.

The reads are the store's (``HealthRepository.accounts()`` / ``.sinks()``, the same as ``horseshoe
doctor``, ``/healthz`` and the Zendesk admin page) and the states and sentences ``plugin/healthwords.py``'s;
this module only scopes them to the admin's tenants and orders them, the most urgent first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from plugin.console.auth import Principal
from plugin.healthwords import State, account_state, sink_state
from plugin.runtime import Runtime
from plugin.store.health import AccountHealth, Attention, SinkHealth

Row = TypeVar("Row")

# The order rows are listed in: what waits for an admin first, what is fine last.
URGENCY = ("attention", "disabled", "warning", "stuck", "failing", "quarantined", "idle", "healthy")


@dataclass(frozen=True)
class AccountLine:
    health: AccountHealth
    state: State


@dataclass(frozen=True)
class SinkLine:
    health: SinkHealth
    state: State
    guided: bool  # the CRM has a guided connect flow (the Salesforce org): "connect it again" is a button


@dataclass(frozen=True)
class Board:
    accounts: list[AccountLine]
    sinks: list[SinkLine]
    # Refused credentials of a CRM with no connection row left (it was removed after the refusal).
    orphans: list[Attention] = field(default_factory=list)

    @property
    def needs_attention(self) -> int:
        """Accounts and CRM connections an admin has something to do about (paused ones and warnings)."""
        return (
            sum(line.state.needs_admin for line in self.accounts)
            + sum(line.state.needs_admin for line in self.sinks)
            + len(self.orphans)
        )


def _scoped(me: Principal, read: Callable[[int | None], Iterable[Row]], tenant_of: Callable[[Row], int]) -> list[Row]:
    """An operator's one read of everything; a tenant admin's read of each of their tenants. The
    ``reaches`` check after it keeps the page honest if a read ever forgot its filter."""
    rows = list(read(None)) if me.tenant_ids is None else [r for t in me.tenant_ids for r in read(t)]
    return [r for r in rows if me.reaches(tenant_of(r))]


def board(rt: Runtime, me: Principal) -> Board:
    stuck_after = rt.settings.stuck_after_polls
    accounts = [
        AccountLine(h, account_state(h))
        for h in _scoped(me, lambda t: rt.store.health.accounts(t, stuck_after=stuck_after), lambda h: h.tenant_id)
    ]
    sinks = [
        SinkLine(c, sink_state(c), _guided(rt, c.sink))
        for c in _scoped(me, rt.store.health.sinks, lambda c: c.tenant_id)
    ]
    connected = {(line.health.tenant_id, line.health.sink) for line in sinks}
    orphans = [
        a for a in _scoped(me, rt.store.health.attention, lambda a: a.tenant_id)
        if a.sink is not None and (a.tenant_id, a.sink) not in connected
    ]  # fmt: skip
    accounts.sort(key=lambda line: (URGENCY.index(line.state.key), line.health.tenant_key, line.health.account_id))
    sinks.sort(key=lambda line: (URGENCY.index(line.state.key), line.health.tenant_key, line.health.sink))
    return Board(accounts, sinks, orphans)


def _guided(rt: Runtime, sink: str) -> bool:
    plugin = rt.registry.sinks.get(sink)
    return plugin is not None and plugin.connect_flow() is not None
