"""The one retry and give-up policy: exponential backoff with jitter, never shorter than the
server's Retry-After, and the rules for when a human must be told instead.

Poll failures, deliveries and replies all retry through ``RetryPolicy``. They give up differently on
purpose: a delivery keeps trying for ``give_up_after_hours`` (a CRM down for a day must lose
nothing), a reply gives up after ``max_attempts`` posts (an agent waiting on it must hear soon), and
polling never gives up (the account stays connected; an admin sees ``last_error``).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from plugin.store.db import as_utc, utcnow

if TYPE_CHECKING:
    from plugin.config import Settings

RETRY_AFTER_CEILING = 86400.0  # never trust a server's Retry-After beyond a day


def backoff_seconds(
    attempts: int,
    *,
    base: float,
    cap: float,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Delay before attempt ``attempts + 1``; ``attempts`` counts failures so far (>= 1)."""
    draw = rng.uniform if rng is not None else random.uniform
    ceiling = min(cap, base * (2 ** max(0, attempts - 1)))
    # Half fixed, half jitter: spreads a thundering herd yet keeps the growth visible.
    delay = ceiling / 2 + draw(0, ceiling / 2)
    if retry_after is not None and math.isfinite(float(retry_after)):
        delay = max(delay, min(float(retry_after), RETRY_AFTER_CEILING))
    return delay


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: float = 2.0
    cap_seconds: float = 3600.0
    max_attempts: int = 12  # replies: posts tried before the agent is told it failed
    give_up_after: timedelta = timedelta(hours=72)  # deliveries: age of the mention before a human is told
    rng: random.Random | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            base_seconds=settings.backoff_base_seconds,
            cap_seconds=settings.backoff_cap_seconds,
            max_attempts=settings.max_attempts,
            give_up_after=timedelta(hours=settings.give_up_after_hours),
        )

    def delay(self, attempts: int, retry_after: float | None = None) -> float:
        return backoff_seconds(
            attempts, base=self.base_seconds, cap=self.cap_seconds, retry_after=retry_after, rng=self.rng
        )

    def next_attempt(self, attempts: int, retry_after: float | None = None, *, now: datetime | None = None) -> datetime:
        """When to try again after ``attempts`` failures, honouring (clamped) Retry-After."""
        return (now or utcnow()) + timedelta(seconds=self.delay(attempts, retry_after))

    def gives_up(
        self, *, attempts: int | None = None, first_seen: datetime | None = None, now: datetime | None = None
    ) -> bool:
        """True once a human must be told: ``attempts`` reached ``max_attempts``, or the work first
        seen at ``first_seen`` is older than ``give_up_after``. Each caller passes the measure that
        applies to it; an unknown measure never gives up."""
        if attempts is not None and attempts >= self.max_attempts:
            return True
        seen = as_utc(first_seen)
        return seen is not None and seen < (now or utcnow()) - self.give_up_after

    def give_up_reason(self, *, attempts: int | None = None) -> str:
        if attempts is not None and attempts >= self.max_attempts:
            return f"gave up after {attempts} attempts"
        return f"gave up after {self.give_up_after.total_seconds() / 3600:g} h"
