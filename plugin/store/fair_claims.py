"""Fair claims of due deliveries: tenants take turns (issue 11), so a brand with 10,000 mentions due
cannot starve a brand with 5.

One claim of ``limit`` deliveries is shared between the tenants that have work due: each gets up to
``ceil(limit / tenants)`` of its oldest, in one statement (a UNION ALL of one small ordered query per
tenant); what quiet tenants leave unused goes to the others, oldest first; then the usual conditional
UPDATE takes the leases. With more tenants than ``limit`` the
turn order is shuffled, so no tenant is always last. Finding the tenants with due work is one index
seek per tenant (``ix_deliveries_tenant_due``), not a scan of the backlog.
"""

from __future__ import annotations

import math
import random
from collections.abc import Collection
from datetime import timedelta

from sqlalchemy import ColumnElement, and_, exists, select, union_all, update

from plugin.store import leases
from plugin.store import tables as t
from plugin.store.db import Database, utcnow


def tenants_with_due(db: Database, due: ColumnElement[bool], exclude: Collection[int] = ()) -> list[int]:
    d = t.deliveries
    now = utcnow()
    found = exists().where(d.c.tenant_id == t.tenants.c.id, due, leases.free(d, now))
    query = select(t.tenants.c.id).where(found)
    if exclude:
        query = query.where(t.tenants.c.id.not_in(list(exclude)))
    with db.read() as conn:
        return [int(r[0]) for r in conn.execute(query)]


def claim_fair(
    db: Database,
    due: ColumnElement[bool],
    owner: str,
    limit: int,
    lease_seconds: float,
    exclude_tenants: Collection[int] = (),
    rng: random.Random | None = None,
) -> list[int]:
    """Claim up to ``limit`` due deliveries, shared between tenants; ``exclude_tenants`` are left
    alone (their CRM's rate budget is known to be empty for now)."""
    d = t.deliveries
    tenants = tenants_with_due(db, due, exclude_tenants)
    if not tenants:
        return []
    if len(tenants) == 1:
        only = and_(due, d.c.tenant_id == tenants[0])
        return leases.claim(db, d, only, owner, limit, lease_seconds, order_by=[d.c.mention_id])
    (rng or random).shuffle(tenants)
    tenants = tenants[:limit]
    share = math.ceil(limit / len(tenants))
    now = utcnow()
    free_due = and_(due, leases.free(d, now))
    parts = [
        select(d.c.id).where(free_due, d.c.tenant_id == tenant).order_by(d.c.mention_id).limit(share).subquery()
        for tenant in tenants
    ]
    candidates = union_all(*(select(part.c.id) for part in parts))
    with db.begin() as conn:
        ids = [int(r[0]) for r in conn.execute(candidates)]
        if not ids:
            return []
        if len(ids) < limit:
            # Quiet tenants left part of their share unused: the busiest take it, oldest first.
            more = select(d.c.id).where(free_due, d.c.id.not_in(ids)).order_by(d.c.mention_id).limit(limit - len(ids))
            ids += [int(r[0]) for r in conn.execute(more)]
        if not db.is_sqlite:
            # PostgreSQL: rows another worker is claiming right now are skipped, not waited for.
            locked = select(d.c.id).where(d.c.id.in_(ids)).with_for_update(skip_locked=True)
            ids = [int(r[0]) for r in conn.execute(locked)]
            if not ids:
                return []
        conn.execute(
            update(d)
            .where(d.c.id.in_(ids), due, leases.free(d, now))
            .values(lease_owner=owner, lease_until=now + timedelta(seconds=lease_seconds))
        )
        return [int(r[0]) for r in conn.execute(select(d.c.id).where(d.c.id.in_(ids), leases.held_by(d, owner)))]
