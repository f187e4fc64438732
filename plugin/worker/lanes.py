"""Delivery lanes: one thread per installed CRM delivers that CRM's due work while the loop routes.

A worker that polls, routes and delivers in turn makes every stage wait for the others: a mention
that arrives while the loop is inside a Salesforce batch (eight dependent calls, about half a second
at 50 ms each) is routed only after that batch, and delivered only after the routing pass that found
it *and* the other CRM's batch. At 10 mentions a second that was a median of about a second, nearly
all of it spent waiting behind unrelated work (issue 11, BENCHMARKS.md "Latency").

With lanes the in-process worker (``Worker.run_forever``) keeps only routing on its own thread, and each
CRM gets a lane: a thread that claims and delivers only that CRM's work. Routing rings
``doorbell.ROUTED`` after each group commit, so an idle lane starts its next batch at once; a busy lane
finds everything routed during its call when the call returns (the adaptive batching of
``plugin/worker/delivery.py``: no linger, the batch size follows the load). One CRM's slow call no
longer holds the other CRM's deliveries, nor the routing of new mentions.

Everything else the loop used to do between two routing passes goes to one more lane, the upkeep
lane (``Worker.upkeep``): polling the networks, the CRMs' agent replies (a Salesforce poll is a query
at the CRM, 0.1-0.8 s under load), the outbox and the reports back, solves, ratings, expiry warnings,
admin notices, starting reply streams. A mention stored by a webhook rings the routing loop and is
routed at once instead of after that pass (at 10 mentions/s such a pass was the slowest mention's
wait). A change stream's event rings the upkeep lane; a polled page rings the routing loop like a
webhook does.

The database stays the source of truth: lanes claim under the same leases as any worker, so a lane
and another process's worker never deliver the same item, and a lane that dies loses nothing (its
leases run out). A lost ring costs at most ``worker_idle_seconds``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Iterable
from typing import Protocol

from plugin.pipeline import doorbell
from plugin.worker.tick import Tick, idle_seconds

log = logging.getLogger(__name__)


class Deliverer(Protocol):
    """What a delivery lane drives: a worker's ``deliver_due`` (plugin/worker/loop.py)."""

    owner: str

    def deliver_due(
        self, limit: int | None = None, *, sinks: Collection[str] | None = None, others: bool = True
    ) -> Tick: ...


class Lane:
    """A thread that repeats one kind of work (``work``) while it moves anything forward
    (``progressed``), and otherwise waits for ``bell``, a rate budget's refill or ``idle`` seconds."""

    def __init__(
        self,
        name: str,
        work: Callable[[], Tick],
        bell: threading.Event,
        idle: float,
        progressed: Callable[[Tick], bool] = lambda tick: tick.progressed,
    ):
        self.name = name
        self.work = work
        self.idle = idle
        self.progressed = progressed
        self._stop = threading.Event()
        self._bell = bell
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    @classmethod
    def delivering(cls, worker: Deliverer, sink: str, idle: float) -> Lane:
        """The lane of one CRM, with a worker of its own (its own budget waits), woken by routing."""
        # Retries alone went nowhere (a Retry-After, a rate budget): the next routed mention rings.
        return cls(
            worker.owner,
            lambda: worker.deliver_due(sinks=[sink], others=False),
            doorbell.ROUTED.listener(),
            idle,
            lambda tick: bool(tick.delivered or tick.failed),
        )

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
                tick = self.work()
            except Exception:
                log.exception("lane %s failed; retrying after a pause", self.name)
                self._stop.wait(self.idle * 5)
                continue
            if not self.progressed(tick) and not self._stop.is_set():
                doorbell.wait(self._bell, idle_seconds(tick, self.idle))


class Lanes:
    """The lanes of one in-process worker, started and stopped together: each installed CRM's
    (``make(owner)`` gives each its worker; ``owner`` is the loop's, suffixed with the CRM's name),
    and ``others`` (the upkeep lane: polls, agent replies, the outbox)."""

    def __init__(
        self, owner: str, sinks: list[str], make: Callable[[str], Deliverer], idle: float, others: Iterable[Lane] = ()
    ):
        self.sinks = sinks
        self.loop = threading.get_ident()  # the thread of the loop these lanes work for
        self._lanes = [Lane.delivering(make(f"{owner}:{sink}"), sink, idle) for sink in sinks] + list(others)

    def start(self) -> None:
        for lane in self._lanes:
            lane.start()

    def stop(self, timeout: float = 30.0) -> None:
        for lane in self._lanes:
            lane.stop()
        for lane in self._lanes:
            lane.join(timeout)
