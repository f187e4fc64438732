"""Per-token, per-endpoint memory of X's ``x-rate-limit-*`` headers.

X answers every call with ``x-rate-limit-remaining`` and ``x-rate-limit-reset`` (epoch seconds). When the
remaining count hits 0 the next call would be a guaranteed 429 that still counts against the app, so we
refuse it locally until the reset time. Shared by worker threads, hence the lock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

from plugin.errors import RateLimited


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None  # a malformed header is treated as absent, not as a limit


class RateLimitState:
    def __init__(self, clock: Callable[[], float] = time.time):
        self._clock = clock
        self._lock = threading.Lock()
        self._blocked_until: dict[tuple[str, str], float] = {}

    def check(self, token_id: str, endpoint: str) -> None:
        """Raise RateLimited when the last answer for this token and endpoint said nothing is left."""
        key = (token_id, endpoint)
        with self._lock:
            until = self._blocked_until.get(key)
            if until is None:
                return
            wait = until - self._clock()
            if wait <= 0:
                del self._blocked_until[key]
                return
        raise RateLimited(f"X rate limit for {endpoint} used up until reset", retry_after=wait, code="local")

    def record(self, token_id: str, endpoint: str, headers: Mapping[str, str]) -> None:
        remaining = _int_header(headers, "x-rate-limit-remaining")
        reset = _int_header(headers, "x-rate-limit-reset")
        key = (token_id, endpoint)
        with self._lock:
            if remaining == 0 and reset is not None:
                self._blocked_until[key] = float(reset)
            elif remaining is not None and remaining > 0:
                self._blocked_until.pop(key, None)

    def block(self, token_id: str, endpoint: str, until: float) -> None:
        with self._lock:
            self._blocked_until[(token_id, endpoint)] = until
