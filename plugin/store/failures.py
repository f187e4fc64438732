"""Failed deliveries and uncertain replies, and what an admin does about them (issue 15, point 3).

Every action is one transaction that changes the row only from the state the admin saw (a failed
delivery, an uncertain reply) and writes the audit event (who, why) beside it: two admins acting at
once cannot both win, and no action goes unrecorded. ``tenant_ids`` scopes every query: ``None`` is
an operator (all tenants); a row of another tenant is "not found", never "forbidden" (no existence leak).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from plugin.store import tables as t
from plugin.store.db import Database, as_utc, utcnow
from plugin.store.statuses import DeliveryStatus, ReplyStatus

TEXT_PREVIEW = 280
AUDIT_KINDS = (
    "failure:delivery_retried", "failure:delivery_discarded",
    "failure:reply_retried", "failure:reply_marked_sent", "failure:reply_discarded",
)  # fmt: skip


class NotFound(LookupError):
    """No such row in the caller's tenants."""


class WrongState(ValueError):
    """The row is no longer in the state the action applies to (someone acted already)."""


@dataclass(frozen=True)
class FailedDelivery:
    id: int
    tenant_id: int
    tenant: str
    sink: str
    network: str
    external_id: str
    author: str
    text: str
    attempts: int
    reason: str
    updated_at: datetime | None


@dataclass(frozen=True)
class UncertainReply:
    id: int
    tenant_id: int
    tenant: str
    source: str
    network: str
    account: str
    in_reply_to: str
    text: str
    attempts: int
    reason: str
    updated_at: datetime | None


@dataclass(frozen=True)
class AuditedAction:
    tenant: str
    kind: str
    actor: str
    why: str
    target: str
    created_at: datetime | None


def _preview(text: Any) -> str:
    value = str(text or "")
    return value if len(value) <= TEXT_PREVIEW else value[: TEXT_PREVIEW - 1] + "…"


def _noun(table: Any) -> str:
    return "delivery" if table is t.deliveries else "reply"


def _scoped(column: Any, tenant_ids: Sequence[int] | None) -> Any:
    return column.in_(list(tenant_ids)) if tenant_ids is not None else column.is_not(None)


class FailureRepository:
    def __init__(self, db: Database):
        self.db = db

    # -- lists -----------------------------------------------------------------------------
    def failed_deliveries(self, tenant_ids: Sequence[int] | None, limit: int = 200) -> list[FailedDelivery]:
        d, m, tn = t.deliveries.c, t.mentions.c, t.tenants.c
        with self.db.read() as conn:
            rows = conn.execute(
                select(
                    d.id,
                    d.tenant_id,
                    tn.key,
                    d.sink,
                    m.network,
                    m.external_id,
                    m.payload,
                    d.attempts,
                    d.last_error,
                    d.updated_at,
                )
                .join(t.mentions, m.id == d.mention_id)
                .join(t.tenants, tn.id == d.tenant_id)
                .where(d.status == DeliveryStatus.FAILED, _scoped(d.tenant_id, tenant_ids))
                .order_by(d.updated_at.desc(), d.id.desc())
                .limit(limit)
            ).all()
        found = []
        for r in rows:
            payload = dict(r.payload or {})
            author = payload.get("author") or {}
            found.append(
                FailedDelivery(
                    id=int(r.id),
                    tenant_id=int(r.tenant_id),
                    tenant=r.key,
                    sink=r.sink,
                    network=r.network,
                    external_id=r.external_id,
                    author=str(author.get("handle") or author.get("external_id") or ""),
                    text=_preview(payload.get("text")),
                    attempts=int(r.attempts),
                    reason=r.last_error or "failed (no reason recorded)",
                    updated_at=as_utc(r.updated_at),
                )
            )
        return found

    def uncertain_replies(self, tenant_ids: Sequence[int] | None, limit: int = 200) -> list[UncertainReply]:
        r, a, tn = t.replies.c, t.accounts.c, t.tenants.c
        with self.db.read() as conn:
            rows = conn.execute(
                select(t.replies, tn.key, a.handle)
                .join(t.tenants, tn.id == r.tenant_id)
                .outerjoin(t.accounts, a.id == r.account_id)
                .where(r.status == ReplyStatus.UNCERTAIN, _scoped(r.tenant_id, tenant_ids))
                .order_by(r.updated_at.desc(), r.id.desc())
                .limit(limit)
            ).all()
        found = []
        for row in rows:
            payload = dict(row.payload or {})
            found.append(
                UncertainReply(
                    id=int(row.id),
                    tenant_id=int(row.tenant_id),
                    tenant=row.key,
                    source=row.source,
                    network=row.network,
                    account=str(row.handle or payload.get("account") or ""),
                    in_reply_to=str(payload.get("in_reply_to") or ""),
                    text=_preview(payload.get("text")),
                    attempts=int(row.attempts),
                    reason=row.last_error or "outcome unknown",
                    updated_at=as_utc(row.updated_at),
                )
            )
        return found

    def recent_actions(self, tenant_ids: Sequence[int] | None, limit: int = 20) -> list[AuditedAction]:
        e, tn = t.events.c, t.tenants.c
        with self.db.read() as conn:
            rows = conn.execute(
                select(e.kind, e.data, e.created_at, tn.key)
                .join(t.tenants, tn.id == e.tenant_id)
                .where(e.kind.in_(AUDIT_KINDS), _scoped(e.tenant_id, tenant_ids))
                .order_by(e.id.desc())
                .limit(limit)
            ).all()
        return [
            AuditedAction(
                tenant=row.key,
                kind=row.kind.split(":", 1)[1],
                actor=str(row.data.get("actor", "")),
                why=str(row.data.get("why", "")),
                target=str(row.data.get("target", "")),
                created_at=as_utc(row.created_at),
            )
            for row in rows
        ]

    # -- actions ---------------------------------------------------------------------------
    def retry_delivery(self, delivery_id: int, tenant_ids: Sequence[int] | None, actor: str, why: str) -> None:
        """failed -> pending, due now, with a fresh attempt count (the worker takes it on its next pass)."""
        values = {"status": DeliveryStatus.PENDING, "attempts": 0, "next_attempt_at": utcnow(), "last_error": None}
        self._act(t.deliveries, delivery_id, DeliveryStatus.FAILED, tenant_ids, values,
                  "failure:delivery_retried", actor, why)  # fmt: skip

    def discard_delivery(self, delivery_id: int, tenant_ids: Sequence[int] | None, actor: str, why: str) -> None:
        """failed -> discarded: it leaves the list and is never retried; the reason stays on the row."""
        values = {"status": DeliveryStatus.DISCARDED, "last_error": f"discarded by {actor}: {why}"}
        self._act(t.deliveries, delivery_id, DeliveryStatus.FAILED, tenant_ids, values,
                  "failure:delivery_discarded", actor, why)  # fmt: skip

    def retry_reply(self, reply_id: int, tenant_ids: Sequence[int] | None, actor: str, why: str) -> None:
        """uncertain -> pending: the admin checked the network and the reply is not there."""
        values = {"status": ReplyStatus.PENDING, "next_attempt_at": utcnow(), "last_error": None, "reported_at": None}
        self._act(t.replies, reply_id, ReplyStatus.UNCERTAIN, tenant_ids, values,
                  "failure:reply_retried", actor, why)  # fmt: skip

    def mark_reply_sent(
        self, reply_id: int, tenant_ids: Sequence[int] | None, actor: str, why: str, url: str | None = None
    ) -> None:
        """uncertain -> sent: the admin found it on the network; the CRM is told it was sent."""
        values: dict[str, Any] = {"status": ReplyStatus.SENT, "last_error": None, "reported_at": None}
        if url:
            values["url"] = url
        self._act(t.replies, reply_id, ReplyStatus.UNCERTAIN, tenant_ids, values,
                  "failure:reply_marked_sent", actor, why)  # fmt: skip

    def discard_reply(self, reply_id: int, tenant_ids: Sequence[int] | None, actor: str, why: str) -> None:
        """uncertain -> failed, never posted again; the CRM is told why (the agent may answer anew)."""
        values = {"status": ReplyStatus.FAILED, "last_error": f"discarded by {actor}: {why}", "reported_at": None}
        self._act(t.replies, reply_id, ReplyStatus.UNCERTAIN, tenant_ids, values,
                  "failure:reply_discarded", actor, why)  # fmt: skip

    def _act(
        self,
        table: Any,
        row_id: int,
        expected: str,
        tenant_ids: Sequence[int] | None,
        values: dict[str, Any],
        kind: str,
        actor: str,
        why: str,
    ) -> None:
        now = utcnow()
        with self.db.begin() as conn:
            tenant_id = self._tenant_of(conn, table, row_id, tenant_ids)
            changed = conn.execute(
                update(table).where(table.c.id == row_id, table.c.status == expected).values(updated_at=now, **values)
            ).rowcount
            target = f"{_noun(table)} {row_id}"
            if not changed:
                raise WrongState(f"{target} is not {expected} any more (someone acted on it); reload to see its state")
            conn.execute(
                insert(t.events).values(
                    tenant_id=tenant_id, kind=kind, data={"actor": actor, "why": why, "target": target}, created_at=now
                )
            )

    def _tenant_of(self, conn: Connection, table: Any, row_id: int, tenant_ids: Sequence[int] | None) -> int:
        row = conn.execute(
            select(table.c.tenant_id).where(table.c.id == row_id, _scoped(table.c.tenant_id, tenant_ids))
        ).first()
        if row is None:
            raise NotFound(f"no {_noun(table)} {row_id} here")
        return int(row.tenant_id)
