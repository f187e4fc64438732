"""The event log: callbacks and notable happenings, kept for admins and audits."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select

from plugin.store import tables as t
from plugin.store.db import Database, utcnow


class EventRepository:
    def __init__(self, db: Database):
        self.db = db

    def record(self, tenant_id: int | None, kind: str, data: dict[str, Any]) -> None:
        with self.db.begin() as conn:
            conn.execute(insert(t.events).values(tenant_id=tenant_id, kind=kind, data=data, created_at=utcnow()))

    def record_many(self, rows: list[tuple[int | None, str, dict[str, Any]]]) -> None:
        """Several events in one transaction (one unauthenticated request costs one commit)."""
        if not rows:
            return
        with self.db.begin() as conn:
            conn.execute(
                insert(t.events),
                [{"tenant_id": tid, "kind": kind, "data": data, "created_at": utcnow()} for tid, kind, data in rows],
            )

    def count(self, tenant_id: int | None, kind: str) -> int:
        """How many events of ``kind`` the tenant has (audits; tests of the callback bounds)."""
        e = t.events.c
        with self.db.read() as conn:
            query = select(func.count()).select_from(t.events).where(e.tenant_id == tenant_id, e.kind == kind)
            return int(conn.execute(query).scalar() or 0)
