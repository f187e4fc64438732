"""Delivery lanes: one thread per installed CRM delivers that CRM's due work while the loop routes.

A worker that polls, routes and delivers in turn makes every stage wait for the others: a mention
that arrives while the loop is inside a Salesforce batch (eight dependent calls, about half a second
at 50 ms each) is routed only after that batch, and delivered only after the routing pass that found
it *and* the other CRM's batch. At 10 mentions a second that was a median of about a second, nearly
all of it spent waiting behind unrelated work (issue 11, BENCHMARKS.md "Latency").

With lanes the in-process worker (``Worker.run_forever``) keeps polling, routing and the outbox on its
own thread, and each CRM gets a lane: a thread that claims and delivers only that CRM's work. Routing
rings ``doorbell.ROUTED`` after each group commit, so an idle lane starts its next batch at once; a
busy lane finds everything routed during its call when the call returns (the adaptive batching of
``plugin/worker/delivery.py``: no linger, the batch size follows the load). One CRM's slow call no
longer holds the other CRM's deliveries, nor the routing of new mentions.

The database stays the source of truth: lanes claim under the same leases as any worker, so a lane
and another process's worker never deliver the same item, and a lane that dies loses nothing (its
leases run out). A lost ring costs at most ``worker_idle_seconds``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection
from typing import Protocol

from plugin.pipeline import doorbell
from plugin.worker.tick import Tick, idle_seconds

log = logging.getLogger(__name__)


class Deliverer(Protocol):
    """What a lane drives: a worker's ``deliver_due`` (plugin/worker/loop.py)."""

    owner: str

    def deliver_due(
        self, limit: int | None = None, *, sinks: Collection[str] | None = None, others: bool = True
    ) -> Tick: ...


class Lane:
    """The thread that delivers one CRM's work, with a worker of its own (its own budget waits)."""

    def __init__(self, worker: Deliverer, sink: str, idle: float):
        self.sink = sink
        self.worker = worker
        self.idle = idle
        self._stop = threading.Event()
        self._bell = doorbell.ROUTED.listener()
        self._thread = threading.Thread(target=self._run, name=worker.owner, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._bell.set()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                tick = self.worker.deliver_due(sinks=[self.sink], others=False)
            except Exception:
                log.exception("delivery lane %s failed; retrying after a pause", self.sink)
                self._stop.wait(self.idle * 5)
                continue
            if not (tick.delivered or tick.failed) and not self._stop.is_set():
                # Nothing went out (nothing due, or it waits on a retry time or a rate budget): the
                # next routed mention rings the bell; a refill sooner than the idle look is waited for.
                doorbell.wait(self._bell, idle_seconds(tick, self.idle))


class Lanes:
    """Every installed CRM's lane, started and stopped together. ``make(owner)`` gives each lane its
    worker; ``owner`` is the loop's, suffixed with the CRM's name."""

    def __init__(self, owner: str, sinks: list[str], make: Callable[[str], Deliverer], idle: float):
        self.sinks = sinks
        self.loop = threading.get_ident()  # the thread of the loop these lanes deliver for
        self._lanes = [Lane(make(f"{owner}:{sink}"), sink, idle) for sink in sinks]

    def start(self) -> None:
        for lane in self._lanes:
            lane.start()

    def stop(self, timeout: float = 30.0) -> None:
        for lane in self._lanes:
            lane.stop()
        for lane in self._lanes:
            lane.join(timeout)
