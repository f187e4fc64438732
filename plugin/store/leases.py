"""Leases: how several workers share one table of work without a queue.

A row is free when it has no lease or its lease expired. Claiming works the same on SQLite and
PostgreSQL: pick candidates (``SKIP LOCKED`` on PostgreSQL), then a conditional UPDATE that only
succeeds for rows nobody claimed in between, then read back which rows are ours.
A worker that dies simply lets its leases expire. A worker that is merely slow renews its leases
while the work is in progress (``renew``, driven by ``plugin.heartbeat``) and re-checks them right
before each side effect: a lease is held by exactly one claim, because claiming always writes a new
owner, so "still held by me" means nobody else has claimed the row since.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, or_, select, update

from plugin.store.db import Database, utcnow


def free(table: Table, now: datetime) -> ColumnElement[bool]:
    return or_(table.c.lease_until.is_(None), table.c.lease_until < now)


def held_by(table: Table, owner: str) -> ColumnElement[bool]:
    """Guard for a write that must only land while ``owner`` still holds the lease: a slower worker
    whose lease expired never overwrites the result of the one that took over."""
    return table.c.lease_owner == owner


def released() -> dict[str, Any]:
    return {"lease_owner": None, "lease_until": None}


def claim(
    db: Database,
    table: Table,
    where: ColumnElement[bool],
    owner: str,
    limit: int,
    lease_seconds: float,
    order_by: Sequence[Any] = (),
) -> list[int]:
    """Claim up to ``limit`` free rows matching ``where`` for ``owner``; returns the ids won."""
    now = utcnow()
    pk = table.primary_key.columns.values()[0]
    candidates = select(pk).where(and_(where, free(table, now))).order_by(*order_by).limit(limit)
    if not db.is_sqlite:
        # PostgreSQL: rows another worker is claiming right now are skipped, not waited for, so
        # concurrent workers claim disjoint batches instead of queueing on each other's row locks
        # (and losing the conditional UPDATE below). SQLite serialises writers with BEGIN IMMEDIATE.
        candidates = candidates.with_for_update(skip_locked=True)
    with db.begin() as conn:
        ids = [int(r[0]) for r in conn.execute(candidates)]
        if not ids:
            return []
        conn.execute(
            update(table)
            # ``where`` again: on PostgreSQL a row finished by its previous owner between the
            # candidate read and this UPDATE must not be claimed for work that is already done.
            .where(pk.in_(ids), where, free(table, now))
            .values(lease_owner=owner, lease_until=now + timedelta(seconds=lease_seconds))
        )
        return [int(r[0]) for r in conn.execute(select(pk).where(pk.in_(ids), held_by(table, owner)))]


def renew(
    db: Database,
    table: Table,
    ids: Sequence[int],
    owner: str,
    lease_seconds: float,
    where: ColumnElement[bool] | None = None,
) -> set[int]:
    """Extend ``owner``'s lease on ``ids`` (those matching ``where``, if given); returns the ids it
    still holds. A lease that ran out but that nobody claimed since is still ours and is renewed:
    claiming would have written another owner."""
    if not ids:
        return set()
    now = utcnow()
    pk = table.primary_key.columns.values()[0]
    mine = and_(pk.in_(list(ids)), held_by(table, owner), *([where] if where is not None else []))
    with db.begin() as conn:
        # Row locks in id order (PostgreSQL; SQLite has one writer anyway): the worker's own finishing
        # transaction writes the same rows in id order too, so it and this heartbeat never deadlock.
        held = [int(r[0]) for r in conn.execute(select(pk).where(mine).order_by(pk).with_for_update())]
        if held:
            conn.execute(update(table).where(pk.in_(held)).values(lease_until=now + timedelta(seconds=lease_seconds)))
        return set(held)
