"""Reading which tickets/cases were solved, for the resolution figures (README, "Service metrics").

Each connected CRM is asked at most once per ``resolution_poll_seconds`` per tenant: Zendesk reads its
incremental ticket events from a stored cursor, Salesforce the status of the Cases still counted as
open (batched). Reading never blocks delivery: a failure is logged and asked again next time.
"""

from __future__ import annotations

import logging
import threading
import time

from plugin.errors import AuthError, FatalError, RetriableError
from plugin.outbox import satisfaction
from plugin.runtime import Runtime
from plugin.sink import SinkConnection

log = logging.getLogger(__name__)
OPEN_BATCH = 200

# (plugin manager, tenant, sink) -> monotonic time of the last read: an in-process pacing only
# (several workers may each read; the CRM answers the same and the store counts a solve once).
_last: dict[tuple[int, int, str], float] = {}
_lock = threading.Lock()


def _due(runtime: Runtime, tenant_id: int, sink: str, force: bool) -> bool:
    key = (id(runtime.pm), tenant_id, sink)
    now = time.monotonic()
    with _lock:
        if not force and now - _last.get(key, -1e18) < runtime.settings.resolution_poll_seconds:
            return False
        _last[key] = now
    return True


def _hold(runtime: Runtime, tenant_id: int, sink: str, retry_after: float | None) -> None:
    """Honour the CRM's Retry-After: the next read waits at least that long."""
    if retry_after:
        key = (id(runtime.pm), tenant_id, sink)
        with _lock:
            _last[key] = time.monotonic() + retry_after - runtime.settings.resolution_poll_seconds


def sync(runtime: Runtime, *, force: bool = False) -> int:
    """Record the solves every due CRM connection reports. Returns how many conversations were resolved."""
    store = runtime.store
    resolved = 0
    for row in store.tenants.connections(enabled_only=True):
        sink = runtime.registry.sinks.get(row.sink)
        if sink is None or not _due(runtime, row.tenant_id, row.sink, force):
            continue
        connection = SinkConnection(row.tenant_id, row.tenant_key, row.sink, store.tenants.config_of(row))
        cursor = store.service.cursor(row.tenant_id, row.sink)
        open_tickets = store.service.open_tickets(row.tenant_id, row.sink, OPEN_BATCH)
        try:
            batch = sink.fetch_resolutions(connection, cursor, open_tickets)
        except RetriableError as exc:
            log.warning("reading solved tickets from %s/%s failed: %s", row.tenant_key, row.sink, exc)
            _hold(runtime, row.tenant_id, row.sink, exc.retry_after)
            continue
        except (AuthError, FatalError) as exc:
            log.warning("reading solved tickets from %s/%s failed: %s", row.tenant_key, row.sink, exc)
            continue
        if batch is None:
            continue
        facts = store.service.record_solved(row.tenant_id, row.sink, [(r.ticket, r.solved_at) for r in batch.solved])
        resolved += len(facts)
        satisfaction.ask(runtime, row.sink, facts)
        if batch.cursor is not None and batch.cursor != cursor:
            store.service.set_cursor(row.tenant_id, row.sink, batch.cursor)
    return resolved
