"""The inbox: every mention stored once, edits and deletions on the row, routing under a lease."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from plugin.models import Mention
from plugin.store import leases
from plugin.store import tables as t
from plugin.store.db import Database, as_utc, utcnow
from plugin.store.deliveries import add_deliveries
from plugin.store.rollups import record_routed
from plugin.store.rows import new_id
from plugin.store.statuses import DeliveryStatus, MentionStatus
from plugin.store.tenants import enabled_sinks


@dataclass(frozen=True)
class MentionRow:
    id: int
    tenant_id: int
    account_id: int | None
    network: str
    external_id: str
    status: MentionStatus
    payload: dict[str, Any]
    labels: dict[str, Any] | None
    deleted: bool
    received_at: datetime | None

    def mention(self) -> Mention:
        return Mention.model_validate(self.payload)


@dataclass(frozen=True)
class RoutedMention:
    """What routing decided for one mention, waiting for its group commit."""

    mention: MentionRow
    engaged: bool
    labels: dict[str, Any]
    matches: Mapping[str, dict[str, Any] | None]


def mention_row(row: Any) -> MentionRow:
    return MentionRow(
        id=int(row.id),
        tenant_id=int(row.tenant_id),
        account_id=int(row.account_id) if row.account_id is not None else None,
        network=row.network,
        external_id=row.external_id,
        status=MentionStatus(row.status),
        payload=dict(row.payload),
        labels=dict(row.labels) if row.labels is not None else None,
        deleted=bool(row.deleted),
        received_at=as_utc(row.received_at),
    )


def mention_values(tenant_id: int, account_id: int | None, mention: Mention) -> dict[str, Any]:
    """The inbox row of a new mention."""
    return {
        "tenant_id": tenant_id,
        "account_id": account_id,
        "network": mention.network,
        "external_id": mention.external_id,
        "thread_id": mention.thread_id,
        "parent_id": mention.parent_id,
        "author_external_id": mention.author.external_id,
        "payload": mention.model_dump(mode="json"),
        "status": MentionStatus.RECEIVED,
        "deleted": mention.event == "deleted",
        "edits": 0,
        "created_at": mention.created_at,
        "received_at": utcnow(),
    }


def find_on(conn: Connection, tenant_id: int | None, network: str, external_id: str) -> MentionRow | None:
    m = t.mentions.c
    row = conn.execute(
        select(t.mentions).where(m.tenant_id == tenant_id, m.network == network, m.external_id == external_id)
    ).first()
    return mention_row(row) if row is not None else None


def apply_event_on(conn: Connection, tenant_id: int, mention: Mention) -> bool:
    """``InboxRepository.apply_event`` inside the caller's write transaction."""
    m = t.mentions.c
    row = conn.execute(
        select(m.id, m.payload, m.edits).where(
            m.tenant_id == tenant_id, m.network == mention.network, m.external_id == mention.external_id
        )
    ).first()
    if row is None:
        return False
    payload = dict(row.payload)
    history = list(payload.get("extra", {}).get("history", []))
    if mention.event == "edited":
        history.append({"text": payload.get("text"), "replaced_at": utcnow().isoformat()})
        payload["text"] = mention.text
    extra = dict(payload.get("extra", {}))
    extra["history"] = history
    payload["extra"] = extra
    conn.execute(
        update(t.mentions)
        .where(m.id == row.id)
        .values(
            payload=payload,
            deleted=m.deleted | (mention.event == "deleted"),
            edits=row.edits + (1 if mention.event == "edited" else 0),
        )
    )
    return True


class InboxRepository:
    def __init__(self, db: Database):
        self.db = db

    def insert(self, tenant_id: int, account_id: int | None, mention: Mention) -> int | None:
        """Commit a new mention; None when (tenant, network, external_id) is already stored."""
        try:
            with self.db.begin() as conn:
                return new_id(conn.execute(insert(t.mentions).values(**mention_values(tenant_id, account_id, mention))))
        except IntegrityError:
            # The unique key is how duplicates are detected: a webhook and a poll may race.
            return None

    def apply_event(self, tenant_id: int, mention: Mention) -> bool:
        """An edit or delete of a stored mention: marked on the row, never losing the original."""
        with self.db.begin() as conn:
            return apply_event_on(conn, tenant_id, mention)

    # -- routing -----------------------------------------------------------------------------
    def claim_received(self, owner: str, limit: int, lease_seconds: float) -> list[int]:
        m = t.mentions
        return leases.claim(
            self.db, m, m.c.status == MentionStatus.RECEIVED, owner, limit, lease_seconds, order_by=[m.c.id]
        )

    def renew_routing(self, owner: str, ids: Sequence[int], lease_seconds: float) -> set[int]:
        """Keep the mentions ``ids`` claimed for routing while they are triaged; returns those still ours."""
        m = t.mentions
        return leases.renew(self.db, m, ids, owner, lease_seconds, where=m.c.status == MentionStatus.RECEIVED)

    def for_routing(self, mention_id: int) -> tuple[MentionRow, list[str]]:
        """The mention and the sinks its tenant has connected, read together."""
        with self.db.read() as conn:
            row = conn.execute(select(t.mentions).where(t.mentions.c.id == mention_id)).one()
            return mention_row(row), enabled_sinks(conn, int(row.tenant_id))

    def for_routing_many(self, mention_ids: Sequence[int]) -> list[tuple[MentionRow, list[str]]]:
        """``for_routing`` for a claimed batch, in one read transaction (ids order kept)."""
        if not mention_ids:
            return []
        with self.db.read() as conn:
            rows = {int(r.id): r for r in conn.execute(select(t.mentions).where(t.mentions.c.id.in_(mention_ids)))}
            sinks: dict[int, list[str]] = {}
            for row in rows.values():
                if int(row.tenant_id) not in sinks:
                    sinks[int(row.tenant_id)] = enabled_sinks(conn, int(row.tenant_id))
        return [(mention_row(rows[i]), sinks[int(rows[i].tenant_id)]) for i in mention_ids if i in rows]

    def finish_routing(
        self,
        mention: MentionRow,
        *,
        engaged: bool,
        labels: dict[str, Any],
        matches: Mapping[str, dict[str, Any] | None],
    ) -> None:
        """One delivery per sink in ``matches`` (with identity's verdict) and the mention's new
        status, in one transaction, releasing the routing lease."""
        self.finish_routing_many([RoutedMention(mention, engaged, labels, matches)])

    def finish_routing_many(self, routed: Sequence[RoutedMention], owner: str | None = None) -> int:
        """Group commit: the verdicts of several mentions in one write transaction (one fsync and one
        write lock instead of one per mention). With ``owner``, a mention is only finished while that
        routing lease is still held: one whose lease expired belongs to whoever claimed it since.
        Returns how many were finished."""
        m = t.mentions
        ordered = sorted(routed, key=lambda r: r.mention.id)  # id order, as lease renewals lock
        if not ordered:
            return 0
        with self.db.begin() as conn:
            finished = ordered
            if owner is not None:
                # The rows still ours, locked in id order (PostgreSQL; SQLite has one writer): a mention
                # whose lease was lost is someone else's now and is left alone.
                held = {
                    int(i) for i in conn.execute(
                        select(m.c.id)
                        .where(m.c.id.in_([r.mention.id for r in ordered]), m.c.status == MentionStatus.RECEIVED,
                               leases.held_by(m, owner))
                        .order_by(m.c.id)
                        .with_for_update()
                    ).scalars()
                }  # fmt: skip
                finished = [r for r in ordered if r.mention.id in held]
            if not finished:
                return 0
            # One statement each for the whole group (executemany), not one per mention.
            conn.execute(
                update(m).where(m.c.id == bindparam("m_id"))
                .values(status=bindparam("m_status"), labels=bindparam("m_labels"), **leases.released()),
                [{"m_id": r.mention.id, "m_labels": r.labels,
                  "m_status": MentionStatus.ROUTED if r.engaged else MentionStatus.SKIPPED} for r in finished],
            )  # fmt: skip
            add_deliveries(conn, [(r.mention.id, r.mention.tenant_id, r.matches) for r in finished])
            # The service facts (first response, resolution, SPS...) commit with the verdicts. Last:
            # their rollup rows are shared by every worker routing this tenant's mentions, and are
            # locked from their update to the commit (plugin/store/rollups.py, bump_many).
            record_routed(conn, finished)
        return len(finished)

    # -- reads for the CRM side --------------------------------------------------------------
    def find(self, tenant_id: int | None, network: str, external_id: str) -> MentionRow | None:
        with self.db.read() as conn:
            return find_on(conn, tenant_id, network, external_id)

    def not_delivered(
        self, tenant_id: int, sink: str, account_ids: Sequence[int], after_id: int, limit: int
    ) -> list[MentionRow]:
        """Mentions of these accounts, after ``after_id``, whose delivery to ``sink`` has not
        succeeded (the Zendesk pull endpoint pages through them)."""
        m, d = t.mentions.c, t.deliveries.c
        with self.db.read() as conn:
            rows = conn.execute(
                select(t.mentions)
                .join(t.deliveries, (d.mention_id == m.id) & (d.sink == sink))
                .where(
                    m.tenant_id == tenant_id,
                    m.account_id.in_(account_ids),
                    m.id > after_id,
                    d.status != DeliveryStatus.DELIVERED,
                )
                .order_by(m.id)
                .limit(limit)
            ).all()
        return [mention_row(r) for r in rows]
