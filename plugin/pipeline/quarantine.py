"""Quarantine on the host's side: store what a connector could not read, and retry it later.

The worker (polls) and the webhook view open ``plugin.connector.quarantine_scope`` around the
connector; items that failed inside an ``item_boundary`` come back here and are committed before the
cursor moves or the network gets its 2xx. ``retry`` re-parses a stored item with the connector as
installed now (after a fix or a parser upgrade) and ingests what it yields.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from plugin import metrics
from plugin.connector import ITEM_ERRORS, Quarantined, quarantine_scope
from plugin.errors import BadInput
from plugin.pipeline import inbound as pipeline
from plugin.runtime import Runtime
from plugin.store.accounts import AccountRow
from plugin.store.quarantine import QuarantineRow
from plugin.store.statuses import QuarantineStatus

log = logging.getLogger(__name__)


def store(runtime: Runtime, account: AccountRow, source: str, items: Sequence[Quarantined]) -> int:
    """Commit ``items`` for ``account``; how many were new (a re-read page adds none)."""
    if not items:
        return 0
    new = runtime.store.quarantine.add(account.tenant_id, account.id, account.network, source, items)
    report(account, source, items, len(new))
    return len(new)


def report(account: AccountRow, source: str, items: Sequence[Quarantined], new: int) -> None:
    """Log and count ``items`` once they are committed (``new`` of them were not stored before)."""
    for item in items:
        log.warning(
            "%s account %s: %s quarantined (%s): %s", account.network, account.id, item.where, source, item.error
        )
    if new:
        metrics.QUARANTINED_ITEMS.labels(account.network, source).inc(new)


@dataclass(frozen=True)
class RetryResult:
    item_id: int
    released: bool
    mentions: int  # how many mentions the item yielded
    new: int  # how many of them were new to the inbox
    outcome: str  # a sentence for the admin


def retry(runtime: Runtime, row: QuarantineRow) -> RetryResult:
    """Re-parse one quarantined item with the current connector; ingest it when it now parses."""
    if row.status != QuarantineStatus.QUARANTINED:
        return RetryResult(row.id, True, 0, 0, f"already {row.status}: {row.outcome or ''}".strip())
    found = runtime.store.account(row.account_id) if row.account_id is not None else None
    if found is None:
        raise BadInput(f"quarantined item {row.id}: its account is no longer connected", status=409)
    account, context = found
    connector = runtime.registry.connectors.get(row.network)
    if connector is None:
        raise BadInput(f"quarantined item {row.id}: no connector installed for {row.network!r}", status=409)
    try:
        with quarantine_scope() as still:
            result = connector.explain_payload(row.payload, context.external_id)
    except ITEM_ERRORS as exc:
        error = f"{type(exc).__name__}: {exc}" if not isinstance(exc, BadInput) else str(exc)
        still = [Quarantined(row.location, error[:2000], row.payload)]
        result = None
    if still or result is None:
        error = "; ".join(f"{q.where}: {q.error}" for q in still)[:2000]
        runtime.store.quarantine.record_retry(row.id, released=False, outcome="still fails", error=error)
        return RetryResult(row.id, False, 0, 0, f"still fails: {error}")
    stored = pipeline.ingest(runtime, account, result.mentions)
    skipped = "; ".join(f"{s.where}: {s.reason}" for s in result.skipped)
    outcome = f"parsed: {len(result.mentions)} mention(s), {len(stored.new)} new" + (
        f"; skipped {skipped}" if skipped else ""
    )
    runtime.store.quarantine.record_retry(row.id, released=True, outcome=outcome)
    return RetryResult(row.id, True, len(result.mentions), len(stored.new), outcome)


def retry_as(runtime: Runtime, row: QuarantineRow, actor: str) -> RetryResult:
    """``retry`` on an admin's behalf (the console, the Zendesk admin page): recorded with who."""
    result = retry(runtime, row)
    runtime.store.events.record(
        row.tenant_id,
        "quarantine:retried",
        {"item_id": row.id, "network": row.network, "actor": actor, "released": result.released,
         "outcome": result.outcome[:500]},
    )  # fmt: skip
    return result


def discard(runtime: Runtime, row: QuarantineRow, actor: str, why: str) -> bool:
    """An admin drops a quarantined item for good, saying why (audited with who); False when it was no
    longer quarantined (released or discarded meanwhile)."""
    if not runtime.store.quarantine.discard(row.id, f"discarded by {actor}: {why}"):
        return False
    runtime.store.events.record(
        row.tenant_id, "quarantine:discarded", {"item_id": row.id, "network": row.network, "actor": actor, "why": why}
    )
    return True
