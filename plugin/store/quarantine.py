"""Quarantined items: what a connector could not read, kept raw with the error (issue 12).

A page is never held up by one bad item: the item is stored here, the cursor moves past it and the
rest flows. An item re-read after a crash (same page polled again, webhook delivered again) has the
same fingerprint and is stored once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from plugin.connector import Quarantined
from plugin.store import tables as t
from plugin.store.db import Database, as_utc, utcnow
from plugin.store.rows import new_id
from plugin.store.statuses import QuarantineStatus

SOURCES = ("poll", "webhook")


@dataclass(frozen=True)
class QuarantineRow:
    id: int
    tenant_id: int
    account_id: int | None
    network: str
    source: str
    location: str
    error: str
    payload: Any
    status: QuarantineStatus
    attempts: int
    outcome: str | None
    created_at: datetime
    updated_at: datetime


def fingerprint(payload: Any) -> str:
    """The same item, however often it is re-read, has one fingerprint."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def _jsonable(payload: Any) -> Any:
    """What the JSON column can hold: the payload itself, or its text when it is not JSON (raw bytes)."""
    try:
        return json.loads(json.dumps(payload, default=str, ensure_ascii=False))
    except (TypeError, ValueError, RecursionError):
        return {"unreadable": repr(payload)[:100_000]}


def _row(r: Any) -> QuarantineRow:
    created, updated = as_utc(r.created_at), as_utc(r.updated_at)
    assert created is not None and updated is not None
    return QuarantineRow(
        id=int(r.id),
        tenant_id=int(r.tenant_id),
        account_id=None if r.account_id is None else int(r.account_id),
        network=r.network,
        source=r.source,
        location=r.location,
        error=r.error,
        payload=r.payload,
        status=QuarantineStatus(r.status),
        attempts=int(r.attempts),
        outcome=r.outcome,
        created_at=created,
        updated_at=updated,
    )


def quarantine_values(tenant_id: int, account_id: int, network: str, source: str, item: Quarantined) -> dict[str, Any]:
    """The row of a newly quarantined item."""
    payload = _jsonable(item.payload)
    now = utcnow()
    return {
        "tenant_id": tenant_id,
        "account_id": account_id,
        "network": network,
        "source": source,
        "location": item.where[:512],
        "error": item.error,
        "payload": payload,
        "fingerprint": fingerprint(payload),
        "status": QuarantineStatus.QUARANTINED,
        "attempts": 0,
        "created_at": now,
        "updated_at": now,
    }


class QuarantineRepository:
    def __init__(self, db: Database):
        self.db = db

    def add(
        self, tenant_id: int, account_id: int, network: str, source: str, items: Sequence[Quarantined]
    ) -> list[int]:
        """Store ``items`` (committed before the caller moves a cursor or answers 2xx); ids of new rows."""
        if source not in SOURCES:
            raise ValueError(f"quarantine source must be one of {SOURCES}, not {source!r}")
        q = t.quarantine.c
        new: list[int] = []
        for item in items:
            values = quarantine_values(tenant_id, account_id, network, source, item)
            try:
                with self.db.begin() as conn:
                    seen = conn.execute(
                        select(q.id).where(
                            q.tenant_id == tenant_id, q.network == network, q.fingerprint == values["fingerprint"]
                        )
                    ).first()
                    if seen is not None:
                        continue
                    new.append(new_id(conn.execute(insert(t.quarantine).values(**values))))
            except IntegrityError:
                continue  # another process stored the same item meanwhile (PostgreSQL)
        return new

    def get(self, item_id: int, tenant_id: int | None = None) -> QuarantineRow | None:
        query = select(t.quarantine).where(t.quarantine.c.id == item_id)
        if tenant_id is not None:
            query = query.where(t.quarantine.c.tenant_id == tenant_id)
        with self.db.read() as conn:
            found = conn.execute(query).first()
        return None if found is None else _row(found)

    def list(
        self,
        *,
        tenant_id: int | None = None,
        account_id: int | None = None,
        status: QuarantineStatus | None = QuarantineStatus.QUARANTINED,
        limit: int = 100,
    ) -> list[QuarantineRow]:
        """Newest first."""
        q = t.quarantine.c
        query = select(t.quarantine).order_by(q.id.desc()).limit(limit)
        if tenant_id is not None:
            query = query.where(q.tenant_id == tenant_id)
        if account_id is not None:
            query = query.where(q.account_id == account_id)
        if status is not None:
            query = query.where(q.status == status)
        with self.db.read() as conn:
            return [_row(r) for r in conn.execute(query)]

    def counts_by_network(self) -> dict[str, int]:
        """Items still quarantined, per network (the ``horseshoe_quarantined`` gauge)."""
        q = t.quarantine.c
        query = select(q.network, func.count()).where(q.status == QuarantineStatus.QUARANTINED).group_by(q.network)
        with self.db.read() as conn:
            return {row[0]: int(row[1]) for row in conn.execute(query)}

    def counts_by_account(self) -> dict[int, int]:
        q = t.quarantine.c
        query = (
            select(q.account_id, func.count())
            .where(q.status == QuarantineStatus.QUARANTINED, q.account_id.is_not(None))
            .group_by(q.account_id)
        )
        with self.db.read() as conn:
            return {int(row[0]): int(row[1]) for row in conn.execute(query)}

    def record_retry(self, item_id: int, *, released: bool, outcome: str, error: str | None = None) -> None:
        """After ``horseshoe quarantine retry``: released with what it became, or still failing and why."""
        q = t.quarantine.c
        values: dict[str, Any] = {"attempts": q.attempts + 1, "outcome": outcome[:2000], "updated_at": utcnow()}
        if released:
            values["status"] = QuarantineStatus.RELEASED
        if error is not None:
            values["error"] = error
        with self.db.begin() as conn:
            conn.execute(update(t.quarantine).where(q.id == item_id).values(**values))

    def discard(self, item_id: int, outcome: str) -> bool:
        """An admin gave up on a still-quarantined item; False when it is no longer quarantined."""
        q = t.quarantine.c
        values = {"status": QuarantineStatus.DISCARDED, "outcome": outcome[:2000], "updated_at": utcnow()}
        with self.db.begin() as conn:
            done = conn.execute(
                update(t.quarantine).where(q.id == item_id, q.status == QuarantineStatus.QUARANTINED).values(**values)
            ).rowcount
        return bool(done)
