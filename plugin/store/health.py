"""Health that tells the truth, per account: the store's side (issues 12 and 15).

``HealthRepository.accounts()`` is the one typed read of everything an admin needs about each brand
account: last successful poll and webhook, last error, stuck cursor, oldest undelivered mention,
quarantined items, token expiry and "needs attention". ``doctor``, ``/healthz``, ``/metrics``, the
Zendesk admin page and the standalone console all read it.

"Needs attention" rows name a target (an account, or one tenant's CRM connection) whose credentials
were refused: its work waits for an admin instead of being retried blindly, and the admin contact is
told once: the notice goes through the notices outbox (``store/notices.py``, one per flag by its
idempotency key) and ``mark_notified`` records that it arrived. A row with ``pauses`` false is a
warning: a token that expires soon and that horseshoe cannot renew (``plugin/expiry.py``); the admin
is told ahead, the work goes on until the network really refuses the token, which turns the warning
into a pausing flag (and a new notice).

``sinks()`` is the same read for each tenant's CRM connections: last successful delivery, last
error in plain words, session/token expiry where the CRM says, and "needs attention".
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from plugin.store import tables as t
from plugin.store.db import Database, as_utc, utcnow
from plugin.store.statuses import DeliveryStatus, MentionStatus, QuarantineStatus


def account_target(account_id: int) -> str:
    return f"account:{account_id}"


def sink_target(sink: str, tenant_id: int) -> str:
    return f"sink:{sink}:{tenant_id}"


def expiry_words(expires_at: datetime | None, now: datetime | None = None) -> str | None:
    """A token's expiry in words ("expires in 3 days", "expired"); None when it never expires."""
    if expires_at is None:
        return None
    left = (expires_at - (now or utcnow())).total_seconds()
    if left <= 0:
        return "expired"
    for unit, seconds in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if left >= seconds:
            count = int(left // seconds)
            return f"expires in {count} {unit}{'s' if count > 1 else ''}"
    return "expires in less than a minute"


@dataclass(frozen=True)
class Attention:
    """A target whose credentials were refused, since when and why; ``notified_at``: admin told."""

    target: str
    tenant_id: int
    account_id: int | None
    sink: str | None
    reason: str
    since: datetime
    notified_at: datetime | None
    pauses: bool = True  # False: a warning (a token expiring soon); the work goes on


@dataclass(frozen=True)
class SinkHealth:
    """One tenant's connection to one CRM, as an admin needs to see it (all times UTC)."""

    tenant_id: int
    tenant_key: str
    sink: str
    enabled: bool
    disabled_reason: str | None
    last_ok_at: datetime | None  # the last batch the CRM accepted
    last_error: str | None  # in plain words
    last_error_at: datetime | None
    token_expires_at: datetime | None  # the session or token, where the CRM says; renewed automatically
    needs_attention: str | None
    attention_since: datetime | None
    attention_pauses: bool

    @property
    def ok(self) -> bool:
        return self.enabled and not self.needs_attention

    def token_expiry(self, now: datetime | None = None) -> str | None:
        return expiry_words(self.token_expires_at, now)


@dataclass(frozen=True)
class AccountHealth:
    """Everything an admin needs to know about one brand account (all times UTC)."""

    account_id: int
    tenant_id: int
    tenant_key: str
    network: str
    external_id: str
    handle: str | None
    enabled: bool
    last_poll_ok_at: datetime | None
    last_webhook_ok_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    poll_failures: int  # consecutive failed polls: the cursor has not moved for that many intervals
    stuck: bool  # poll_failures reached the configured threshold
    oldest_undelivered_at: datetime | None  # received, not yet in every CRM
    undelivered: int
    quarantined: int
    token_expires_at: datetime | None
    needs_attention: str | None  # the reason, in plain words; None = fine
    attention_since: datetime | None
    attention_pauses: bool = True  # False: a warning ahead of a token's expiry; the work goes on

    @property
    def ok(self) -> bool:
        return not (self.stuck or self.needs_attention or self.quarantined)

    def token_expiry(self, now: datetime | None = None) -> str | None:
        """The token's expiry in words ("expires in 3 days", "expired"); None when it never expires."""
        return expiry_words(self.token_expires_at, now)


def _attention(row: Any) -> Attention:
    since = as_utc(row.since)
    assert since is not None
    return Attention(
        target=row.target,
        tenant_id=int(row.tenant_id),
        account_id=None if row.account_id is None else int(row.account_id),
        sink=row.sink,
        reason=row.reason,
        since=since,
        notified_at=as_utc(row.notified_at),
        pauses=bool(row.pauses),
    )


WEBHOOK_MARK_SECONDS = 30.0


class HealthRepository:
    def __init__(self, db: Database):
        self.db = db
        self._lock = threading.Lock()
        self._webhook_marks: dict[int, float] = {}
        self._sink_marks: dict[tuple[int, str], float] = {}

    # -- what happened to an account -----------------------------------------------------------
    def _upsert(self, account_id: int, **values: Any) -> None:
        h = t.account_health.c
        with self.db.begin() as conn:
            if conn.execute(update(t.account_health).where(h.account_id == account_id).values(**values)).rowcount:
                return
        try:
            with self.db.begin() as conn:
                conn.execute(insert(t.account_health).values(account_id=account_id, **values))
        except IntegrityError:  # another process created the row meanwhile (PostgreSQL)
            with self.db.begin() as conn:
                conn.execute(update(t.account_health).where(h.account_id == account_id).values(**values))

    def poll_succeeded(self, account_id: int, token_expires_at: datetime | None = None) -> None:
        self._upsert(account_id, last_poll_ok_at=utcnow(), token_expires_at=token_expires_at)

    def token_renewed(self, account_id: int, expires_at: datetime | None) -> None:
        self._upsert(account_id, token_expires_at=expires_at)

    def token_expiry(self, account_id: int, expires_at: datetime | None) -> None:
        """What the connector says of the account's token now (``plugin/expiry.py``), written only
        when it changed."""
        h = t.account_health.c
        with self.db.read() as conn:
            row = conn.execute(select(h.token_expires_at).where(h.account_id == account_id)).first()
        if row is not None and as_utc(row.token_expires_at) == expires_at:
            return
        self._upsert(account_id, token_expires_at=expires_at)

    def webhook_succeeded(self, account_id: int) -> None:
        """Recorded at most every ``WEBHOOK_MARK_SECONDS`` per account and process: a busy webhook must
        not pay a write per request for a time shown to the minute."""
        if self.webhook_mark_due(account_id):
            self._upsert(account_id, last_webhook_ok_at=utcnow())

    def webhook_mark_due(self, account_id: int) -> bool:
        """Whether this process records ``last_webhook_ok_at`` for the account now (and counts it as
        recorded): the webhook path writes it inside its own transaction (``IntakeTransaction``)."""
        now = time.monotonic()
        with self._lock:
            if now - self._webhook_marks.get(account_id, -WEBHOOK_MARK_SECONDS) < WEBHOOK_MARK_SECONDS:
                return False
            self._webhook_marks[account_id] = now
        return True

    def failed(self, account_id: int, error: str) -> None:
        self._upsert(account_id, last_error=error[:2000], last_error_at=utcnow())

    # -- needs attention -------------------------------------------------------------------------
    def flag(self, target: str, tenant_id: int, reason: str, *, account_id: int | None = None,
             sink: str | None = None, pauses: bool = True) -> bool:  # fmt: skip
        """Mark ``target`` as needing an admin; True when this is a new flag (the admin is to be told).

        ``pauses`` false is a warning (its work goes on). A pausing flag on a target that only had a
        warning replaces it as a new flag: since now, not yet told, so the admin hears that the work
        stopped. A warning never softens a pausing flag."""
        na = t.needs_attention.c
        try:
            with self.db.begin() as conn:
                found = conn.execute(select(na.target, na.pauses).where(na.target == target)).first()
                if found is not None:
                    if pauses and not found.pauses:
                        # Conditional: of two processes escalating at once, one wins (and tells the admin).
                        escalate = {"reason": reason[:2000], "pauses": True, "since": utcnow(), "notified_at": None}
                        warned = update(t.needs_attention).where(na.target == target, na.pauses.is_(False))
                        return bool(conn.execute(warned.values(**escalate)).rowcount)
                    if pauses or not found.pauses:
                        conn.execute(update(t.needs_attention).where(na.target == target).values(reason=reason[:2000]))
                    return False
                conn.execute(
                    insert(t.needs_attention).values(
                        target=target,
                        tenant_id=tenant_id,
                        account_id=account_id,
                        sink=sink,
                        reason=reason[:2000],
                        since=utcnow(),
                        notified_at=None,
                        pauses=pauses,
                    )
                )
                return True
        except IntegrityError:
            return False  # flagged by another process at the same moment

    def claim_notification(self, target: str) -> bool:
        """True for exactly one caller per flag: the one that tells the admin."""
        na = t.needs_attention.c
        with self.db.begin() as conn:
            claimed = conn.execute(
                update(t.needs_attention)
                .where(na.target == target, na.notified_at.is_(None))
                .values(notified_at=utcnow())
            ).rowcount
        return bool(claimed)

    def mark_notified(self, target: str) -> None:
        """The admin contact received the flag's notice (the notices outbox delivered it)."""
        na = t.needs_attention.c
        with self.db.begin() as conn:
            told = update(t.needs_attention).where(na.target == target, na.notified_at.is_(None))
            conn.execute(told.values(notified_at=utcnow()))

    def release_notification(self, target: str) -> None:
        """The notice could not be sent: let the next failure try again."""
        na = t.needs_attention.c
        with self.db.begin() as conn:
            conn.execute(update(t.needs_attention).where(na.target == target).values(notified_at=None))

    def clear(self, target: str) -> bool:
        """Credentials were updated or reconnected: the target's work resumes. True if it was flagged."""
        with self.db.begin() as conn:
            return bool(conn.execute(delete(t.needs_attention).where(t.needs_attention.c.target == target)).rowcount)

    def attention(self, tenant_id: int | None = None) -> list[Attention]:
        query = select(t.needs_attention).order_by(t.needs_attention.c.since)
        if tenant_id is not None:
            query = query.where(t.needs_attention.c.tenant_id == tenant_id)
        with self.db.read() as conn:
            return [_attention(r) for r in conn.execute(query)]

    def attention_of(self, target: str) -> Attention | None:
        with self.db.read() as conn:
            row = conn.execute(select(t.needs_attention).where(t.needs_attention.c.target == target)).first()
        return None if row is None else _attention(row)

    def paused(self, target: str) -> Attention | None:
        """The target's flag when it pauses its work (refused credentials); None for a warning or none."""
        found = self.attention_of(target)
        return found if found is not None and found.pauses else None

    def paused_accounts(self) -> set[int]:
        """Accounts whose work (polls, replies) waits for an admin."""
        na = t.needs_attention.c
        with self.db.read() as conn:
            rows = conn.execute(select(na.account_id).where(na.account_id.is_not(None), na.pauses.is_(True)))
            return {int(r.account_id) for r in rows}

    # -- CRM connections ------------------------------------------------------------------------
    def _upsert_sink(self, tenant_id: int, sink: str, **values: Any) -> None:
        c = t.sink_health.c
        where = (c.tenant_id == tenant_id, c.sink == sink)
        with self.db.begin() as conn:
            if conn.execute(update(t.sink_health).where(*where).values(**values)).rowcount:
                return
        try:
            with self.db.begin() as conn:
                conn.execute(insert(t.sink_health).values(tenant_id=tenant_id, sink=sink, **values))
        except IntegrityError:  # another process created the row meanwhile (PostgreSQL)
            with self.db.begin() as conn:
                conn.execute(update(t.sink_health).where(*where).values(**values))

    def sink_succeeded(self, tenant_id: int, sink: str, token_expires_at: datetime | None = None) -> None:
        """The CRM accepted a batch. Written at most every ``WEBHOOK_MARK_SECONDS`` per connection and
        process (a busy CRM must not pay a write per batch for a time shown to the minute), and at
        once after a failure."""
        now = time.monotonic()
        with self._lock:
            if now - self._sink_marks.get((tenant_id, sink), -WEBHOOK_MARK_SECONDS) < WEBHOOK_MARK_SECONDS:
                return
            self._sink_marks[(tenant_id, sink)] = now
        self._upsert_sink(tenant_id, sink, last_ok_at=utcnow(), token_expires_at=token_expires_at)

    def sink_failed(self, tenant_id: int, sink: str, error: str) -> None:
        with self._lock:
            self._sink_marks.pop((tenant_id, sink), None)  # the next success is written at once
        self._upsert_sink(tenant_id, sink, last_error=error[:2000], last_error_at=utcnow())

    def sinks(self, tenant_id: int | None = None) -> list[SinkHealth]:
        """Health of every CRM connection (of ``tenant_id``), by tenant and CRM."""
        sc, sh, na = t.sink_connections.c, t.sink_health.c, t.needs_attention.c
        query = (
            select(
                sc.tenant_id, t.tenants.c.key, sc.sink, sc.enabled, sc.last_error.label("disabled_reason"),
                sh.last_ok_at, sh.last_error, sh.last_error_at, sh.token_expires_at,
                na.reason.label("attention"), na.since.label("attention_since"), na.pauses,
            )
            .join(t.tenants, t.tenants.c.id == sc.tenant_id)
            .outerjoin(t.sink_health, (sh.tenant_id == sc.tenant_id) & (sh.sink == sc.sink))
            .outerjoin(t.needs_attention, (na.tenant_id == sc.tenant_id) & (na.sink == sc.sink))
            .order_by(sc.tenant_id, sc.sink)
        )  # fmt: skip
        if tenant_id is not None:
            query = query.where(sc.tenant_id == tenant_id)
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        return [
            SinkHealth(
                tenant_id=int(r.tenant_id),
                tenant_key=r.key,
                sink=r.sink,
                enabled=bool(r.enabled),
                disabled_reason=None if r.enabled else r.disabled_reason,
                last_ok_at=as_utc(r.last_ok_at),
                last_error=r.last_error,
                last_error_at=as_utc(r.last_error_at),
                token_expires_at=as_utc(r.token_expires_at),
                needs_attention=r.attention,
                attention_since=as_utc(r.attention_since),
                attention_pauses=r.pauses is None or bool(r.pauses),
            )
            for r in rows
        ]

    # -- the one read ---------------------------------------------------------------------------
    def accounts(self, tenant_id: int | None = None, *, stuck_after: int = 3) -> list[AccountHealth]:
        """Health of every account (of ``tenant_id``), ordered by id. ``stuck_after``: consecutive
        failed polls (the cursor unmoved while errors repeat) after which an account counts as stuck."""
        a, pc, h, m, d = t.accounts.c, t.poll_cursors.c, t.account_health.c, t.mentions.c, t.deliveries.c
        q, na = t.quarantine.c, t.needs_attention.c
        base = (
            select(
                a.id,
                a.tenant_id,
                t.tenants.c.key,
                a.network,
                a.external_id,
                a.handle,
                a.enabled,
                pc.failures,
                pc.last_error.label("poll_error"),
                pc.updated_at.label("poll_updated"),
                h.last_poll_ok_at,
                h.last_webhook_ok_at,
                h.last_error,
                h.last_error_at,
                h.token_expires_at,
                na.reason.label("attention"),
                na.since.label("attention_since"),
                na.pauses,
            )
            .join(t.tenants, t.tenants.c.id == a.tenant_id)
            .outerjoin(t.poll_cursors, pc.account_id == a.id)
            .outerjoin(t.account_health, h.account_id == a.id)
            .outerjoin(t.needs_attention, na.account_id == a.id)
            .order_by(a.id)
        )
        if tenant_id is not None:
            base = base.where(a.tenant_id == tenant_id)
        waiting = (
            select(m.account_id, func.min(m.received_at), func.count(func.distinct(m.id)))
            .select_from(t.mentions.outerjoin(t.deliveries, d.mention_id == m.id))
            .where(or_(m.status == MentionStatus.RECEIVED, d.status == DeliveryStatus.PENDING))
            .group_by(m.account_id)
        )
        held = select(q.account_id, func.count()).where(q.status == QuarantineStatus.QUARANTINED).group_by(q.account_id)
        with self.db.read() as conn:
            rows = conn.execute(base).all()
            backlog = {r[0]: (as_utc(r[1]), int(r[2])) for r in conn.execute(waiting) if r[0] is not None}
            quarantined = {r[0]: int(r[1]) for r in conn.execute(held) if r[0] is not None}
        out: list[AccountHealth] = []
        for r in rows:
            failures = int(r.failures or 0)
            oldest, undelivered = backlog.get(r.id, (None, 0))
            # The plain-words error the worker recorded; the poll cursor's raw one for rows written before.
            plain = r.last_error is not None
            out.append(
                AccountHealth(
                    account_id=int(r.id),
                    tenant_id=int(r.tenant_id),
                    tenant_key=r.key,
                    network=r.network,
                    external_id=r.external_id,
                    handle=r.handle,
                    enabled=bool(r.enabled),
                    last_poll_ok_at=as_utc(r.last_poll_ok_at),
                    last_webhook_ok_at=as_utc(r.last_webhook_ok_at),
                    last_error=r.last_error if plain else r.poll_error,
                    last_error_at=as_utc(r.last_error_at)
                    if plain
                    else as_utc(r.poll_updated)
                    if r.poll_error
                    else None,
                    poll_failures=failures,
                    stuck=failures >= stuck_after,
                    oldest_undelivered_at=oldest,
                    undelivered=undelivered,
                    quarantined=quarantined.get(r.id, 0),
                    token_expires_at=as_utc(r.token_expires_at),
                    needs_attention=r.attention,
                    attention_since=as_utc(r.attention_since),
                    attention_pauses=r.pauses is None or bool(r.pauses),
                )
            )
        return out
