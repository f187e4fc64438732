"""Exponential backoff with full jitter, never shorter than the server's Retry-After."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

from plugin.store.db import utcnow


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
        delay = max(delay, min(float(retry_after), 86400.0))  # never trust a server beyond a day
    return delay


def next_attempt_at(attempts: int, *, base: float, cap: float, retry_after: float | None = None) -> datetime:
    return utcnow() + timedelta(seconds=backoff_seconds(attempts, base=base, cap=cap, retry_after=retry_after))
