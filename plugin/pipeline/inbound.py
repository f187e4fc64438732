"""Inbound path: store first, then triage, identity and one delivery per connected sink.

``ingest`` commits each mention before anything else happens to it, so a crash afterwards loses
nothing; ``route`` is resumable because it only picks mentions still in status ``received``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from plugin import metrics
from plugin.context import Tenant, tenant_context
from plugin.heartbeat import Heartbeat
from plugin.models import Labels, Mention, SocialProfile
from plugin.runtime import Runtime
from plugin.store.accounts import AccountRow
from plugin.store.inbox import RoutedMention
from plugin.triage import merge_labels

log = logging.getLogger(__name__)


@dataclass
class IngestResult:
    new: list[int] = field(default_factory=list)
    duplicates: int = 0
    events: int = 0


def ingest(runtime: Runtime, account: AccountRow, mentions: Iterable[Mention]) -> IngestResult:
    result = IngestResult()
    tenant_key: str | None = None
    for mention in mentions:
        if mention.event != "created":
            # Edits and deletions update the stored mention; one we never saw is stored as new.
            if runtime.store.inbox.apply_event(account.tenant_id, mention):
                result.events += 1
                metrics.MENTIONS.labels(mention.network, "event").inc()
                continue
        mention_id = runtime.store.inbox.insert(account.tenant_id, account.id, mention)
        if mention_id is None:
            result.duplicates += 1
            metrics.MENTIONS.labels(mention.network, "duplicate").inc()
            continue
        result.new.append(mention_id)
        metrics.MENTIONS.labels(mention.network, "new").inc()
        tenant_key = tenant_key or runtime.store.tenant_key(account.tenant_id)
        runtime.hooks.mention_stored(mention=mention, mention_id=mention_id, tenant=tenant_key)
    return result


def triage(runtime: Runtime, mention: Mention) -> Labels:
    return merge_labels(runtime.hooks.triage(mention))


def profile_of(mention: Mention) -> SocialProfile:
    author = mention.author
    return SocialProfile(
        network=mention.network,
        external_id=author.external_id,
        handle=author.handle,
        name=author.name,
        avatar_url=author.avatar_url,
        profile_url=author.profile_url,
        lang=mention.lang,
    )


# Routed mentions committed together (see ``InboxRepository.finish_routing_many``): enough to share
# one write transaction between many mentions, few enough that a slow hook (a CRM look-up) delays
# only a handful of deliveries, and a crash re-routes at most this many.
GROUP_COMMIT = 50
GROUP_COMMIT_SECONDS = 0.25


def route(runtime: Runtime, owner: str, limit: int = 200) -> int:
    """Triage received mentions and create their deliveries. Returns how many were routed."""
    store, lease = runtime.store, runtime.settings.lease_seconds
    ids = store.inbox.claim_received(owner, limit, lease)
    if not ids:
        return 0
    # Hooks may be slow (a CRM look-up): the leases are kept meanwhile, so another worker does not
    # route the same mentions too.
    with Heartbeat(lambda held: store.inbox.renew_routing(owner, held, lease), ids, lease, f"{owner}:routing") as beat:
        _route_claimed(runtime, owner, ids, beat)
    return len(ids)


def _route_claimed(runtime: Runtime, owner: str, ids: list[int], beat: Heartbeat) -> None:
    store = runtime.store
    tenants: dict[int, Tenant] = {}
    pending: list[RoutedMention] = []
    since = time.monotonic()
    for row, sinks in store.inbox.for_routing_many(ids):
        mention = row.mention()
        if row.tenant_id not in tenants:  # one look-up per tenant per pass, not per mention
            tenants[row.tenant_id] = Tenant(id=row.tenant_id, key=store.tenant_key(row.tenant_id))
        # Hooks run outside any write transaction: a resolver may query its CRM and write its own rows.
        with tenant_context(tenants[row.tenant_id]):
            labels = triage(runtime, mention)
            engage = labels.engage is not False and not row.deleted
            skipped = (labels.model_extra or {}).get("skip_reason") or ("deleted" if row.deleted else "none")
            metrics.TRIAGED.labels(labels.intent or "none", str(skipped)).inc()
            matches = {
                sink: runtime.hooks.resolve_identity(profile=profile_of(mention), sink=sink)
                for sink in (sinks if engage else [])
            }
        pending.append(
            RoutedMention(
                row,
                engage,
                labels.model_dump(mode="json", exclude_none=True),
                {sink: match.model_dump(mode="json") if match else None for sink, match in matches.items()},
            )
        )
        if len(pending) >= GROUP_COMMIT or time.monotonic() - since >= GROUP_COMMIT_SECONDS:
            store.inbox.finish_routing_many(pending, owner)
            beat.release([r.mention.id for r in pending])
            pending, since = [], time.monotonic()
    store.inbox.finish_routing_many(pending, owner)
