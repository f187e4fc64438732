"""Wakes the worker the moment there is new work, instead of at its next idle poll.

A worker that found nothing to do waits up to ``worker_idle_seconds`` before it looks at the
database again; a mention stored meanwhile would wait that long too (a second by default: the whole
latency budget at low load). ``ingest`` rings the bell after it commits new mentions, and a waiting
worker starts its next tick at once. The database stays the source of truth: a ring only shortens a
wait, a lost one (a worker on another machine, one busy at the time) costs at most one idle interval, and a
spurious one costs one empty tick.

One bell per process: every in-process worker of the process answers it (a test process with several
runtimes gets an extra empty tick, never a missed one). ``ROUTED`` is the second stage's bell: routing
rings it after committing new deliveries, and the worker's delivery lanes (plugin/worker/lanes.py)
answer it the same way.

Across processes (``horseshoe serve``'s web processes and its worker processes, or ``serve
--no-worker`` beside ``horseshoe worker``s): each worker listens on one of ``SLOTS`` datagram sockets
named after its database (``Relay``), and ``ring(address)`` sends one byte to every slot after the
process's own bell. A datagram is fire and forget: an empty slot (fewer workers, or workers on
another machine) costs one refused send, and a ring a socket's queue cannot take is one that a ring
already waiting there covers.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import logging
import socket
import sys
import threading
import weakref

log = logging.getLogger(__name__)


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


def ring(address: str | None = None) -> None:
    """New mentions were committed: this process's workers route them now, and so does the worker
    listening at ``address`` (``address_for``), if one does."""
    BELL.ring()
    if address is not None:
        _send(address)


# Workers of one database on one machine that each hear every ring (serve's worker processes, or
# ``horseshoe worker``s beside ``serve --no-worker``); one more looks for new mentions when idle.
SLOTS = 4


@functools.lru_cache(maxsize=64)  # asked at every commit of new mentions
def address_for(database: str) -> str | None:
    """The name of the datagram sockets where the workers of ``database`` (``Database.identity``:
    the same for every process using it, with no password in it) listen (``SLOTS`` of them, this name
    and a slot number): in Linux's abstract namespace (no file to leave behind or to clean up, no path
    length to outgrow). None where there is no such namespace (the processes then find new mentions
    at their idle look)."""
    if not sys.platform.startswith("linux"):
        return None
    digest = hashlib.sha256(database.encode()).hexdigest()[:24]
    return f"\0horseshoe-bell-{digest}"


_SENDER = threading.local()  # one unbound socket per thread: a send needs no lock


def _send(address: str) -> None:
    sender = getattr(_SENDER, "socket", None)
    if sender is None:
        sender = _SENDER.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sender.setblocking(False)
    for slot in range(SLOTS):
        try:
            sender.sendto(b"\x01", f"{address}-{slot}")
        except (ConnectionRefusedError, FileNotFoundError):
            pass  # no worker listens in this slot: it is free (or its worker is on another machine)
        except BlockingIOError:
            pass  # the listener's queue is full of rings it has not read yet: this one adds nothing
        except OSError as exc:  # anything else is a fault of the host worth seeing, never of the webhook
            log.warning("doorbell: could not ring %r: %s", address[1:], exc)


class Relay:
    """A worker's ear for rings from other processes: a thread that reads the first free slot at
    ``address`` and rings ``bell`` in this process. A worker that finds every slot taken (more than
    ``SLOTS`` workers of one database on one machine; ``bound`` False) finds new mentions at its idle
    look, as before."""

    def __init__(self, address: str | None, bell: Doorbell):
        self.bell = bell
        self.bound = False
        self.slot: int | None = None
        self._stop = threading.Event()
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None
        if address is None:
            return
        for slot in range(SLOTS):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            try:
                sock.bind(f"{address}-{slot}")
            except OSError as exc:
                sock.close()
                if exc.errno != errno.EADDRINUSE:
                    raise
                continue  # another worker of this database listens there
            sock.settimeout(0.5)  # how soon ``close`` is noticed
            self._socket, self.bound, self.slot = sock, True, slot
            self._thread = threading.Thread(target=self._listen, name="horseshoe-doorbell", daemon=True)
            self._thread.start()
            return
        log.info("doorbell: %d workers of this database listen already; this one looks when idle", SLOTS)

    def _listen(self) -> None:
        assert self._socket is not None
        while not self._stop.is_set():
            try:
                self._socket.recv(64)
            except TimeoutError:
                continue
            except OSError:
                if not self._stop.is_set():  # the socket failed under us: rings now wait for idle looks
                    log.exception("doorbell: the listener stopped")
                return
            self.bell.ring()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
        if self._socket is not None:
            self._socket.close()

    def __enter__(self) -> Relay:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def wait(listener: threading.Event, timeout: float) -> bool:
    """Wait until ``listener`` is rung or ``timeout`` seconds pass; True if rung. A ring that came
    while its owner was busy is not lost: this returns at once."""
    rung = listener.wait(timeout)
    listener.clear()
    return rung
