"""Requests in flight in this process, so that background threads give way to them during a spike.

``horseshoe serve``'s web processes run the announcer (the ``mention_stored`` observers) as a thread
beside the request threads; a worker run as threads of a process that also serves requests (a
test's, a host's own embedding) is in the same place. Serve's own worker is a process of its own
(plugin/worker/companion.py), where no request is ever counted, so it never waits. That work is
CPU-bound Python (triage, classifiers), and CPython shares one interpreter lock: a request thread that waits for the
database or the socket gets the lock back only when the busy background thread hands it over (up to
the 5 ms switch interval each time). Under a burst of webhooks that made every request wait for work
that could as well be done a moment later; the answered webhooks are already committed.

Two signs of a burst. A *surge*: requests keep starting faster than ``burst`` in ``window`` seconds.
Each background pass first ``give_way``s to a surge, but never longer than its caller's
``max_seconds``, so work is only delayed, never starved. A *crowd*: ``concurrent`` requests in flight
at once, counted from gunicorn's own loop (``plugin.web.gthread``: queued for a pool thread or
waiting for the loop counts too), which does not depend on the machine's speed as the rate does, but
which steady traffic on a slow or busy machine also shows. So a crowd never holds a whole pass; it
slices the long ones (``Pauses``: a routing pass between two mentions, the announcer between two
announcements) to a quarter of the time while it lasts. Steady traffic below the surge rate (the
latency goal's 100 mentions/s spread over serve's processes, a few ms each) never holds anything up
for long: there a pass that waits would only add to each mention's way to the CRM. A process without
requests (``horseshoe worker``, tests) never waits.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

# A burst: at least BURST requests started in this process within the last WINDOW seconds (160/s).
# Steady 100/s over serve's two processes stays far below it; the 16 keep-alive clients of a webhook
# storm (bench ingest: 300-700/s per process) far above. The window also ends a burst quickly.
WINDOW_SECONDS = 0.25
BURST = 40
# A crowd: this many requests in flight at once in this process (half of serve's 8 threads), whatever
# their rate. A rate alone is a machine's speed: on a slower or busier machine the same storm of 16
# clients stays under BURST per process, the background work then runs beside the requests, which
# slows them further, and it never gave way (bench ingest, 2026-12-01). Counted from gunicorn's loop
# (plugin.web.gthread), the storm's requests waiting for a pool thread or for the loop are in flight
# too: 6-16 per process at 16 clients where the app alone saw 0-3. But steady 100/s on a busy machine
# is a crowd now and then as well, so a crowd only slices a pass (below), it never holds one.
CONCURRENT = 4
# The longest a surge delays a worker pass or the announcer: delayed, never starved.
GIVE_WAY_SECONDS = 5.0
# Under a crowd, or a surge that outlasts a pass's limit, a long pass goes on in slices: SLICE_SECONDS
# of its work, then a wait of up to SLICE_PAUSE_SECONDS while it lasts (a quarter of the time for the
# background). Without it the background ran flat out beside the storm once the limit was reached: a
# full run of bench ingest on a loaded machine (16 clients at 130-270/s, 8-15 s) had the announcer's
# whole backlog come due after 5 s, in the middle of the phase.
SLICE_SECONDS = 0.02
SLICE_PAUSE_SECONDS = 0.06


class Traffic:
    def __init__(
        self,
        burst: int = BURST,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        concurrent: int = CONCURRENT,
    ):
        self.burst = burst
        self.window = window
        self.concurrent = concurrent
        self._clock = clock
        self._turn = threading.Condition()
        self._in_flight = 0
        self._starts: deque[float] = deque()  # when the requests of the last ``window`` started

    @contextmanager
    def request(self) -> Iterator[None]:
        """Around one request: counted as in flight until it returns, and in the rate for ``window``."""
        self.arrived()
        try:
            yield
        finally:
            self.done()

    def arrived(self) -> None:
        """One request more in flight (and in the rate for ``window``); ``done`` when it is answered."""
        with self._turn:
            self._in_flight += 1
            self._starts.append(self._clock())

    def done(self) -> None:
        with self._turn:
            self._in_flight -= 1
            if self._in_flight == self.concurrent - 1:
                self._turn.notify_all()  # fewer in flight: a waiting pass looks again

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def busy(self) -> bool:
        """A burst is on: ``burst`` requests or more started in the last ``window`` seconds (a surge),
        or ``concurrent`` or more in flight (a crowd)."""
        with self._turn:
            return self._burst_ends(self._clock(), crowd=True) is not None

    def surging(self) -> bool:
        """``burst`` requests or more started in the last ``window`` seconds."""
        with self._turn:
            return self._burst_ends(self._clock(), crowd=False) is not None

    def _burst_ends(self, now: float, crowd: bool) -> float | None:
        """When the burst seen so far stops counting as one (None: no burst now). ``crowd``: requests
        in flight at once count too."""
        starts = self._starts
        while starts and now - starts[0] >= self.window:
            starts.popleft()
        if crowd and self._in_flight >= self.concurrent:
            return now + self.window  # looked at again when one finishes (or after a window)
        if len(starts) < self.burst:
            return None
        # Below the rate once every start but the newest burst - 1 has aged out of the window.
        return starts[len(starts) - self.burst] + self.window

    def give_way(self, max_seconds: float, crowd: bool = False) -> bool:
        """Wait while a surge is on (with ``crowd``: any burst), at most ``max_seconds``. True when there
        is none (any more), False when the wait ran out (go on anyway).

        A whole pass waits for a surge only: a crowd is also what steady traffic looks like on a slow
        or busy machine, counted from gunicorn's loop (a request waiting for the interpreter lock is in
        flight), and holding every pass for seconds there was the latency regression of "After the
        merge" again (bench latency --quick, p99 at 100/s 4.4 s). A crowd gets ``Pauses``' slices."""
        deadline = self._clock() + max_seconds
        with self._turn:
            while True:
                now = self._clock()
                ends = self._burst_ends(now, crowd)
                if ends is None:
                    return True
                if now >= deadline:
                    return False
                self._turn.wait(max(min(deadline, ends) - now, 0.001))

    def pauses(self, max_seconds: float) -> Pauses:
        """Give way between the items of one long pass, at most ``max_seconds`` for one surge."""
        return Pauses(self, max_seconds)


class Pauses:
    """A long-running pass that gives way between its items (a routing pass of up to 200 mentions is
    seconds of CPU, the announcer runs for as long as mentions arrive): a burst that starts after the
    pass did gets the interpreter lock back at the next item, not after the whole pass.

    A surge (the request rate) holds the pass, its waits together at most ``max_seconds`` for one surge.
    A crowd (requests in flight at once), and a surge that outlasts the limit, let the pass go on in
    slices: ``SLICE_SECONDS`` of work, then a wait of up to ``SLICE_PAUSE_SECONDS`` while it lasts, a
    quarter of the time for the background. So the pass always ends, and steady traffic that looks
    like a crowd (a slow machine) delays it by at most a slice pause at a time. A new surge (none seen
    at an item in between) gets the whole limit again."""

    def __init__(self, traffic: Traffic, max_seconds: float):
        self._traffic = traffic
        self._max = max_seconds
        self._left = max_seconds
        self._since: float | None = None  # when the last slice pause ended

    def due(self) -> bool:
        """This pass should wait now (the caller first commits what it holds)."""
        traffic = self._traffic
        if traffic.surging():
            if self._left > 0:
                return True
        else:
            self._left = self._max
            if not traffic.busy():
                self._since = None
                return False
        return self._since is None or traffic._clock() - self._since >= SLICE_SECONDS

    def wait(self) -> None:
        traffic = self._traffic
        clock = traffic._clock
        started = clock()
        if self._left > 0 and traffic.surging():
            traffic.give_way(self._left)
            self._left -= clock() - started
        else:
            traffic.give_way(SLICE_PAUSE_SECONDS, crowd=True)
        self._since = clock()


# This process's requests, counted by ``horseshoe serve``'s gunicorn worker from its own loop
# (``plugin.web.gthread``): queued for a pool thread or waiting for the loop counts as in flight.
TRAFFIC = Traffic()
