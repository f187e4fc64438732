"""Keep the leases of work in progress, and fence each side effect with them.

A claim holds for ``lease_seconds``; work that outlasts it (a slow CRM, a loaded machine) would be
claimed and done again by another worker. ``Heartbeat`` renews the leases of the work in hand from
a background thread every third of the lease, and ``held`` renews them *now* and says which are
still ours: called right before a call to a CRM or a network, it is the fence that keeps two workers
from doing the same item. A lease lost anyway (the process stalled for longer than a lease) stays
lost: the items are someone else's and are left out of every later side effect.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Sequence
from types import TracebackType

log = logging.getLogger(__name__)

# Renews ``owner``'s leases on the given ids and returns those it still holds.
Renew = Callable[[Sequence[int]], set[int]]
RENEWALS_PER_LEASE = 3  # a renewal may be late twice before the lease runs out


class Heartbeat:
    """``with Heartbeat(renew, ids, lease_seconds) as beat: ... beat.held(some_ids) ...``"""

    def __init__(self, renew: Renew, ids: Collection[int], lease_seconds: float, name: str = "heartbeat") -> None:
        self._renew = renew
        self._ids = set(ids)
        self._lost: set[int] = set()
        self._lock = threading.Lock()
        self._interval = max(0.05, lease_seconds / RENEWALS_PER_LEASE)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def __enter__(self) -> Heartbeat:
        if self._ids:
            self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    @property
    def lost(self) -> set[int]:
        """Ids whose lease was found taken over (by a renewal or a fence)."""
        with self._lock:
            return set(self._lost)

    def held(self, ids: Collection[int] | None = None) -> set[int]:
        """Renew now; the ids (default: all) whose lease is still ours. Call right before a side effect."""
        wanted = set(self._ids if ids is None else ids)
        return self._beat() & wanted

    def release(self, ids: Collection[int]) -> None:
        """Stop renewing ``ids``: call it before writing their result (which releases their lease), so
        that a renewal meanwhile does not take the released lease for one lost."""
        with self._lock:
            self._ids -= set(ids)

    def _beat(self) -> set[int]:
        with self._lock:
            keep = sorted(self._ids - self._lost)
        still = self._renew(keep) if keep else set()
        with self._lock:
            # Released meanwhile: finished (a finish releases the lease; callers release first), not lost.
            gone = (set(keep) - still) & self._ids
            self._lost |= gone
        if gone:
            log.warning("lease lost on %d item(s) still in progress: %s", len(gone), sorted(gone)[:10])
        return still

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._beat()
            except Exception:
                # The database may be briefly unreachable: the next beat tries again, and a fence
                # (``held``) raises to its caller, so no side effect relies on a failed renewal.
                log.exception("renewing leases failed; trying again in %.1f s", self._interval)
