"""Requests in flight in this process, so that background threads give way to them during a spike.

``horseshoe serve`` runs its in-process worker (routing, deliveries) and the announcer (the
``mention_stored`` observers) as threads beside the request threads. Their work is CPU-bound Python
(triage, classifiers), and CPython shares one interpreter lock: a request thread that waits for the
database or the socket gets the lock back only when the busy background thread hands it over (up to
the 5 ms switch interval each time). Under a burst of webhooks that made every request wait for work
that could as well be done a moment later; the answered webhooks are already committed.

So each background pass first ``give_way``: it waits while requests are in flight (and a short quiet
moment after the last), but never longer than its caller's ``max_seconds``, so work is only delayed,
never starved: under a sustained load it still runs a full pass every ``max_seconds``. A process
without requests (``horseshoe worker``, tests) never waits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

# Background work waits for the requests to pause this long: the gap between one client's answer
# and its next request on a keep-alive connection is far shorter, the end of a burst is not.
QUIET_SECONDS = 0.05
# The longest a burst delays a worker pass or an announcement (after its commit): delayed, never starved.
GIVE_WAY_SECONDS = 5.0


class Traffic:
    def __init__(self, quiet: float = QUIET_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.quiet = quiet
        self._clock = clock
        self._turn = threading.Condition()
        self._in_flight = 0
        self._last_end: float | None = None  # when the last request finished; None: never had one

    @contextmanager
    def request(self) -> Iterator[None]:
        """Around one request: counted as in flight until it returns."""
        with self._turn:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._turn:
                self._in_flight -= 1
                self._last_end = self._clock()
                if not self._in_flight:
                    self._turn.notify_all()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def busy(self) -> bool:
        """Requests in flight, or one finished less than ``quiet`` seconds ago."""
        with self._turn:
            return self._busy(self._clock())

    def _busy(self, now: float) -> bool:
        return bool(self._in_flight) or (self._last_end is not None and now - self._last_end < self.quiet)

    def give_way(self, max_seconds: float) -> bool:
        """Wait until no request is in flight and none finished in the last ``quiet`` seconds, at most
        ``max_seconds``. True when it is quiet, False when the wait ran out (go on anyway)."""
        deadline = self._clock() + max_seconds
        with self._turn:
            while True:
                now = self._clock()
                if not self._busy(now):
                    return True
                if now >= deadline:
                    return False
                if self._in_flight:
                    wait = deadline - now  # woken when the last request in flight ends
                else:
                    assert self._last_end is not None
                    wait = min(deadline - now, self._last_end + self.quiet - now)
                self._turn.wait(max(wait, 0.001))


# This process's requests (counted by ``horseshoe serve``'s WSGI wrapper, ``plugin.web.server``).
TRAFFIC = Traffic()
