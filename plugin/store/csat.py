"""Satisfaction ratings on their way to the CRMs, and each tenant's service settings (business hours).

A rating is recorded on the conversation at once (plugin/store/service.py); writing it to the Zendesk
ticket or Salesforce case is a separate, durable step: a row per CRM, claimed under a short lease,
retried with back-off, and marked done (with what the CRM now shows) or failed (with the reason, shown
on the dashboard and in ``horseshoe doctor``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from plugin.store import service_tables as st
from plugin.store.db import Database, as_utc, utcnow

CLAIM_LEASE = timedelta(minutes=2)  # a writer killed mid-write is replaced after this


@dataclass(frozen=True)
class CsatWrite:
    id: int
    tenant_id: int
    fact_id: int
    sink: str
    ticket: str
    rating: int
    network: str
    status: str
    attempts: int
    last_error: str | None
    result: str | None
    updated_at: datetime


def _row(r: Any) -> CsatWrite:
    return CsatWrite(
        id=int(r["id"]), tenant_id=int(r["tenant_id"]), fact_id=int(r["fact_id"]), sink=str(r["sink"]),
        ticket=str(r["ticket"]), rating=int(r["rating"]), network=str(r["network"]), status=str(r["status"]),
        attempts=int(r["attempts"]), last_error=r["last_error"], result=r["result"],
        updated_at=as_utc(r["updated_at"]) or utcnow(),
    )  # fmt: skip


def business_hours_spec(conn: Connection, tenant_id: int) -> str:
    """The tenant's business hours ("" = around the clock), read inside the caller's transaction."""
    s = st.tenant_service_settings.c
    found = conn.execute(select(s.business_hours).where(s.tenant_id == tenant_id)).scalar()
    return str(found or "")


class CsatRepository:
    def __init__(self, db: Database):
        self.db = db

    # -- business hours --------------------------------------------------------------------------
    def business_hours(self, tenant_id: int) -> str:
        with self.db.read() as conn:
            return business_hours_spec(conn, tenant_id)

    def set_business_hours(self, tenant_id: int, spec: str, by: str) -> None:
        """Store the spec as given (the caller parsed it). Figures recorded before keep their clock."""
        table, now = st.tenant_service_settings, utcnow()
        values = {"business_hours": spec, "updated_by": by[:255], "updated_at": now}
        with self.db.begin() as conn:
            if not conn.execute(update(table).where(table.c.tenant_id == tenant_id).values(**values)).rowcount:
                conn.execute(insert(table).values(tenant_id=tenant_id, **values))

    # -- ratings to write ------------------------------------------------------------------------
    def enqueue(self, tenant_id: int, fact_id: int, network: str, rating: int, tickets: Mapping[str, str]) -> int:
        """One pending write per CRM holding the conversation; a repeat is ignored. Returns how many."""
        w, now = st.csat_writes, utcnow()
        added = 0
        with self.db.begin() as conn:
            for sink, ticket in sorted(tickets.items()):
                try:
                    with conn.begin_nested():
                        conn.execute(insert(w).values(
                            tenant_id=tenant_id, fact_id=fact_id, sink=sink, ticket=ticket, rating=rating,
                            network=network, status="pending", attempts=0, next_attempt_at=now,
                            created_at=now, updated_at=now,
                        ))  # fmt: skip
                    added += 1
                except IntegrityError:
                    continue  # queued already (the same answer read twice)
        return added

    def claim_due(self, limit: int = 20) -> list[CsatWrite]:
        """Due pending writes, each leased to the caller (another worker skips it meanwhile)."""
        w, now = st.csat_writes, utcnow()
        with self.db.begin() as conn:
            due = conn.execute(
                select(w).where(w.c.status == "pending", w.c.next_attempt_at <= now)
                .order_by(w.c.next_attempt_at).limit(limit)
            ).mappings().all()  # fmt: skip
            claimed = []
            for r in due:
                still_due = and_(w.c.id == r["id"], w.c.status == "pending", w.c.next_attempt_at <= now)
                taken = conn.execute(
                    update(w).where(still_due)
                    .values(next_attempt_at=now + CLAIM_LEASE, attempts=w.c.attempts + 1, updated_at=now)
                ).rowcount  # fmt: skip
                if taken:
                    claimed.append(_row({**r, "attempts": int(r["attempts"]) + 1}))
        return claimed

    def finish(self, write_id: int, result: str) -> None:
        self._set(write_id, status="done", result=result, last_error=None)

    def retry(self, write_id: int, error: str, at: datetime) -> None:
        self._set(write_id, status="pending", last_error=error, next_attempt_at=at)

    def fail(self, write_id: int, error: str) -> None:
        self._set(write_id, status="failed", last_error=error)

    def _set(self, write_id: int, **values: object) -> None:
        w = st.csat_writes
        with self.db.begin() as conn:
            conn.execute(update(w).where(w.c.id == write_id).values(updated_at=utcnow(), **values))

    def of_fact(self, fact_id: int) -> list[CsatWrite]:
        w = st.csat_writes
        with self.db.read() as conn:
            rows = conn.execute(select(w).where(w.c.fact_id == fact_id).order_by(w.c.sink)).mappings().all()
        return [_row(r) for r in rows]

    def failed(self, tenant_id: int | None = None, limit: int = 50) -> list[CsatWrite]:
        """Ratings that could not be written to a CRM, newest first (dashboard, doctor)."""
        w = st.csat_writes
        where = [w.c.status == "failed"] + ([w.c.tenant_id == tenant_id] if tenant_id is not None else [])
        with self.db.read() as conn:
            rows = conn.execute(select(w).where(and_(*where)).order_by(w.c.updated_at.desc()).limit(limit))
            return [_row(r) for r in rows.mappings().all()]

    def counts(self, tenant_id: int | None = None) -> dict[str, int]:
        w = st.csat_writes
        query = select(w.c.status, func.count()).group_by(w.c.status)
        if tenant_id is not None:
            query = query.where(w.c.tenant_id == tenant_id)
        with self.db.read() as conn:
            return {str(status): int(n) for status, n in conn.execute(query).all()}
