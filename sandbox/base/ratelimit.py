"""Fixed-window request counting, shared by the fakes' own documented limits and the base's budget.

A window either starts at the first request (``aligned=False``, as Bluesky's PDS counts) or on the
clock's period boundaries (``aligned=True``, as Mastodon and Zendesk count), which makes the reset time
predictable for clients.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Window:
    started: float
    count: int = 0


def current_window(windows: dict[str, Window], key: str, now: float, seconds: float, *, aligned: bool = True) -> Window:
    """The window ``key`` counts in at ``now`` (a new one once the last has run out). Caller holds the lock."""
    window = windows.get(key)
    if window is None or now - window.started >= seconds:
        start = now - (now % seconds) if aligned else now
        window = windows[key] = Window(started=start)
    return window


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset_at: float  # when the window ends, on the budget's clock
    retry_after: int  # whole seconds until then (rounded down), at least 1


class RequestBudget:
    """At most ``limit`` requests per ``window`` seconds for each key; ``limit=None`` never refuses."""

    def __init__(
        self,
        limit: int | None = None,
        window: float = 60.0,
        *,
        clock: Callable[[], float] = time.time,
        aligned: bool = True,
    ):
        self.limit = limit
        self.window = window
        self.clock = clock
        self.aligned = aligned
        self._lock = threading.Lock()
        self._windows: dict[str, Window] = {}

    def configure(self, limit: int | None, window: float | None = None) -> None:
        if limit is not None and limit < 0:
            raise ValueError("a request budget cannot be negative")
        if window is not None and window <= 0:
            raise ValueError("a rate-limit window must be longer than 0 seconds")
        with self._lock:
            self.limit = limit
            self.window = window or self.window
            self._windows.clear()

    def clear(self) -> None:
        with self._lock:
            self._windows.clear()

    def take(self, key: str = "*") -> Verdict:
        """Count one request for ``key`` unless its window is spent; say whether it may go ahead."""
        now = self.clock()
        with self._lock:
            if self.limit is None:
                return Verdict(True, 0, 0, now, 1)
            window = current_window(self._windows, key, now, self.window, aligned=self.aligned)
            allowed = window.count < self.limit
            if allowed:
                window.count += 1
            reset_at = window.started + self.window
            retry_after = max(1, int(reset_at - now))
            return Verdict(allowed, self.limit, max(0, self.limit - window.count), reset_at, retry_after)

    def remaining(self, key: str = "*") -> int:
        with self._lock:
            window = self._windows.get(key)
            return max(0, (self.limit or 0) - (window.count if window else 0))
