"""The byte budget per tenant for unauthenticated callbacks (``/zendesk/events``).

A fixed one-minute window (wall-clock minutes, so every process agrees which window it is) per
tenant key, kept in the store (``callback_budgets``): ``horseshoe serve`` runs several gunicorn
workers, and a budget per process would multiply the limit by their number.
"""

from __future__ import annotations

import time

from plugin.store.budgets import CallbackBudgetRepository

WINDOW_SECONDS = 60


def spend(budgets: CallbackBudgetRepository, key: str, size: int, limit: int, *, now: float | None = None) -> bool:
    """Add ``size`` bytes to ``key``'s window; False (nothing added) when it would pass ``limit``."""
    moment = time.time() if now is None else now
    return budgets.spend(key, int(moment // WINDOW_SECONDS), size, limit)
