"""Writing customers' satisfaction answers to the CRMs (``Sink.record_rating``), from the durable queue
``store.csat`` fills when an answer arrives (plugin/dashboard/ratings.py).

At least once per (answer, CRM): claimed under a short lease, retried with the shared back-off on a
retriable error (honouring Retry-After), failed for good on a fatal or auth error or after the
policy's attempts — then shown on the dashboard and in ``horseshoe doctor`` with the reason.
"""

from __future__ import annotations

import logging

from plugin.errors import AuthError, FatalError, RetriableError
from plugin.retry import RetryPolicy
from plugin.runtime import Runtime
from plugin.sink import Rating, SinkConnection
from plugin.store.csat import CsatWrite

log = logging.getLogger(__name__)
BATCH = 20
NEGATIVE_HINT = " Negative rating: please follow up with the customer."


def note_for(rating: int, network: str) -> str:
    """The internal note agents see on the ticket/case."""
    return f"Customer satisfaction: {rating}/5 (answered on {network})." + (NEGATIVE_HINT if rating <= 2 else "")


def write_due(runtime: Runtime, limit: int = BATCH) -> int:
    """Write the due ratings; returns how many were written (done) in this pass."""
    store = runtime.store
    policy = RetryPolicy.from_settings(runtime.settings)
    written = 0
    for job in store.csat.claim_due(limit):
        written += _write(runtime, policy, job)
    return written


def _write(runtime: Runtime, policy: RetryPolicy, job: CsatWrite) -> int:
    store = runtime.store
    sink = runtime.registry.sinks.get(job.sink)
    config = store.sink_connection(job.tenant_id, job.sink)
    if sink is None or config is None:
        store.csat.fail(job.id, f"{job.sink} is not connected any more")
        return 0
    connection = SinkConnection(job.tenant_id, store.tenant_key(job.tenant_id), job.sink, config)
    rating = Rating(ticket=job.ticket, rating=job.rating, network=job.network, note=note_for(job.rating, job.network))
    try:
        result = sink.record_rating(connection, rating)
    except RetriableError as exc:
        if policy.gives_up(attempts=job.attempts):
            store.csat.fail(job.id, f"gave up after {job.attempts} attempts: {exc}")
        else:
            store.csat.retry(job.id, str(exc), policy.next_attempt(job.attempts, exc.retry_after))
        log.warning("rating on %s %s not written yet: %s", job.sink, job.ticket, exc)
        return 0
    except (AuthError, FatalError) as exc:
        store.csat.fail(job.id, str(exc))
        log.warning("rating on %s %s cannot be written: %s", job.sink, job.ticket, exc)
        return 0
    store.csat.finish(job.id, result or f"{job.sink} takes no ratings: kept in horseshoe's figures")
    store.events.record(job.tenant_id, "satisfaction_written",
                        {"fact": job.fact_id, "sink": job.sink, "ticket": job.ticket, "result": result})  # fmt: skip
    return 1
