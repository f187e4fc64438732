"""One pass of a worker (``Tick``: what it did) and how long a loop that made no progress waits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from plugin.store.db import utcnow


@dataclass
class Tick:
    polled: int = 0
    ingested: int = 0
    duplicates: int = 0
    routed: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    replies: int = 0
    deferred: int = 0  # items left for when their target's rate budget refills (not work done)
    next_due: datetime | None = None  # the earliest refill that deferred work waits for
    held: int = 0  # due deliveries left for a call in flight (plugin/worker/delivery.py): still work
    errors: list[str] = field(default_factory=list)

    def waits_until(self, when: datetime) -> None:
        self.next_due = when if self.next_due is None else min(self.next_due, when)

    @property
    def busy(self) -> bool:
        return bool(self.ingested or self.routed or self.delivered or self.replies or self.retried or self.held)

    @property
    def progressed(self) -> bool:
        """Something moved forward (a retry alone only rescheduled work)."""
        return bool(self.ingested or self.routed or self.delivered or self.replies or self.failed)


def idle_seconds(tick: Tick, idle: float) -> float:
    """How long a loop that made no progress sleeps: ``idle``, or less when a rate budget refills sooner."""
    if tick.next_due is None:
        return idle
    return max(0.0, min(idle, (tick.next_due - utcnow()).total_seconds()))
