"""The notices outbox: admin notices written once, delivered at least once (``plugin/notices.py`` sends).

A notice is committed before anything tries to send it, under a unique idempotency ``key`` (writing
the same notice twice keeps the first), then claimed under a lease by whichever worker is due to send
it. A process killed after the POST and before ``sent`` sends it again after the lease: the receiver
drops the repeat by its key. That is "at least once", never "lost".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from plugin.store import leases
from plugin.store.db import Database, as_utc, utcnow
from plugin.store.notice_tables import notices


class NoticeStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"


@dataclass(frozen=True)
class NoticeRow:
    id: int
    key: str
    tenant_id: int | None
    kind: str
    target: str
    url: str
    subject: str
    payload: dict[str, Any]
    status: NoticeStatus
    attempts: int
    last_error: str | None
    next_attempt_at: datetime
    created_at: datetime
    sent_at: datetime | None


def _row(r: Any) -> NoticeRow:
    next_at, created = as_utc(r.next_attempt_at), as_utc(r.created_at)
    assert next_at is not None and created is not None
    return NoticeRow(
        id=int(r.id), key=r.key, tenant_id=None if r.tenant_id is None else int(r.tenant_id), kind=r.kind,
        target=r.target, url=r.url, subject=r.subject, payload=dict(r.payload or {}),
        status=NoticeStatus(r.status), attempts=int(r.attempts), last_error=r.last_error,
        next_attempt_at=next_at, created_at=created, sent_at=as_utc(r.sent_at),
    )  # fmt: skip


class NoticeRepository:
    def __init__(self, db: Database):
        self.db = db

    def enqueue(self, key: str, *, tenant_id: int | None, kind: str, target: str, url: str, subject: str,
                payload: Mapping[str, Any]) -> bool:  # fmt: skip
        """Write the notice, due now; False when one with this key exists already (told or being told)."""
        now = utcnow()
        values = {"key": key, "tenant_id": tenant_id, "kind": kind, "target": target, "url": url,
                  "subject": subject, "payload": dict(payload), "status": NoticeStatus.PENDING, "attempts": 0,
                  "next_attempt_at": now, "created_at": now}  # fmt: skip
        c = notices.c
        try:
            with self.db.begin() as conn:
                if conn.execute(select(c.id).where(c.key == key)).first() is not None:
                    return False
                conn.execute(insert(notices).values(**values))
                return True
        except IntegrityError:
            return False  # written by another process at the same moment

    def claim_due(self, owner: str, limit: int, lease_seconds: float) -> list[NoticeRow]:
        c = notices.c
        where = (c.status == NoticeStatus.PENDING) & (c.next_attempt_at <= utcnow())
        ids = leases.claim(self.db, notices, where, owner, limit, lease_seconds, order_by=(c.next_attempt_at, c.id))
        if not ids:
            return []
        with self.db.read() as conn:
            return [_row(r) for r in conn.execute(select(notices).where(c.id.in_(ids)).order_by(c.id))]

    def sent(self, notice_id: int, owner: str) -> bool:
        """Recorded only while ``owner`` holds the lease (a slow sender never overwrites the next)."""
        return self._finish(notice_id, owner, status=NoticeStatus.SENT, sent_at=utcnow(), last_error=None,
                            attempts=notices.c.attempts + 1)  # fmt: skip

    def failed(self, notice_id: int, owner: str, error: str, next_attempt_at: datetime) -> bool:
        return self._finish(notice_id, owner, last_error=error[:2000], next_attempt_at=next_attempt_at,
                            attempts=notices.c.attempts + 1)  # fmt: skip

    def _finish(self, notice_id: int, owner: str, **values: Any) -> bool:
        c = notices.c
        with self.db.begin() as conn:
            done = conn.execute(
                update(notices)
                .where(c.id == notice_id, leases.held_by(notices, owner))
                .values(**values, **leases.released())
            ).rowcount
        return bool(done)

    def all(self, target: str | None = None) -> list[NoticeRow]:
        query = select(notices).order_by(notices.c.id)
        if target is not None:
            query = query.where(notices.c.target == target)
        with self.db.read() as conn:
            return [_row(r) for r in conn.execute(query)]

    def pending(self) -> int:
        with self.db.read() as conn:
            query = select(func.count()).select_from(notices).where(notices.c.status == NoticeStatus.PENDING)
            return int(conn.execute(query).scalar_one())

    def next_due(self) -> datetime | None:
        c = notices.c
        with self.db.read() as conn:
            found = conn.execute(
                select(c.next_attempt_at).where(c.status == NoticeStatus.PENDING).order_by(c.next_attempt_at).limit(1)
            ).scalar_one_or_none()
        return as_utc(found)
