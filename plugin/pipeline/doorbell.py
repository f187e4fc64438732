"""Wakes the in-process worker the moment there is new work, instead of at its next idle poll.

An in-process worker that found nothing to do waits up to ``worker_idle_seconds`` before it looks at the
database again; a mention stored meanwhile would wait that long too (a second by default: the whole
latency budget at low load). ``ingest`` rings the bell after it commits new mentions, and a waiting
worker starts its next tick at once. The database stays the source of truth: a ring only shortens a
wait, a lost one (another process, a worker busy at the time) costs at most one idle interval, and a
spurious one costs one empty tick.

One bell per process: every in-process worker of the process answers it (a test process with several
runtimes gets an extra empty tick, never a missed one). ``ROUTED`` is the second stage's bell: routing
rings it after committing new deliveries, and the worker's delivery lanes (plugin/worker/lanes.py)
answer it the same way.
"""

from __future__ import annotations

import threading
import weakref


class Doorbell:
    """Rings every listener of the process; each listener keeps its own ring until it waits."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: weakref.WeakSet[threading.Event] = weakref.WeakSet()

    def listener(self) -> threading.Event:
        """A new listener: an event set by every ring from now on (cleared by its owner)."""
        event = threading.Event()
        with self._lock:
            self._listeners.add(event)
        return event

    def ring(self) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for event in listeners:
            event.set()


BELL = Doorbell()  # new mentions stored: the worker's loop routes them
ROUTED = Doorbell()  # new deliveries committed: the delivery lanes send them


def ring() -> None:
    BELL.ring()


def wait(listener: threading.Event, timeout: float) -> bool:
    """Wait until ``listener`` is rung or ``timeout`` seconds pass; True if rung. A ring that came
    while its owner was busy is not lost: this returns at once."""
    rung = listener.wait(timeout)
    listener.clear()
    return rung
