"""Tenants (a Zendesk subdomain or Salesforce org) and their connections to each CRM sink."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from plugin.secrets import SecretBox
from plugin.store import tables as t
from plugin.store.db import Database, as_utc, utcnow
from plugin.store.deliveries import backfill_deliveries
from plugin.store.rows import new_id


@dataclass(frozen=True)
class TenantRow:
    id: int
    key: str
    name: str


@dataclass(frozen=True)
class ConnectionRow:
    """One tenant's connection to one sink. The config stays encrypted until ``config_of`` is asked:
    most callers skip most connections."""

    tenant_id: int
    tenant_key: str
    sink: str
    enabled: bool
    last_error: str | None
    reply_watermark: str | None
    next_reply_poll_at: datetime | None
    config_enc: str = field(repr=False)


class TenantRepository:
    def __init__(self, db: Database, box: SecretBox):
        self.db = db
        self.box = box
        # A tenant's id and key never change and tenants are never deleted, so both directions are
        # remembered once found: observers look the tenant up once per delivered mention.
        self._ids: dict[str, int] = {}
        self._keys: dict[int, str] = {}

    def ensure(self, key: str, name: str = "") -> int:
        with self.db.begin() as conn:
            row = conn.execute(select(t.tenants.c.id).where(t.tenants.c.key == key)).first()
            if row:
                return int(row.id)
            try:
                # A concurrent installer may insert the same key: the savepoint lets us read theirs.
                with conn.begin_nested():
                    result = conn.execute(insert(t.tenants).values(key=key, name=name or key, created_at=utcnow()))
                    return new_id(result)
            except IntegrityError:
                row = conn.execute(select(t.tenants.c.id).where(t.tenants.c.key == key)).one()
                return int(row.id)

    def key_of(self, tenant_id: int) -> str:
        known = self._keys.get(tenant_id)
        if known is not None:
            return known
        with self.db.read() as conn:
            key = str(conn.execute(select(t.tenants.c.key).where(t.tenants.c.id == tenant_id)).scalar_one())
        self._keys[tenant_id] = key
        return key

    def id_of(self, key: str) -> int | None:
        known = self._ids.get(key)
        if known is not None:
            return known
        with self.db.read() as conn:
            value = conn.execute(select(t.tenants.c.id).where(t.tenants.c.key == key)).scalar()
        if value is None:
            return None  # not remembered: the tenant may be created any time
        self._ids[key] = int(value)
        return int(value)

    def all(self) -> list[TenantRow]:
        with self.db.read() as conn:
            rows = conn.execute(select(t.tenants).order_by(t.tenants.c.id))
            return [TenantRow(int(r.id), r.key, r.name) for r in rows]

    # -- sink connections ---------------------------------------------------------------------
    def set_connection(self, tenant_id: int, sink: str, config: dict[str, Any]) -> None:
        """Store (or replace) the connection, enabled, and give it what it missed while absent."""
        enc = self.box.encrypt_json(config)
        with self.db.begin() as conn:
            updated = conn.execute(
                update(t.sink_connections)
                .where(t.sink_connections.c.tenant_id == tenant_id, t.sink_connections.c.sink == sink)
                .values(config_enc=enc, enabled=True, last_error=None, updated_at=utcnow())
            ).rowcount
            if not updated:
                conn.execute(
                    insert(t.sink_connections).values(
                        tenant_id=tenant_id, sink=sink, config_enc=enc, enabled=True, updated_at=utcnow()
                    )
                )
            backfill_deliveries(conn, tenant_id, sink)

    def disable_connection(self, tenant_id: int, sink: str, reason: str) -> None:
        with self.db.begin() as conn:
            conn.execute(
                update(t.sink_connections)
                .where(t.sink_connections.c.tenant_id == tenant_id, t.sink_connections.c.sink == sink)
                .values(enabled=False, last_error=reason, updated_at=utcnow())
            )

    def connection_config(self, tenant_id: int, sink: str) -> dict[str, Any] | None:
        """The decrypted config of an enabled connection; None when absent or disabled."""
        with self.db.read() as conn:
            row = conn.execute(
                select(t.sink_connections.c.config_enc, t.sink_connections.c.enabled).where(
                    t.sink_connections.c.tenant_id == tenant_id, t.sink_connections.c.sink == sink
                )
            ).first()
        if row is None or not row.enabled:
            return None
        config: dict[str, Any] = self.box.decrypt_json(row.config_enc)
        return config

    def connections(self, *, enabled_only: bool = True) -> list[ConnectionRow]:
        query = (
            select(t.sink_connections, t.tenants.c.key)
            .join(t.tenants, t.tenants.c.id == t.sink_connections.c.tenant_id)
            .order_by(t.sink_connections.c.tenant_id, t.sink_connections.c.sink)
        )
        if enabled_only:
            query = query.where(t.sink_connections.c.enabled.is_(True))
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        return [
            ConnectionRow(
                tenant_id=int(r.tenant_id),
                tenant_key=r.key,
                sink=r.sink,
                enabled=bool(r.enabled),
                last_error=r.last_error,
                reply_watermark=r.reply_watermark,
                next_reply_poll_at=as_utc(r.next_reply_poll_at),
                config_enc=r.config_enc,
            )
            for r in rows
        ]

    def config_of(self, row: ConnectionRow) -> dict[str, Any]:
        config: dict[str, Any] = self.box.decrypt_json(row.config_enc)
        return config

    def enabled_sinks(self, tenant_id: int) -> list[str]:
        with self.db.read() as conn:
            return enabled_sinks(conn, tenant_id)

    def wake_reply_polls(self) -> None:
        """Every CRM connection is due now to be asked for agents' replies (see Worker.wake_polls)."""
        with self.db.begin() as conn:
            conn.execute(update(t.sink_connections).values(next_reply_poll_at=utcnow()))

    def wake_reply_poll(self, tenant_id: int, sink: str) -> None:
        """One connection's agent replies are due now (its change stream reported a change)."""
        c = t.sink_connections.c
        with self.db.begin() as conn:
            conn.execute(update(t.sink_connections).where(c.tenant_id == tenant_id, c.sink == sink)
                         .values(next_reply_poll_at=utcnow()))  # fmt: skip

    def schedule_reply_poll(
        self, tenant_id: int, sink: str, watermark: str | None, seconds: float, error: str | None = None
    ) -> None:
        """Move the agent-reply watermark and say when to ask the CRM again."""
        with self.db.begin() as conn:
            conn.execute(
                update(t.sink_connections)
                .where(t.sink_connections.c.tenant_id == tenant_id, t.sink_connections.c.sink == sink)
                .values(
                    reply_watermark=watermark,
                    next_reply_poll_at=utcnow() + timedelta(seconds=seconds),
                    last_error=error,
                )
            )


def enabled_sinks(conn: Connection, tenant_id: int) -> list[str]:
    rows = conn.execute(
        select(t.sink_connections.c.sink).where(
            t.sink_connections.c.tenant_id == tenant_id, t.sink_connections.c.enabled.is_(True)
        )
    )
    return sorted(r.sink for r in rows)
