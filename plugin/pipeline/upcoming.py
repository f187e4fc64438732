"""Deliveries on their way: what the routing passes of this process will commit, per CRM.

A delivery lane (plugin/worker/lanes.py) wakes at every group commit of the router (0.1 s at most) and
sends what is due. While the router works through a backlog (passes of up to 200 mentions, ~10 ms
each) that meant a push of the few mentions of each commit: draining 2,000 received mentions took 0.12
Zendesk pushes and 0.2 Salesforce calls per mention with lanes, 0.01 and 0.03 without (issue 11's goal
under backlog: ≤ 0.05), spending a rate budget that full calls would not.

So the router announces each pass (``ROUTING.pass_()``: the mentions it will commit, per CRM they may
go to) and the lane asks ``may_hold`` before it sends less than a full batch: it begins to hold that
remainder only when the passes under way will by themselves fill the batch or the router is a whole
pass behind (it claimed as many as a pass may), and never past the end of a pass (a pass that ends
rings ``doorbell.ROUTED``; the next claim sends whatever is due, however small). No clock: a lone
mention (a pass of one) leaves the moment it is committed, and holding costs at most one pass, only
when the router is a full batch or a whole pass behind.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from plugin.pipeline import doorbell
from plugin.store.inbox import MentionRow, RoutedMention


class RoutingPass:
    """One routing pass: the CRMs each of its mentions may go to, until committed."""

    def __init__(self, routing: Routing, full: bool):
        self._routing = routing
        self.full = full  # it claimed as many as a pass may: the router is a whole pass behind
        self._sinks: dict[int, list[str]] = {}

    def expect(self, rows: list[tuple[MentionRow, list[str]]]) -> list[tuple[MentionRow, list[str]]]:
        """The pass's rows, announced; returned unchanged for the pass to route."""
        self._sinks = {row.id: list(sinks) for row, sinks in rows}
        self._routing.add(Counter(sink for sinks in self._sinks.values() for sink in sinks))
        return rows

    def committed(self, routed: Sequence[RoutedMention]) -> None:
        """These are in the database now (their deliveries due): no longer on their way."""
        gone = [self._sinks.pop(r.mention.id, []) for r in routed]
        self._routing.add(Counter(sink for sinks in gone for sink in sinks), sign=-1)

    def end(self) -> None:
        self._routing.add(Counter(sink for sinks in self._sinks.values() for sink in sinks), sign=-1)
        self._sinks = {}


class Routing:
    """Every routing pass of the process under way, and the lanes holding work for them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._upcoming: Counter[str] = Counter()
        self._ended = 0  # passes ended so far
        self._full = 0  # full passes under way
        self._holding: dict[str, int] = {}  # sink -> passes ended when its lane began to hold

    def add(self, counts: Counter[str], sign: int = 1) -> None:
        with self._lock:
            for sink, count in counts.items():
                self._upcoming[sink] += sign * count
                if self._upcoming[sink] <= 0:
                    del self._upcoming[sink]

    def upcoming(self, sink: str) -> int:
        with self._lock:
            return self._upcoming[sink]

    def may_hold(self, sink: str, missing: int) -> bool:
        """May ``sink``'s lane keep a partial batch, ``missing`` short of full (0: it has none), for the
        passes under way? It begins to hold when they will bring at least that many, or when a full pass
        is under way (the router is a whole pass behind: a backlog), then holds until the batch is full
        or a pass ends: one small call at the end of a pass, not one per group commit. The lane asks on
        every claim, so what it remembers is never older than its last claim."""
        with self._lock:
            upcoming, began = self._upcoming[sink], self._holding.get(sink)
            if missing > 0 and began is not None and began == self._ended and upcoming > 0:
                return True
            if missing > 0 and began is None and upcoming > 0 and (upcoming >= missing or self._full):
                self._holding[sink] = self._ended
                return True
            self._holding.pop(sink, None)  # nothing partial, nothing coming, or a pass ended: send
            return False

    @contextmanager
    def pass_(self, full: bool = False) -> Iterator[RoutingPass]:
        """A routing pass; ``full``: it claimed as many mentions as a pass may (more are waiting)."""
        routing_pass = RoutingPass(self, full)
        with self._lock:
            self._full += full
        try:
            yield routing_pass
        finally:
            routing_pass.end()
            with self._lock:
                self._ended += 1
                self._full -= full
            doorbell.ROUTED.ring()  # a lane holding work for this pass sends it now


ROUTING = Routing()
