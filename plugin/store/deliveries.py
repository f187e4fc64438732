"""Deliveries: one row per (mention, sink), claimed when due, finished only under the lease."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Boolean, Connection, bindparam, case, func, insert, literal, select, update

from plugin.store import leases
from plugin.store import tables as t
from plugin.store.db import Database, as_utc, utcnow
from plugin.store.fair_claims import claim_fair
from plugin.store.statuses import DeliveryStatus, MentionStatus, ReplyStatus

BACKFILL_DAYS = 7  # how far back a newly connected CRM receives what it missed


@dataclass(frozen=True)
class DueDelivery:
    """A claimed delivery with what the sink needs of its mention."""

    id: int
    mention_id: int
    tenant_id: int
    sink: str
    attempts: int
    match: dict[str, Any] | None
    payload: dict[str, Any]  # the mention
    labels: dict[str, Any] | None
    received_at: datetime | None


@dataclass(frozen=True)
class DeliveryUpdate:
    """The new state of one delivery after an attempt."""

    id: int
    status: DeliveryStatus
    attempts: int
    last_error: str | None = None
    remote_id: str | None = None  # written when delivered
    next_attempt_at: datetime | None = None  # written when still pending


class DeliveryRepository:
    def __init__(self, db: Database):
        self.db = db

    def claim_due(
        self,
        owner: str,
        limit: int,
        lease_seconds: float,
        *,
        sink: str | None = None,
        other_than: Sequence[str] = (),
        exclude_tenants: Collection[int] = (),
        lapsed: bool = False,
    ) -> list[int]:
        """Due deliveries, oldest mention first; ``sink``: only that CRM's, ``other_than``: none of those
        CRMs' (a worker claims per CRM, so one whose work keeps failing never starves another's).
        Within one CRM's claim the tenants take turns (``fair_claims``); ``exclude_tenants`` wait on
        their rate budget and are not claimed. ``lapsed``: only work whose claim's lease ran out
        without a finish (its worker stalled or died; a finish always releases the lease)."""
        d = t.deliveries
        due = (d.c.status == DeliveryStatus.PENDING) & (d.c.next_attempt_at <= utcnow())
        if lapsed:
            due = due & d.c.lease_owner.is_not(None)
        if sink is not None:
            return claim_fair(self.db, due & (d.c.sink == sink), owner, limit, lease_seconds, exclude_tenants)
        if other_than:
            due = due & d.c.sink.not_in(list(other_than))
        return leases.claim(self.db, d, due, owner, limit, lease_seconds, order_by=[d.c.mention_id])

    def count_due(self, sink: str, cap: int) -> int:
        """How many of ``sink``'s deliveries are due and unclaimed now, counted up to ``cap`` (enough
        to size a batch: the count never scans more than ``cap`` rows)."""
        d, now = t.deliveries, utcnow()
        due = (
            select(d.c.id)
            .where(d.c.status == DeliveryStatus.PENDING, d.c.next_attempt_at <= now, d.c.sink == sink)
            .where(leases.free(d, now))
            .limit(cap)
            .subquery()
        )
        with self.db.read() as conn:
            return int(conn.execute(select(func.count()).select_from(due)).scalar_one())

    def wake(self, tenant_id: int, sink: str) -> None:
        """Pending deliveries of one tenant's sink are due now (its credentials were just updated)."""
        d = t.deliveries.c
        with self.db.begin() as conn:
            conn.execute(
                update(t.deliveries)
                .where(d.tenant_id == tenant_id, d.sink == sink, d.status == DeliveryStatus.PENDING)
                .values(next_attempt_at=utcnow())
            )

    def renew(self, owner: str, ids: Sequence[int], lease_seconds: float) -> set[int]:
        """Keep the claimed deliveries ``ids`` while they are in progress; returns those still ours."""
        d = t.deliveries
        return leases.renew(self.db, d, ids, owner, lease_seconds, where=d.c.status == DeliveryStatus.PENDING)

    def due_rows(self, ids: Sequence[int]) -> list[DueDelivery]:
        d, m = t.deliveries.c, t.mentions.c
        with self.db.read() as conn:
            rows = conn.execute(
                select(t.deliveries, m.payload, m.labels, m.received_at)
                .join(t.mentions, m.id == d.mention_id)
                .where(d.id.in_(list(ids)))
                .order_by(d.mention_id)
            ).all()
        return [
            DueDelivery(
                id=int(r.id),
                mention_id=int(r.mention_id),
                tenant_id=int(r.tenant_id),
                sink=r.sink,
                attempts=int(r.attempts),
                match=dict(r.match) if r.match else None,
                payload=dict(r.payload),
                labels=dict(r.labels) if r.labels is not None else None,
                received_at=as_utc(r.received_at),
            )
            for r in rows
        ]

    def finish(self, owner: str, updates: Sequence[DeliveryUpdate]) -> int:
        """Write each update and release its lease, but only where ``owner`` still holds the lease:
        a slower worker never overwrites a newer result. Returns how many rows were written.

        One statement for the whole batch, executed once per update (``executemany``): a batch of
        100 was 100 statements compiled and run one by one inside the write turn, ~0.5 ms each, while
        every other writer of the file waited (BENCHMARKS.md "The worker in its own process")."""
        if not updates:
            return 0
        d = t.deliveries.c
        # Only a delivery sets its remote id, only a retry its next attempt: the others keep theirs.
        delivered = bindparam("u_delivered", type_=Boolean)
        remote_id = case((delivered, bindparam("u_remote", type_=d.remote_id.type)), else_=d.remote_id)
        next_attempt_at = func.coalesce(bindparam("u_next", type_=d.next_attempt_at.type), d.next_attempt_at)
        statement = (
            update(t.deliveries)
            .where(d.id == bindparam("u_id"), leases.held_by(t.deliveries, owner))
            .values(
                status=bindparam("u_status"),
                attempts=bindparam("u_attempts"),
                last_error=bindparam("u_error"),
                updated_at=utcnow(),
                remote_id=remote_id,
                next_attempt_at=next_attempt_at,
                **leases.released(),
            )
        )
        rows = [
            {"u_id": u.id, "u_status": u.status, "u_attempts": u.attempts, "u_error": u.last_error,
             "u_delivered": u.status == DeliveryStatus.DELIVERED, "u_remote": u.remote_id,
             "u_next": u.next_attempt_at}
            for u in sorted(updates, key=lambda u: u.id)  # id order, as lease renewals lock (leases.renew)
        ]  # fmt: skip
        with self.db.begin() as conn:
            return int(conn.execute(statement, rows).rowcount)

    def parent_states(
        self, tenant_id: int, sink: str, keys: set[tuple[str, str]]
    ) -> dict[tuple[str, str], DeliveryStatus]:
        """Delivery state in ``sink`` of each (network, external_id) parent we know of.

        A parent that is one of our own sent replies counts as delivered: the CRM created it.
        """
        states: dict[tuple[str, str], DeliveryStatus] = {}
        if not keys:
            return states
        ids = sorted({external_id for _network, external_id in keys})
        m, d, r = t.mentions.c, t.deliveries.c, t.replies.c
        with self.db.read() as conn:
            rows = conn.execute(
                select(m.network, m.external_id, d.status)
                .select_from(t.mentions)
                .outerjoin(t.deliveries, (d.mention_id == m.id) & (d.sink == sink))
                .where(m.tenant_id == tenant_id, m.external_id.in_(ids))
            )
            for row in rows:
                if (row.network, row.external_id) in keys and row.status is not None:
                    states[(row.network, row.external_id)] = DeliveryStatus(row.status)
            replies = conn.execute(
                select(r.network, r.external_id).where(
                    r.tenant_id == tenant_id, r.status == ReplyStatus.SENT, r.external_id.in_(ids)
                )
            )
            for reply in replies:
                states[(reply.network, reply.external_id)] = DeliveryStatus.DELIVERED
        return states


def add_deliveries(conn: Connection, routed: Sequence[tuple[int, int, Mapping[str, dict[str, Any] | None]]]) -> None:
    """For each (mention id, tenant id, matches): a pending delivery per sink of ``matches`` that the
    mention does not have yet (routing twice after a crash adds nothing). The existing ones are read
    with one query and the new ones written with one multi-row INSERT, for a whole group commit."""
    if not routed:
        return
    now = utcnow()
    d = t.deliveries.c
    ids = sorted({mention_id for mention_id, _, _ in routed})
    found = conn.execute(select(d.mention_id, d.sink).where(d.mention_id.in_(ids)))
    have = {(int(r.mention_id), str(r.sink)) for r in found}
    rows = [
        {"mention_id": mention_id, "tenant_id": tenant_id, "sink": sink, "status": DeliveryStatus.PENDING,
         "attempts": 0, "next_attempt_at": now, "match": match, "updated_at": now}
        for mention_id, tenant_id, matches in routed
        for sink, match in matches.items()
        if (mention_id, sink) not in have
    ]  # fmt: skip
    if rows:
        conn.execute(insert(t.deliveries), rows)


def backfill_deliveries(conn: Connection, tenant_id: int, sink: str) -> None:
    """Mentions routed while this CRM was not connected (not yet installed, or uninstalled for a
    while) get their delivery now, back to ``BACKFILL_DAYS``: nothing is missed by the gap."""
    now = utcnow()
    m, d = t.mentions.c, t.deliveries.c
    missing = select(
        m.id,
        m.tenant_id,
        literal(sink),
        literal(DeliveryStatus.PENDING.value),
        literal(0),
        literal(now, type_=d.next_attempt_at.type),
        literal(now, type_=d.updated_at.type),
    ).where(
        m.tenant_id == tenant_id,
        m.status == MentionStatus.ROUTED,
        m.deleted.is_(False),
        m.received_at >= now - timedelta(days=BACKFILL_DAYS),
        ~select(d.id).where(d.mention_id == m.id, d.sink == sink).exists(),
    )
    conn.execute(
        insert(t.deliveries).from_select(
            ["mention_id", "tenant_id", "sink", "status", "attempts", "next_attempt_at", "updated_at"], missing
        )
    )
