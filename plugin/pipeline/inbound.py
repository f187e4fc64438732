"""Inbound path: store first, then triage, identity and one delivery per connected sink.

``ingest`` commits each mention before anything else happens to it, so a crash afterwards loses
nothing; ``route`` is resumable because it only picks mentions still in status ``received``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from plugin import metrics
from plugin.connector import Quarantined
from plugin.context import RoutingPass, Tenant, routing_pass, tenant_context
from plugin.heartbeat import Heartbeat
from plugin.models import Labels, Mention, SocialProfile, Visibility
from plugin.pipeline import doorbell, notices, upcoming
from plugin.pipeline.announce import Announcement
from plugin.runtime import Runtime
from plugin.store.accounts import AccountRow
from plugin.store.db import utcnow
from plugin.store.inbox import MentionRow, RoutedMention
from plugin.store.intake import IntakeTransaction
from plugin.store.statuses import MentionStatus
from plugin.traffic import GIVE_WAY_SECONDS, TRAFFIC
from plugin.triage import merge_labels, observer

log = logging.getLogger(__name__)
# How long after a handoff the customer's private messages still join the public thread's ticket.
HANDOFF_DAYS = 14


@dataclass
class IngestResult:
    new: list[int] = field(default_factory=list)
    duplicates: int = 0
    events: int = 0
    quarantined: list[int] = field(default_factory=list)  # ids of newly quarantined items


@dataclass(frozen=True)
class Part:
    """One account's share of an inbound batch: its mentions, the items its connector could not read
    (``held``, quarantined with them) and whether to record a successful webhook on its health."""

    account: AccountRow
    mentions: Sequence[Mention]
    held: Sequence[Quarantined] = ()
    source: str = "webhook"
    webhook_ok: bool = False


def ingest(runtime: Runtime, account: AccountRow, mentions: Iterable[Mention]) -> IngestResult:
    return ingest_parts(runtime, [Part(account, list(mentions))])[0]


def ingest_parts(
    runtime: Runtime,
    parts: Sequence[Part],
    *,
    expect_generation: int | None = None,
    tenant_keys: Mapping[int, str] | None = None,
    announce: Callable[[list[Announcement]], None] | None = None,
) -> list[IngestResult]:
    """Commit every part in ONE write transaction (see ``plugin.store.intake``), then announce the new
    mentions (``mention_stored``: here, or by ``announce``, e.g. an ``Announcer``'s thread).
    ``expect_generation``: the accounts' generation the caller's (cached) accounts were read under;
    ``StaleAccounts`` is raised, with nothing written, when they changed since."""
    results = [IngestResult() for _ in parts]
    stored: list[tuple[int, Mention, int]] = []  # (tenant id, mention, new id), announced after commit
    since = utcnow() - timedelta(days=HANDOFF_DAYS)

    def store(tx: IntakeTransaction) -> None:
        for part, result in zip(parts, results, strict=True):
            _store_part(tx, part, result, since, stored)

    runtime.store.intake.run(store, expect_generation)
    if any(r.new for r in results):
        # Committed: an idle worker routes and delivers them now, this process's or the one listening
        # for this database (horseshoe serve's worker process).
        doorbell.ring(doorbell.address_for(runtime.db.identity))
    # Counted and announced only once committed (a transaction rolled back is handled again).
    for part, result in zip(parts, results, strict=True):
        network = part.account.network
        metrics.MENTIONS.labels(network, "new").inc(len(result.new))
        metrics.MENTIONS.labels(network, "duplicate").inc(result.duplicates)
        metrics.MENTIONS.labels(network, "event").inc(result.events)
    keys = dict(tenant_keys or {})
    announcements: list[Announcement] = []
    for tenant_id, mention, mention_id in stored:
        if tenant_id not in keys:
            keys[tenant_id] = runtime.store.tenant_key(tenant_id)
        announcements.append((mention, mention_id, keys[tenant_id]))
    if announce is not None:
        announce(announcements)
        return results
    # Announced here as one pass: the observers' triage reads the mentions' histories together.
    mentions: dict[int, list[Mention]] = {}
    for tenant_id, mention, _ in stored:
        mentions.setdefault(tenant_id, []).append(mention)
    with routing_pass(mentions):
        for mention, mention_id, tenant_key in announcements:
            runtime.hooks.mention_stored(mention=mention, mention_id=mention_id, tenant=tenant_key)
    return results


def _store_part(
    tx: IntakeTransaction,
    part: Part,
    result: IngestResult,
    since: datetime,
    stored: list[tuple[int, Mention, int]],
) -> None:
    account = part.account
    run: list[Mention] = []  # new mentions inserted together, in order, until an event needs the rows

    def flush() -> None:
        for mention, mention_id in zip(run, tx.insert_many(account.tenant_id, account.id, run), strict=True):
            if mention_id is None:
                result.duplicates += 1
            else:
                result.new.append(mention_id)
                stored.append((account.tenant_id, mention, mention_id))
        run.clear()

    for mention in part.mentions:
        if mention.event != "created":
            # Edits and deletions update the stored mention; one we never saw is stored as new.
            flush()
            before = tx.find(account.tenant_id, mention.network, mention.external_id)
            if tx.apply_event(account.tenant_id, mention):
                result.events += 1
                if mention.event == "deleted" and before is not None and _needs_deletion_note(before):
                    note = notices.deletion_notice(before.mention(), utcnow())
                    tx.insert_many(account.tenant_id, before.account_id or account.id, [note])
                continue
        run.append(_joined_to_handoff(tx, account, mention, since))
    flush()
    if part.held:
        result.quarantined = tx.quarantine(account.tenant_id, account.id, account.network, part.source, part.held)
    if part.webhook_ok:
        tx.mark_webhook_ok(account.id)


def _joined_to_handoff(tx: IntakeTransaction, account: AccountRow, mention: Mention, since: datetime) -> Mention:
    """A customer's private message after an agent moved their public thread to private (a handoff):
    ``extra.handoff_thread`` names that public thread, so the sinks put it on the same ticket/case. Its
    own ``thread_id`` stays the network's (replies to it go to the private conversation)."""
    if mention.visibility != Visibility.PRIVATE or notices.is_notice(mention):
        return mention
    public_thread = tx.handoff_thread(account.tenant_id, account.id, mention.network, mention.author.external_id, since)
    if public_thread is None or public_thread == mention.thread_id:
        return mention
    return mention.model_copy(update={"extra": {**mention.extra, "handoff_thread": public_thread}})


def _needs_deletion_note(before: MentionRow) -> bool:
    """A deleted mention that is already on a ticket/case gets a note there (one: its id is derived).
    One not routed yet needs none: routing skips it as deleted and no ticket is ever made."""
    return not before.deleted and before.status == MentionStatus.ROUTED


def original_gone(
    runtime: Runtime, tenant_id: int, network: str, external_id: str, *, unavailable: bool = False
) -> None:
    """The network said, while we answered it, that a stored mention no longer exists (or, with
    ``unavailable``, that its author can no longer be messaged): recorded as its deletion (the same
    note on the ticket/case as a deletion event would give)."""
    before = runtime.store.inbox.find(tenant_id, network, external_id)
    if before is None or before.deleted:
        return
    runtime.store.inbox.apply_event(tenant_id, before.mention().model_copy(update={"event": "deleted"}))
    if before.status == MentionStatus.ROUTED:
        note = notices.deletion_notice(before.mention(), utcnow(), unavailable=unavailable)
        runtime.store.inbox.insert(tenant_id, before.account_id, note)


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
# Also the most a routed mention waits for its commit, and so for the delivery lane that sends it
# (plugin/worker/lanes.py): a tenth of the one-second latency goal of issue 11.
GROUP_COMMIT_SECONDS = 0.1


def route(runtime: Runtime, owner: str, limit: int = 200) -> int:
    """Triage received mentions and create their deliveries. Returns how many were routed."""
    store, lease = runtime.store, runtime.settings.lease_seconds
    ids = store.inbox.claim_received(owner, limit, lease)
    if not ids:
        return 0
    # Hooks may be slow (a CRM look-up): the leases are kept meanwhile, so another worker does not
    # route the same mentions too.
    # The pass is announced to this process's delivery lanes (plugin/pipeline/upcoming.py).
    renew = lambda held: store.inbox.renew_routing(owner, held, lease)  # noqa: E731
    with Heartbeat(renew, ids, lease, f"{owner}:routing") as beat, upcoming.ROUTING.pass_(len(ids) >= limit) as routing:
        _route_claimed(runtime, owner, ids, beat, routing)
    return len(ids)


def _route_claimed(
    runtime: Runtime, owner: str, ids: list[int], beat: Heartbeat, routing: upcoming.RoutingPass
) -> None:
    store = runtime.store
    claimed = [(row, row.mention(), sinks) for row, sinks in routing.expect(store.inbox.for_routing_many(ids))]
    # Every mention and author the pass routes, per tenant: triage and the resolvers read their
    # histories and records together (plugin.context.current_pass) instead of once per mention.
    mentions: dict[int, list[Mention]] = {}
    for row, mention, _ in claimed:
        if not notices.is_notice(mention):
            mentions.setdefault(row.tenant_id, []).append(mention)
    with routing_pass(mentions) as scope:
        _route_rows(runtime, owner, claimed, beat, routing, scope)


def _route_rows(
    runtime: Runtime,
    owner: str,
    claimed: list[tuple[MentionRow, Mention, list[str]]],
    beat: Heartbeat,
    routing: upcoming.RoutingPass,
    scope: RoutingPass,
) -> None:
    store = runtime.store
    tenants: dict[int, Tenant] = {}
    pending: list[RoutedMention] = []
    since = time.monotonic()
    # Triage is CPU-bound: a burst of this process's requests (serve) goes first, between two mentions.
    pauses = TRAFFIC.pauses(GIVE_WAY_SECONDS)

    def commit_mid_pass() -> None:
        nonlocal pending, since
        _commit(runtime, owner, pending, routing)
        if pending:
            scope.advance()  # the pass's later mentions see these as routed (an open case)
        beat.release([r.mention.id for r in pending])
        pending, since = [], time.monotonic()

    for row, mention, sinks in claimed:
        if pauses.due():
            commit_mid_pass()  # what was routed goes to its delivery lane now, not after the burst
            pauses.wait()
            since = time.monotonic()
        if row.tenant_id not in tenants:  # one look-up per tenant per pass, not per mention
            tenants[row.tenant_id] = Tenant(id=row.tenant_id, key=store.tenant_key(row.tenant_id))
        # Hooks run outside any write transaction: a resolver may query its CRM and write its own rows.
        if notices.is_notice(mention):
            # horseshoe's own note: neither triaged (it is not a customer's text) nor matched to a person.
            pending.append(RoutedMention(row, True, {"tags": ["horseshoe_note"]}, dict.fromkeys(sinks)))
            continue
        with tenant_context(tenants[row.tenant_id]):
            labels = triage(runtime, mention)
            observer.remember_labels(runtime, mention, tenants[row.tenant_id], labels)
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
            commit_mid_pass()
    _commit(runtime, owner, pending, routing)


def _commit(runtime: Runtime, owner: str, pending: list[RoutedMention], routing: upcoming.RoutingPass) -> None:
    """One group commit of routed mentions (and their deliveries), then the delivery lanes' bell."""
    runtime.store.inbox.finish_routing_many(pending, owner)
    routing.committed(pending)
    if any(r.engaged and r.matches for r in pending):
        doorbell.ROUTED.ring()
