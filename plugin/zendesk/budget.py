"""A per-process byte budget per tenant for unauthenticated callbacks (``/zendesk/events``).

A fixed one-minute window per tenant key: cheap, no shared state, and enough to stop one caller
from filling the event log. With several processes the budget is per process (documented).
"""

from __future__ import annotations

import threading
import time

WINDOW_SECONDS = 60.0
_lock = threading.Lock()
_spent: dict[str, tuple[float, int]] = {}


def spend(key: str, size: int, limit: int, *, now: float | None = None) -> bool:
    """Add ``size`` bytes to ``key``'s window; False (nothing added) when it would pass ``limit``."""
    moment = time.monotonic() if now is None else now
    with _lock:
        start, used = _spent.get(key, (moment, 0))
        if moment - start >= WINDOW_SECONDS:
            start, used = moment, 0
        if used + size > limit:
            return False
        _spent[key] = (start, used + size)
        return True
