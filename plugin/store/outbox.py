"""The reply outbox: recorded under an idempotency key, taken under a lease before the network
call, finished, and reported back to the CRM record it came from."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from plugin.models import Reply
from plugin.store import leases
from plugin.store import tables as t
from plugin.store.db import Database, as_utc, utcnow
from plugin.store.rawsql import Statements
from plugin.store.rows import new_id
from plugin.store.statuses import FINAL_REPLY_STATES, ReplyStatus

STUCK_ERROR = "process stopped while posting; may have been posted, not retried"
LATE_ERROR = "the attempt outlived its lease and the reply was reported uncertain meanwhile: not retried"
FINISH_FIELDS = frozenset({"next_attempt_at", "external_id", "url", "last_error", "parts"})


@dataclass(frozen=True)
class ReplyRow:
    id: int
    tenant_id: int
    account_id: int | None
    idempotency_key: str
    source: str
    network: str
    payload: dict[str, Any]  # the Reply ({} for one no account can post)
    status: ReplyStatus
    attempts: int
    external_id: str | None
    url: str | None
    last_error: str | None
    remote_id: str | None
    reported_at: datetime | None
    parts: tuple[str, ...] = ()  # every id of a reply published in several parts, in order
    created_at: datetime | None = None

    def reply(self) -> Reply:
        return Reply.model_validate(self.payload)


def reply_row(row: Any) -> ReplyRow:
    return ReplyRow(
        id=int(row.id),
        tenant_id=int(row.tenant_id),
        account_id=int(row.account_id) if row.account_id is not None else None,
        idempotency_key=row.idempotency_key,
        source=row.source,
        network=row.network,
        payload=dict(row.payload or {}),
        status=ReplyStatus(row.status),
        attempts=int(row.attempts),
        external_id=row.external_id,
        url=row.url,
        last_error=row.last_error,
        remote_id=row.remote_id,
        reported_at=as_utc(row.reported_at),
        parts=tuple(str(p) for p in (row.parts or ())),
        created_at=as_utc(row.created_at),
    )


class OutboxRepository:
    def __init__(self, db: Database):
        self.db = db

    def _insert(self, **values: Any) -> int | None:
        now = utcnow()
        try:
            with self.db.begin() as conn:
                result = conn.execute(
                    insert(t.replies).values(attempts=0, next_attempt_at=now, created_at=now, updated_at=now, **values)
                )
                return new_id(result)
        except IntegrityError:
            # The idempotency key is unique: the same reply handed over twice is recorded once.
            return None

    def enqueue(
        self,
        tenant_id: int,
        account_id: int,
        reply: Reply,
        source: str,
        remote_id: str | None = None,
        handoff_thread: str | None = None,
    ) -> int | None:
        """Record a pending reply; None when its idempotency key is already recorded. ``handoff_thread``:
        this private message moves that public thread to private (see ``handoff_thread_for``)."""
        return self._insert(
            recipient_id=reply.recipient_id if reply.visibility == "private" else None,
            handoff_thread=handoff_thread,
            tenant_id=tenant_id,
            account_id=account_id,
            idempotency_key=reply.idempotency_key,
            source=source,
            remote_id=remote_id,
            network=reply.network,
            payload=reply.model_dump(mode="json"),
            status=ReplyStatus.PENDING,
        )

    def record_unpostable(
        self, tenant_id: int, source: str, remote_id: str, key: str, network: str, error: str
    ) -> int | None:
        """Record, already failed, a reply no connected account can post (so it is reported back)."""
        return self._insert(
            tenant_id=tenant_id,
            account_id=None,
            idempotency_key=key,
            source=source,
            remote_id=remote_id,
            network=network,
            payload={},
            status=ReplyStatus.FAILED,
            last_error=error,
        )

    def get(self, reply_id: int) -> ReplyRow:
        with self.db.read() as conn:
            return reply_row(conn.execute(select(t.replies).where(t.replies.c.id == reply_id)).one())

    def by_key(self, idempotency_key: str) -> ReplyRow:
        with self.db.read() as conn:
            row = conn.execute(select(t.replies).where(t.replies.c.idempotency_key == idempotency_key)).one()
        return reply_row(row)

    def find_posted(self, tenant_id: int | None, network: str, external_id: str) -> ReplyRow | None:
        """Our reply known on the network as ``external_id`` (an agent may answer it in turn)."""
        r = t.replies.c
        with self.db.read() as conn:
            row = conn.execute(
                select(t.replies).where(r.tenant_id == tenant_id, r.network == network, r.external_id == external_id)
            ).first()
        return reply_row(row) if row is not None else None

    def handoff_thread_for(
        self, tenant_id: int, account_id: int, network: str, customer_id: str, since: datetime
    ) -> str | None:
        """The public thread a handoff moved to private messages with this customer (the latest one
        sent since ``since``), or None."""
        with self.db.read() as conn:
            return handoff_thread_on(conn, tenant_id, account_id, network, customer_id, since)

    # -- sending -----------------------------------------------------------------------------
    def take(self, reply_id: int, owner: str, lease_seconds: float) -> bool:
        """pending -> sending under a lease, counting the attempt; committed before any network call.
        Only one caller wins."""
        now = utcnow()
        r = t.replies
        with self.db.begin() as conn:
            taken = conn.execute(
                update(r)
                .where(r.c.id == reply_id, r.c.status == ReplyStatus.PENDING, leases.free(r, now))
                .values(
                    status=ReplyStatus.SENDING,
                    attempts=r.c.attempts + 1,
                    lease_owner=owner,
                    lease_until=now + timedelta(seconds=lease_seconds),
                    updated_at=now,
                )
            ).rowcount
        return bool(taken)

    def renew_sending(self, owner: str, ids: Sequence[int], lease_seconds: float) -> set[int]:
        """Keep the replies ``ids`` in ``sending`` while their network call is in flight, so a slow
        post is not taken for a dead one (``expire_stuck``); returns those still ours."""
        r = t.replies
        return leases.renew(self.db, r, ids, owner, lease_seconds, where=r.c.status == ReplyStatus.SENDING)

    def finish(
        self, reply_id: int, status: ReplyStatus, owner: str | None = None, *, uncount: bool = False, **values: Any
    ) -> ReplyStatus:
        """Record the result of an attempt and free the lease; returns the status recorded.

        With ``owner`` (the attempt that took the reply), written only while that attempt still
        holds it in ``sending``. An attempt that outlived its lease finds the reply ``uncertain``
        (``expire_stuck``; the agent may already have been told) and records what really happened
        without ever making it due again: posted -> ``sent`` (and reported again), not posted ->
        ``failed`` with the reason, unknown -> left ``uncertain``. ``uncount``: the attempt
        ``take`` counted did not really happen (the network asked us to wait; nothing was posted).
        """
        unknown = set(values) - FINISH_FIELDS
        if unknown:
            raise TypeError(f"not a reply field: {', '.join(sorted(unknown))}")
        r = t.replies
        now = utcnow()
        with self.db.begin() as conn:
            if owner is None:
                conn.execute(
                    update(r)
                    .where(r.c.id == reply_id)
                    .values(status=status, updated_at=now, **leases.released(), **values)
                )
                return status
            ours = (r.c.id == reply_id) & (r.c.status == ReplyStatus.SENDING) & leases.held_by(r, owner)
            counted = {"attempts": r.c.attempts - 1} if uncount else {}
            if conn.execute(
                update(r).where(ours).values(status=status, updated_at=now, **leases.released(), **counted, **values)
            ).rowcount:
                return status
            if status == ReplyStatus.UNCERTAIN:
                return ReplyStatus(conn.execute(select(r.c.status).where(r.c.id == reply_id)).scalar_one())
            late = {k: v for k, v in values.items() if k != "next_attempt_at"}
            if status == ReplyStatus.SENT:
                late.update(status=ReplyStatus.SENT, reported_at=None)
            else:
                error = late.get("last_error") or status.value
                late.update(status=ReplyStatus.FAILED, last_error=f"not posted ({error}); {LATE_ERROR}")
            stuck = (r.c.id == reply_id) & (r.c.status == ReplyStatus.UNCERTAIN) & (r.c.last_error == STUCK_ERROR)
            if conn.execute(update(r).where(stuck).values(updated_at=now, **late)).rowcount:
                return ReplyStatus(late["status"])
            found = conn.execute(select(r.c.status).where(r.c.id == reply_id)).scalar()
            return ReplyStatus(found) if found is not None else status

    def expire_stuck(self) -> int:
        """Rows left in ``sending`` after their lease expired belong to a dead process: they may
        have been posted, so they become ``uncertain`` and are never re-posted automatically."""
        now = utcnow()
        r = t.replies
        with self.db.begin() as conn:
            return int(
                conn.execute(
                    update(r)
                    .where(r.c.status == ReplyStatus.SENDING, r.c.lease_until < now)
                    .values(status=ReplyStatus.UNCERTAIN, last_error=STUCK_ERROR, updated_at=now, **leases.released())
                ).rowcount
            )

    def due_ids(self, limit: int, *, except_source: str, paused_accounts: Collection[int] = ()) -> list[int]:
        """Pending replies whose next attempt is due, oldest first; none of ``paused_accounts`` (their
        credentials need an admin)."""
        r = t.replies.c
        query = (
            select(r.id)
            .where(r.status == ReplyStatus.PENDING, r.next_attempt_at <= utcnow(), r.source != except_source)
            .order_by(r.id)
            .limit(limit)
        )
        if paused_accounts:
            query = query.where(r.account_id.not_in(sorted(paused_accounts)))
        with self.db.read() as conn:
            return [int(row.id) for row in conn.execute(query)]

    def wake_account(self, account_id: int) -> None:
        """Pending replies of an account whose credentials were just replaced are due now."""
        r = t.replies.c
        with self.db.begin() as conn:
            conn.execute(
                update(t.replies)
                .where(r.account_id == account_id, r.status == ReplyStatus.PENDING)
                .values(next_attempt_at=utcnow())
            )

    # -- reporting back to the CRM -------------------------------------------------------------
    def unreported(self, tenant_id: int, source: str, limit: int) -> list[ReplyRow]:
        """Replies from ``source`` in a final state not yet written back to their CRM record."""
        r = t.replies.c
        with self.db.read() as conn:
            rows = conn.execute(
                select(t.replies)
                .where(
                    r.tenant_id == tenant_id,
                    r.source == source,
                    r.reported_at.is_(None),
                    r.status.in_(sorted(FINAL_REPLY_STATES)),
                    r.remote_id.is_not(None),
                )
                .order_by(r.id)
                .limit(limit)
            ).all()
        return [reply_row(row) for row in rows]

    def mark_reported(self, ids: Sequence[int]) -> None:
        with self.db.begin() as conn:
            conn.execute(update(t.replies).where(t.replies.c.id.in_(list(ids))).values(reported_at=utcnow()))

    def reopen(self, reply_id: int) -> None:
        """The CRM shows as pending a reply whose final state we already wrote back: an agent asked
        to try again (or our write-back was lost). It is reported again; a failed reply (never
        posted) is also posted again, a sent or uncertain one never is."""
        now = utcnow()
        r = t.replies.c
        with self.db.begin() as conn:
            row = conn.execute(select(r.status, r.reported_at).where(r.id == reply_id)).one()
            if row.reported_at is None:
                return  # not reported yet: the report step will do it
            values: dict[str, Any] = {"reported_at": None, "updated_at": now}
            if row.status == ReplyStatus.FAILED:
                values.update(status=ReplyStatus.PENDING, next_attempt_at=now, last_error=None)
            conn.execute(update(t.replies).where(r.id == reply_id).values(**values))


def _handoff_query() -> Select[Any]:
    r = t.replies.c
    return (
        select(r.handoff_thread)
        .where(
            r.tenant_id == bindparam("tenant_id"),
            r.network == bindparam("network"),
            r.recipient_id == bindparam("customer_id"),
            r.account_id == bindparam("account_id"),
            r.handoff_thread.is_not(None),
            r.status == ReplyStatus.SENT,
            r.updated_at >= bindparam("since", type_=r.updated_at.type),
        )
        .order_by(r.id.desc())
        .limit(1)
    )


# Every private message of a webhook asks it: compiled once per dialect and run on the driver
# (plugin/store/rawsql.py), since building and executing it through SQLAlchemy cost more than running it.
_HANDOFF_QUERY = Statements.fixed(_handoff_query())


def handoff_thread_on(
    conn: Connection, tenant_id: int, account_id: int, network: str, customer_id: str, since: datetime
) -> str | None:
    """``OutboxRepository.handoff_thread_for`` inside the caller's transaction."""
    params = {
        "tenant_id": tenant_id, "network": network, "customer_id": customer_id, "account_id": account_id,
        "since": since,
    }  # fmt: skip
    rows = _HANDOFF_QUERY.get(conn).execute(conn, params)
    return str(rows[0][0]) if rows else None
