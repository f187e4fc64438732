"""Client-side pacing for networks that document a per-second (or per-minute) request limit.

A call over the limit costs a request and, on some networks (Telegram, VK), a growing penalty. So the
connector asks the pacer first; the pacer either records the call or raises ``RateLimited`` with the
exact wait. It never sleeps: a worker thread blocked in a pacer would hold a slot other accounts need,
while a RateLimited goes back to the scheduler, which retries at the right time.

One pacer serves every worker thread of a connector, hence the lock. Keys are whatever the connector
scopes a limit by (bot id, chat, a token's fingerprint): never a secret itself.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from plugin.errors import RateLimited


@dataclass(frozen=True)
class Rate:
    """At most ``count`` calls in any ``seconds``-long window."""

    count: int
    seconds: float

    @classmethod
    def min_interval(cls, seconds: float) -> Rate:
        """One call per ``seconds``: the documented "1 message per second per chat" kind of limit."""
        return cls(1, seconds)

    @classmethod
    def per_second(cls, count: int) -> Rate:
        return cls(max(1, count), 1.0)


def fingerprint(secret: str) -> str:
    """A stable, non-reversible key for a secret (so a pacer or cache can be keyed by a token)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()[:16]


class Pacer:
    """Sliding-window limits per key; ``reserve`` checks several limits at once, all or nothing."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, *, name: str = "pacing"):
        self._clock = clock
        self._name = name
        self._lock = threading.Lock()
        self._calls: dict[Hashable, deque[float]] = {}
        self._held: dict[Hashable, float] = {}  # key -> clock time before which nothing is let through

    def reserve(self, *limits: tuple[Hashable, Rate], what: str = "") -> None:
        """Record one call against every ``(key, rate)``, or raise RateLimited with the longest wait.

        All-or-nothing: a call refused by one limit is counted by none, so a refusal never eats into
        another window.
        """
        with self._lock:
            now = self._clock()
            wait = 0.0
            windows: list[deque[float]] = []
            for key, _rate in limits:
                until = self._held.get(key)
                if until is not None and until > now:
                    wait = max(wait, until - now)
            for key, rate in limits:
                window = self._calls.setdefault((key, rate), deque())
                while window and now - window[0] >= rate.seconds:
                    window.popleft()
                if len(window) >= rate.count:
                    wait = max(wait, rate.seconds - (now - window[-rate.count]))
                windows.append(window)
            if wait > 0:
                target = f" {what}" if what else ""
                raise RateLimited(
                    f"{self._name}: wait {wait:.2f}s before the next call{target}",
                    retry_after=wait,
                    code="client_pacing",
                )
            for window in windows:
                window.append(now)

    def hold(self, key: Hashable, seconds: float) -> None:
        """The network said "retry after ``seconds``" for ``key`` (e.g. Telegram's flood control for
        a chat): every call limited by ``key`` waits that long, here, instead of earning another 429."""
        with self._lock:
            now = self._clock()
            self._held = {k: until for k, until in self._held.items() if until > now}  # forget the past
            self._held[key] = max(self._held.get(key, now), now + max(0.0, seconds))
