"""Storage for identity resolution: links/suggestions per social profile, and the identity audit log.

``pipeline.route`` calls the resolve hook outside any transaction, so every function here opens its
own short transaction (SQLAlchemy Core, bound parameters only).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, insert, or_, select, update

from plugin.runtime import Runtime
from plugin.store import tables as t
from plugin.store.db import utcnow

# Fields of a link that hold personal data (removed when a person asks to be forgotten).
PERSONAL = ("evidence", "candidates", "profile", "fingerprint")


def sink_config(runtime: Runtime, tenant_id: int, sink: str) -> dict[str, Any] | None:
    return runtime.store.sink_connection(tenant_id, sink)


def links_for(
    runtime: Runtime, tenant_id: int, sink: str, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], dict[str, Any]]:
    """Stored links of these (network, author) profiles, in one query."""
    if not keys:
        return {}
    lk = t.identity_links.c
    wanted = or_(*(and_(lk.network == n, lk.author_external_id == a) for n, a in sorted(set(keys))))
    with runtime.db.begin() as conn:
        rows = conn.execute(select(t.identity_links).where(lk.tenant_id == tenant_id, lk.sink == sink, wanted))
        return {(r.network, r.author_external_id): dict(r._mapping) for r in rows}


def mention_payloads(runtime: Runtime, tenant_id: int, authors: Sequence[str]) -> list[dict[str, Any]]:
    """Stored mentions of these authors (any network; callers filter), oldest first."""
    if not authors:
        return []
    m = t.mentions.c
    with runtime.db.begin() as conn:
        rows = conn.execute(
            select(m.network, m.author_external_id, m.payload)
            .where(m.tenant_id == tenant_id, m.author_external_id.in_(sorted(set(authors))))
            .order_by(m.id)
        )
        return [dict(r._mapping) for r in rows]


def received_payloads(runtime: Runtime, tenant_id: int) -> list[dict[str, Any]]:
    """The mentions the router is working through for this tenant (the current batch)."""
    m = t.mentions.c
    with runtime.db.begin() as conn:
        rows = conn.execute(select(m.payload).where(m.tenant_id == tenant_id, m.status == "received").order_by(m.id))
        return [dict(r.payload) for r in rows]


# ----------------------------------------------------------------------------- writes
def upsert_link(runtime: Runtime, tenant_id: int, sink: str, network: str, author: str, **values: Any) -> int:
    now = utcnow()
    lk = t.identity_links.c
    with runtime.db.begin() as conn:
        row = conn.execute(
            select(lk.id).where(
                lk.tenant_id == tenant_id, lk.sink == sink, lk.network == network, lk.author_external_id == author
            )
        ).first()
        if row is not None:
            conn.execute(update(t.identity_links).where(lk.id == row.id).values(updated_at=now, **values))
            return int(row.id)
        result = conn.execute(
            insert(t.identity_links).values(
                tenant_id=tenant_id,
                sink=sink,
                network=network,
                author_external_id=author,
                created_at=now,
                updated_at=now,
                merged=values.pop("merged", False),
                **values,
            )
        )
        return int(result.inserted_primary_key[0])  # type: ignore[index]


def audit(
    runtime: Runtime,
    tenant_id: int,
    sink: str,
    action: str,
    actor: str,
    network: str,
    author: str,
    *,
    record_id: str | None,
    reason: str,
    evidence: list[str] | None = None,
    details: dict[str, Any] | None = None,
    reversible: bool = False,
) -> int:
    with runtime.db.begin() as conn:
        result = conn.execute(
            insert(t.identity_audit).values(
                tenant_id=tenant_id,
                sink=sink,
                action=action,
                actor=actor,
                network=network,
                author_external_id=author,
                record_id=record_id,
                reason=reason,
                evidence=evidence or [],
                details=details or {},
                reversible=reversible,
                created_at=utcnow(),
            )
        )
        return int(result.inserted_primary_key[0])  # type: ignore[index]


def mark_undone(runtime: Runtime, audit_id: int, by: int) -> None:
    with runtime.db.begin() as conn:
        conn.execute(update(t.identity_audit).where(t.identity_audit.c.id == audit_id).values(undone_by=by))


def link_row(runtime: Runtime, link_id: int) -> dict[str, Any] | None:
    with runtime.db.begin() as conn:
        row = conn.execute(select(t.identity_links).where(t.identity_links.c.id == link_id)).first()
    return dict(row._mapping) if row else None


def list_links(runtime: Runtime, tenant_id: int, status: str | None = None) -> list[dict[str, Any]]:
    query = select(t.identity_links).where(t.identity_links.c.tenant_id == tenant_id)
    if status:
        query = query.where(t.identity_links.c.status == status)
    with runtime.db.begin() as conn:
        return [dict(r._mapping) for r in conn.execute(query.order_by(t.identity_links.c.id))]


def list_audit(runtime: Runtime, tenant_id: int, limit: int = 200) -> list[dict[str, Any]]:
    with runtime.db.begin() as conn:
        rows = conn.execute(
            select(t.identity_audit)
            .where(t.identity_audit.c.tenant_id == tenant_id)
            .order_by(t.identity_audit.c.id.desc())
            .limit(limit)
        )
        return [dict(r._mapping) for r in rows]


def audit_row(runtime: Runtime, audit_id: int) -> dict[str, Any] | None:
    with runtime.db.begin() as conn:
        row = conn.execute(select(t.identity_audit).where(t.identity_audit.c.id == audit_id)).first()
    return dict(row._mapping) if row else None


def forget(runtime: Runtime, tenant_id: int, network: str, author: str) -> dict[str, int]:
    """Right to be forgotten: drop the person's profile data, evidence and links; keep audit ids/timestamps.

    Links become ``forgotten`` tombstones without personal data (so the person is never re-linked
    automatically); audit rows keep action, actor, record id and time, but lose reason/evidence/details
    (snapshots hold names, emails, identities).
    """
    lk, au = t.identity_links.c, t.identity_audit.c
    now = utcnow()
    with runtime.db.begin() as conn:
        links = conn.execute(
            update(t.identity_links)
            .where(lk.tenant_id == tenant_id, lk.network == network, lk.author_external_id == author)
            .values(
                status="forgotten",
                record_id=None,
                record_type=None,
                confidence=None,
                updated_at=now,
                **{name: None for name in PERSONAL},
            )
        ).rowcount
        audits = conn.execute(
            update(t.identity_audit)
            .where(au.tenant_id == tenant_id, au.network == network, au.author_external_id == author)
            .values(reason="(erased on request)", evidence=[], details={})
        ).rowcount
    return {"links": int(links or 0), "audit_entries_redacted": int(audits or 0)}


def forget_record(runtime: Runtime, tenant_id: int, sink: str, record_id: str) -> list[tuple[str, str]]:
    """Profiles linked to a CRM record (for ``destroy_user_identity``: the record is gone)."""
    lk = t.identity_links.c
    with runtime.db.begin() as conn:
        rows = conn.execute(
            select(lk.network, lk.author_external_id).where(
                lk.tenant_id == tenant_id, lk.sink == sink, lk.record_id == record_id
            )
        ).all()
    return [(str(r.network), str(r.author_external_id)) for r in rows]

