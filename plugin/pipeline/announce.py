"""``mention_stored`` observers beside the webhook path, not in it.

The built-in observers (security escalation, praise routing) triage each new mention, which costs a
language detection, a classifier and a history read: about as much as the whole ingest. A network
waiting for its 2xx gains nothing from it, so the webhook view commits, hands the new mentions to
this process's announcer thread and answers; the observers run a moment later, in commit order:
during a burst of requests, when it pauses, or in slices beside it (``plugin.traffic``). When a worker
of this process routed the mention first (a worker run as threads, as in tests or the demo), the
observers reuse its labels (``plugin.triage.observer.remember_labels``) instead of triaging it again;
``horseshoe serve``'s worker is a process of its own, so there each process triages once.

Nothing is dropped to keep the queue bounded: when ``QUEUE_LIMIT`` announcements wait, the request
that finds it full runs its own observers inline (back-pressure on the sender instead of memory).
A process that exits normally (gunicorn's graceful stop) first runs what is still queued. A crash
loses at most the queued notices, never a mention: the escalation is also on the mention's labels
and tags once the worker routes it.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager

from plugin.context import RoutingPass, routing_pass
from plugin.models import Mention
from plugin.runtime import Runtime
from plugin.traffic import GIVE_WAY_SECONDS, TRAFFIC

log = logging.getLogger(__name__)
QUEUE_LIMIT = 10_000
DRAIN_SECONDS = 10.0
BATCH = 200  # announcements taken off the queue together (one routing pass's worth)
FRESH_SECONDS = 0.05  # a longer wait for a burst: what the batch read may be stale

Announcement = tuple[Mention, int, str]  # mention, its inbox id, tenant key


class Announcer:
    def __init__(self, runtime: Runtime, limit: int = QUEUE_LIMIT):
        self.runtime = runtime
        self._queue: queue.Queue[Announcement] = queue.Queue(maxsize=limit)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, items: Sequence[Announcement]) -> None:
        """Queue ``items`` for the observers (inline, when the queue is full)."""
        if not items:
            return
        self._start()
        for item in items:
            try:
                self._queue.put_nowait(item)
            except queue.Full:
                self._announce(item)

    def drain(self, timeout: float = DRAIN_SECONDS) -> bool:
        """Wait until everything queued was announced; False when ``timeout`` passed first."""
        done = threading.Event()

        def wait() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=wait, daemon=True, name="horseshoe-announce-drain").start()
        return done.wait(timeout)

    def _start(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, daemon=True, name="horseshoe-announce")
                self._thread.start()
                atexit.register(self.drain)

    def _loop(self) -> None:
        # Observers triage (CPU-bound): a surge of requests holds them, at most GIVE_WAY_SECONDS a surge;
        # beside a crowd of requests (or a longer surge) they take a quarter of the time (plugin.traffic).
        # A deadline per item instead (queued + 5 s) let the whole backlog of a longer storm run flat
        # out beside it from its sixth second on.
        pauses = TRAFFIC.pauses(GIVE_WAY_SECONDS)
        while True:
            batch = [self._queue.get()]
            try:
                # What else is queued is announced as one pass: triage reads their histories together.
                while len(batch) < BATCH and not self._queue.empty():
                    batch.append(self._queue.get_nowait())
                with self._pass(batch) as scope:
                    for item in batch:
                        if pauses.due():
                            started = time.monotonic()
                            pauses.wait()
                            if time.monotonic() - started > FRESH_SECONDS:
                                scope.advance()  # mentions may have been routed meanwhile: read again
                        self._announce(item)
            finally:
                for _ in batch:
                    self._queue.task_done()

    def _pass(self, items: list[Announcement]) -> AbstractContextManager[RoutingPass]:
        """The batch as a pass (``plugin.context.current_pass``), its mentions per tenant id."""
        mentions: dict[int, list[Mention]] = {}
        for mention, mention_id, key in items:
            try:
                tenant_id = self.runtime.store.tenant_id(key)
            except Exception:  # the observers will meet it too (and log it): this mention goes alone
                log.exception("tenant %r of mention %s not found for the batch", key, mention_id)
                continue
            if tenant_id is not None:
                mentions.setdefault(tenant_id, []).append(mention)
        return routing_pass(mentions)

    def _announce(self, item: Announcement) -> None:
        mention, mention_id, tenant = item
        try:
            self.runtime.hooks.mention_stored(mention=mention, mention_id=mention_id, tenant=tenant)
        except Exception:  # one observer's failure must not stop the thread (Hooks logs each plugin's)
            log.exception("mention_stored observers failed for mention %s", mention_id)
