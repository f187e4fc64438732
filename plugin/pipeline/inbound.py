"""Inbound path: store first, then triage, identity and one delivery per connected sink.

``ingest`` commits each mention before anything else happens to it, so a crash afterwards loses
nothing; ``route`` is resumable because it only picks mentions still in status ``received``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import insert, select, update

from plugin import metrics
from plugin.context import Tenant, tenant_context
from plugin.models import Labels, Mention, SocialProfile
from plugin.runtime import Runtime
from plugin.store import tables as t
from plugin.store.db import utcnow
from plugin.store.repo import AccountRow
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
            if runtime.store.apply_mention_event(account.tenant_id, mention):
                result.events += 1
                metrics.MENTIONS.labels(mention.network, "event").inc()
                continue
        mention_id = runtime.store.insert_mention(account.tenant_id, account.id, mention)
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


def route(runtime: Runtime, owner: str, limit: int = 200) -> int:
    """Triage received mentions and create their deliveries. Returns how many were routed."""
    store = runtime.store
    ids = store.claim(
        t.mentions,
        t.mentions.c.status == "received",
        owner,
        limit,
        runtime.settings.lease_seconds,
        order_by=[t.mentions.c.id],
    )
    tenants: dict[int, Tenant] = {}
    for mention_id in ids:
        with runtime.db.begin() as conn:
            row = conn.execute(select(t.mentions).where(t.mentions.c.id == mention_id)).one()
            sinks = store.enabled_sinks(conn, row.tenant_id)
        mention = Mention.model_validate(row.payload)
        tenant_id = int(row.tenant_id)
        if tenant_id not in tenants:  # one look-up per tenant per pass, not per mention
            tenants[tenant_id] = Tenant(id=tenant_id, key=store.tenant_key(tenant_id))
        tenant = tenants[tenant_id]
        # Hooks run outside any write transaction: a resolver may query its CRM and write its own rows.
        with tenant_context(tenant):
            labels = triage(runtime, mention)
            engage = labels.engage is not False and not row.deleted
            skipped = (labels.model_extra or {}).get("skip_reason") or ("deleted" if row.deleted else "none")
            metrics.TRIAGED.labels(labels.intent or "none", str(skipped)).inc()
            matches = {
                sink: runtime.hooks.resolve_identity(profile=profile_of(mention), sink=sink)
                for sink in (sinks if engage else [])
            }
        now = utcnow()
        with runtime.db.begin() as conn:
            for sink, match in matches.items():
                exists = conn.execute(
                    select(t.deliveries.c.id).where(
                        t.deliveries.c.mention_id == mention_id, t.deliveries.c.sink == sink
                    )
                ).first()
                if exists is None:
                    conn.execute(
                        insert(t.deliveries).values(
                            mention_id=mention_id,
                            tenant_id=row.tenant_id,
                            sink=sink,
                            status="pending",
                            attempts=0,
                            next_attempt_at=now,
                            match=match.model_dump(mode="json") if match else None,
                            updated_at=now,
                        )
                    )
            conn.execute(
                update(t.mentions)
                .where(t.mentions.c.id == mention_id)
                .values(
                    status="routed" if engage else "skipped",
                    labels=labels.model_dump(mode="json", exclude_none=True),
                    lease_owner=None,
                    lease_until=None,
                )
            )
    return len(ids)
