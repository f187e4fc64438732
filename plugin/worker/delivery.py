"""Adaptive delivery batching: low latency at low load, few calls at high load, no timers.

The rule is the "smart batching" of a busy server, not a linger: a CRM that has no call of ours under
way gets everything that is due for it at once (a lone mention is pushed alone, the moment it is
routed); while a call to that CRM is under way, what comes due meanwhile waits for that call to return
and then leaves together with everything else that accumulated, up to the CRM's maximum per call
(Zendesk: 100 resources per any_channel push; Salesforce: 200 records per sObject Collections call).
So the batch size follows the load by itself: at 1 mention a second every batch holds one; at 100 a
second a batch holds what arrived during the previous call (a few dozen); under a backlog every call
is full.

Nothing is ever held back by a clock. Work left for an in-flight call is still ``pending`` in the
database (never claimed, so every "is anything left?" check sees it) and counts as busy in the tick
that left it (``Tick.held``), so a helper that waits for the pipeline to settle never mistakes it for
idleness. The worker whose call is in flight takes it as soon as its call returns (its tick made
progress, so it ticks again at once); if that worker dies instead, the call's count is dropped in a
``finally`` and the next tick of anyone takes the work.

Only work that came due is left for a call in flight: work whose lease ran out (its worker stalled
or died, possibly inside the very call counted in flight, which may never return) is taken over at
once, as leases promise (``claim``). Holding it for that call would let a stalled call keep its
items from every worker of its process.

A delivery lane (plugin/worker/lanes.py) has a second source of "more is coming": the routing pass
under way in its process. While that pass alone will fill the partial batch, the lane holds it (only
until the pass ends: plugin/pipeline/upcoming.py), so a backlog being routed goes out in full calls
instead of one small call per group commit; a lone mention's pass is never that big.

Calls in flight are counted per CRM (sink name) within this process; workers in other processes claim
independently (their claims never overlap: leases and ``SKIP LOCKED``).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Collection, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from plugin.config import Settings
from plugin.models import Mention
from plugin.pipeline.upcoming import ROUTING
from plugin.plugins import Hooks
from plugin.sink import Delivered, DeliveryItem, DeliveryOutcome, Sink, SinkConnection
from plugin.store.deliveries import DeliveryRepository
from plugin.store.statuses import Outcome
from plugin.worker.retrysplit import retry_batches

log = logging.getLogger(__name__)
_T = TypeVar("_T")

# A worker claims at most this many full batches of one CRM per tick: enough that a backlog is
# drained in full calls, few enough that one tick's deliveries do not keep new arrivals from being
# routed for long (the next tick takes the rest).
CALLS_PER_TICK = 4


class InFlight:
    """Calls to each CRM under way in this process right now."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: Counter[str] = Counter()

    @contextmanager
    def call(self, sink: str) -> Iterator[None]:
        with self._lock:
            self._calls[sink] += 1
        try:
            yield
        finally:
            with self._lock:
                self._calls[sink] -= 1
                if self._calls[sink] <= 0:
                    del self._calls[sink]

    def count(self, sink: str) -> int:
        with self._lock:
            return self._calls[sink]


IN_FLIGHT = InFlight()


@dataclass(frozen=True)
class ClaimPlan:
    """How much of one CRM's due work a worker claims now (``limit``), and how much it leaves for the
    call in flight (``held``, counted as busy)."""

    limit: int
    held: int = 0


def plan_claim(max_batch: int, in_flight: int, due: int | None, hold: Callable[[int], bool] | None = None) -> ClaimPlan:
    """The claim for one CRM. ``due`` (counted up to ``max_batch * CALLS_PER_TICK``) is only needed
    when a call to the CRM is in flight or a routing pass is under way; None means "not counted".
    ``hold(missing)``: whether a partial batch ``missing`` short of full may wait for the routing
    passes under way (plugin/pipeline/upcoming.py); not asked while a call is in flight."""
    size = max(1, max_batch)
    most = size * CALLS_PER_TICK
    counted = min(due or 0, most)
    full, rest = counted // size * size, counted % size
    if in_flight == 0:
        # Nothing in flight: everything due goes now, in full batches, the rest next tick; unless
        # routing is about to fill the partial batch (asked every time: 0 = nothing partial).
        if hold is not None and hold(size - rest if rest else 0):
            return ClaimPlan(limit=full, held=rest)
        return ClaimPlan(limit=most)
    if due is None:
        return ClaimPlan(limit=most)
    if counted < size:
        # A call is under way: what is due joins the batch that leaves when it returns.
        return ClaimPlan(limit=0, held=counted)
    # Enough for full calls even now: only full batches go alongside the call in flight, the
    # remainder waits to fill up.
    return ClaimPlan(limit=full, held=rest)


def claim(
    deliveries: DeliveryRepository,
    owner: str,
    sink: str,
    max_batch: int,
    lease_seconds: float,
    exclude_tenants: Collection[int] = (),
) -> tuple[list[int], int]:
    """Claim ``sink``'s due work for one tick by the rule above: (ids claimed, deliveries held)."""
    in_flight = IN_FLIGHT.count(sink)
    ids: list[int] = []
    due = None  # counted only when a call or a routing pass is under way: an idle CRM costs no extra query
    if in_flight or ROUTING.upcoming(sink):
        cap = max(1, max_batch) * CALLS_PER_TICK
        # Lapsed leases first: that work was never left for the call in flight (see above).
        ids += deliveries.claim_due(owner, cap, lease_seconds, sink=sink, exclude_tenants=exclude_tenants, lapsed=True)
        due = deliveries.count_due(sink, cap)
    plan = plan_claim(max_batch, in_flight, due, hold=lambda missing: ROUTING.may_hold(sink, missing))
    if plan.limit:
        ids += deliveries.claim_due(owner, plan.limit, lease_seconds, sink=sink, exclude_tenants=exclude_tenants)
    return ids, plan.held


def max_batch(crm_maximum: int, settings: Settings) -> int:
    """Mentions per call: the CRM's maximum, or fewer when ``delivery_batch_size`` says so (the naive
    one-per-call baseline of ``bench latency``, or an operator's caution)."""
    configured = settings.delivery_batch_size
    return max(1, min(crm_maximum, configured) if configured > 0 else crm_maximum)


def batches(items: list[_T], max_batch: int) -> list[list[_T]]:
    """``items`` (oldest mention first: parents before their replies) in calls of at most ``max_batch``."""
    size = max(1, max_batch)
    return [items[start : start + size] for start in range(0, len(items), size)]


def sink_batches(
    sink: Sink, connection: SinkConnection, items: list[DeliveryItem], max_batch: int, split: bool
) -> Iterator[list[DeliveryItem]]:
    """A group's calls to ``sink``: ``max_batch`` items per call *per request key* (``Sink.call_key``),
    oldest first within each key. Cut across keys, a backlog of a tenant with 12 Zendesk channel
    instances went out as 12 pushes of one mention per 12 (``delivery_batch_size = 12``, bench budget) or
    12 of ~8 per 100, spending a rate budget that full pushes would not. ``split``: smaller batches
    after failures (retrysplit.py)."""
    keyed: dict[Hashable, list[DeliveryItem]] = {}
    for item in items:
        keyed.setdefault(sink.call_key(connection, item), []).append(item)
    for group in keyed.values():
        yield from retry_batches(group, max_batch) if split else batches(group, max_batch)


def outcome_of(outcome: DeliveryOutcome) -> Outcome:
    """A third-party sink may return a status it should not; like any unclear result, it is retried."""
    try:
        return Outcome(outcome.status)
    except ValueError:
        log.warning("sink returned unknown outcome %r for delivery %s; retrying", outcome.status, outcome.delivery_id)
        return Outcome.RETRY


def tell_observers(
    hooks: Hooks, outcomes: list[DeliveryOutcome], mentions: dict[int, Mention], sink: str, tenant: str
) -> None:
    """The delivered observers of one CRM call: ``horseshoe_delivered_batch`` once with every final
    outcome (the built-in observers write once per call, not once per mention: on this thread their
    writes queue behind the webhooks' for SQLite's one writer and hold the CRM's next batch), then
    ``horseshoe_delivered`` for each, for the observers written against the per-mention hook."""
    final = [
        Delivered(mentions[o.delivery_id], o)
        for o in outcomes
        if o.status in (Outcome.DELIVERED, Outcome.FAILED) and o.delivery_id in mentions
    ]
    if not final:
        return
    hooks.delivered_batch(final, sink=sink, tenant=tenant)
    for item in final:
        hooks.delivered(mention=item.mention, outcome=item.outcome, sink=sink, tenant=tenant)
