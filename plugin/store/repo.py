"""Queries over the store. Every write that must survive a crash is its own committed transaction."""

from __future__ import annotations

import secrets as pysecrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, insert, literal, or_, select, update
from sqlalchemy.exc import IntegrityError

from plugin.connector import AccountContext
from plugin.models import Mention
from plugin.secrets import SecretBox
from plugin.store import tables as t
from plugin.store.db import Database, as_utc, utcnow


@dataclass(frozen=True)
class AccountRow:
    id: int
    tenant_id: int
    network: str
    external_id: str
    handle: str | None
    public_key: str
    settings: dict[str, Any]
    api_base: str | None
    enabled: bool

    def context(self, box: SecretBox, credentials_enc: str) -> AccountContext:
        return AccountContext(
            network=self.network,
            external_id=self.external_id,
            handle=self.handle,
            credentials=box.decrypt_json(credentials_enc),
            settings=self.settings or {},
            api_base=self.api_base,
        )


BACKFILL_DAYS = 7  # how far back a newly connected CRM receives what it missed


class Store:
    """Thin, explicit data access used by the pipeline, the worker and the web app."""

    def __init__(self, db: Database, box: SecretBox):
        self.db = db
        self.box = box

    # -- tenants and connections -------------------------------------------------------------
    def ensure_tenant(self, key: str, name: str = "") -> int:
        with self.db.begin() as conn:
            row = conn.execute(select(t.tenants.c.id).where(t.tenants.c.key == key)).first()
            if row:
                return int(row.id)
            try:
                with conn.begin_nested():
                    result = conn.execute(insert(t.tenants).values(key=key, name=name or key, created_at=utcnow()))
                    return new_id(result)
            except IntegrityError:
                row = conn.execute(select(t.tenants.c.id).where(t.tenants.c.key == key)).one()
                return int(row.id)

    def tenant_key(self, tenant_id: int) -> str:
        with self.db.begin() as conn:
            return str(conn.execute(select(t.tenants.c.key).where(t.tenants.c.id == tenant_id)).scalar_one())

    def tenant_id(self, key: str) -> int | None:
        with self.db.begin() as conn:
            value = conn.execute(select(t.tenants.c.id).where(t.tenants.c.key == key)).scalar()
            return int(value) if value is not None else None

    def set_sink_connection(self, tenant_id: int, sink: str, config: dict[str, Any]) -> None:
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
            self._backfill_deliveries(conn, tenant_id, sink)

    def _backfill_deliveries(self, conn: Connection, tenant_id: int, sink: str) -> None:
        """Mentions routed while this CRM was not connected (not yet installed, or uninstalled for a
        while) get their delivery now, back to ``BACKFILL_DAYS``: nothing is missed by the gap."""
        now = utcnow()
        m, d = t.mentions.c, t.deliveries.c
        missing = (
            select(
                m.id,
                m.tenant_id,
                literal(sink),
                literal("pending"),
                literal(0),
                literal(now, type_=t.deliveries.c.next_attempt_at.type),
                literal(now, type_=t.deliveries.c.updated_at.type),
            )
            .where(
                m.tenant_id == tenant_id,
                m.status == "routed",
                m.deleted.is_(False),
                m.received_at >= now - timedelta(days=BACKFILL_DAYS),
                ~select(d.id).where(d.mention_id == m.id, d.sink == sink).exists(),
            )
        )
        conn.execute(
            insert(t.deliveries).from_select(
                ["mention_id", "tenant_id", "sink", "status", "attempts", "next_attempt_at", "updated_at"], missing
            )
        )

    def disable_sink_connection(self, tenant_id: int, sink: str, reason: str) -> None:
        with self.db.begin() as conn:
            conn.execute(
                update(t.sink_connections)
                .where(t.sink_connections.c.tenant_id == tenant_id, t.sink_connections.c.sink == sink)
                .values(enabled=False, last_error=reason, updated_at=utcnow())
            )

    def sink_connection(self, tenant_id: int, sink: str) -> dict[str, Any] | None:
        with self.db.begin() as conn:
            row = conn.execute(
                select(t.sink_connections.c.config_enc, t.sink_connections.c.enabled).where(
                    t.sink_connections.c.tenant_id == tenant_id, t.sink_connections.c.sink == sink
                )
            ).first()
        if row is None or not row.enabled:
            return None
        config: dict[str, Any] = self.box.decrypt_json(row.config_enc)
        return config

    def enabled_sinks(self, conn: Connection, tenant_id: int) -> list[str]:
        rows = conn.execute(
            select(t.sink_connections.c.sink).where(
                t.sink_connections.c.tenant_id == tenant_id, t.sink_connections.c.enabled.is_(True)
            )
        )
        return sorted(r.sink for r in rows)

    # -- accounts ----------------------------------------------------------------------------
    def upsert_account(
        self,
        tenant_id: int,
        network: str,
        external_id: str,
        credentials: dict[str, str],
        *,
        handle: str | None = None,
        settings: dict[str, Any] | None = None,
        api_base: str | None = None,
    ) -> int:
        enc = self.box.encrypt_json(credentials)
        values = {
            "handle": handle,
            "credentials_enc": enc,
            "settings": settings or {},
            "api_base": api_base,
            "enabled": True,
        }
        with self.db.begin() as conn:
            row = conn.execute(
                select(t.accounts.c.id).where(
                    t.accounts.c.tenant_id == tenant_id,
                    t.accounts.c.network == network,
                    t.accounts.c.external_id == external_id,
                )
            ).first()
            if row:
                conn.execute(update(t.accounts).where(t.accounts.c.id == row.id).values(**values))
                return int(row.id)
            result = conn.execute(
                insert(t.accounts).values(
                    tenant_id=tenant_id,
                    network=network,
                    external_id=external_id,
                    public_key=pysecrets.token_urlsafe(16),
                    created_at=utcnow(),
                    **values,
                )
            )
            account_id = new_id(result)
            conn.execute(
                insert(t.poll_cursors).values(
                    account_id=account_id, cursor=None, next_poll_at=utcnow(), failures=0, updated_at=utcnow()
                )
            )
            return account_id

    def update_account_settings(self, account_id: int, settings: dict[str, Any]) -> None:
        """Merge ``settings`` into the account's (non-secret) settings."""
        with self.db.begin() as conn:
            current = conn.execute(select(t.accounts.c.settings).where(t.accounts.c.id == account_id)).scalar_one()
            conn.execute(
                update(t.accounts).where(t.accounts.c.id == account_id).values(settings={**(current or {}), **settings})
            )

    def _account_row(self, row: Any) -> AccountRow:
        return AccountRow(
            id=int(row.id),
            tenant_id=int(row.tenant_id),
            network=row.network,
            external_id=row.external_id,
            handle=row.handle,
            public_key=row.public_key,
            settings=dict(row.settings or {}),
            api_base=row.api_base,
            enabled=bool(row.enabled),
        )

    def accounts(self, tenant_id: int | None = None) -> list[AccountRow]:
        query = select(t.accounts).order_by(t.accounts.c.id)
        if tenant_id is not None:
            query = query.where(t.accounts.c.tenant_id == tenant_id)
        with self.db.begin() as conn:
            return [self._account_row(r) for r in conn.execute(query)]

    def account(self, account_id: int) -> tuple[AccountRow, AccountContext] | None:
        with self.db.begin() as conn:
            row = conn.execute(select(t.accounts).where(t.accounts.c.id == account_id)).first()
        if row is None:
            return None
        account = self._account_row(row)
        return account, account.context(self.box, row.credentials_enc)

    def account_by_public_key(self, network: str, public_key: str) -> tuple[AccountRow, AccountContext] | None:
        with self.db.begin() as conn:
            row = conn.execute(
                select(t.accounts).where(t.accounts.c.public_key == public_key, t.accounts.c.network == network)
            ).first()
        if row is None:
            return None
        account = self._account_row(row)
        return account, account.context(self.box, row.credentials_enc)

    def find_account(self, tenant_id: int, network: str, external_id: str) -> tuple[AccountRow, AccountContext] | None:
        with self.db.begin() as conn:
            row = conn.execute(
                select(t.accounts).where(
                    t.accounts.c.tenant_id == tenant_id,
                    t.accounts.c.network == network,
                    t.accounts.c.external_id == external_id,
                )
            ).first()
        if row is None:
            return None
        account = self._account_row(row)
        return account, account.context(self.box, row.credentials_enc)

    # -- mentions ----------------------------------------------------------------------------
    def insert_mention(self, tenant_id: int, account_id: int | None, mention: Mention) -> int | None:
        """Commit a new mention; None when (tenant, network, external_id) is already stored."""
        now = utcnow()
        values = {
            "tenant_id": tenant_id,
            "account_id": account_id,
            "network": mention.network,
            "external_id": mention.external_id,
            "thread_id": mention.thread_id,
            "parent_id": mention.parent_id,
            "author_external_id": mention.author.external_id,
            "payload": mention.model_dump(mode="json"),
            "status": "received",
            "deleted": mention.event == "deleted",
            "edits": 0,
            "created_at": mention.created_at,
            "received_at": now,
        }
        try:
            with self.db.begin() as conn:
                result = conn.execute(insert(t.mentions).values(**values))
                return new_id(result)
        except IntegrityError:
            return None

    def apply_mention_event(self, tenant_id: int, mention: Mention) -> bool:
        """An edit or delete of a stored mention: marked on the row, never losing the original."""
        with self.db.begin() as conn:
            row = conn.execute(
                select(t.mentions.c.id, t.mentions.c.payload, t.mentions.c.edits).where(
                    t.mentions.c.tenant_id == tenant_id,
                    t.mentions.c.network == mention.network,
                    t.mentions.c.external_id == mention.external_id,
                )
            ).first()
            if row is None:
                return False
            payload = dict(row.payload)
            history = list(payload.get("extra", {}).get("history", []))
            if mention.event == "edited":
                history.append({"text": payload.get("text"), "replaced_at": utcnow().isoformat()})
                payload["text"] = mention.text
            extra = dict(payload.get("extra", {}))
            extra["history"] = history
            payload["extra"] = extra
            conn.execute(
                update(t.mentions)
                .where(t.mentions.c.id == row.id)
                .values(
                    payload=payload,
                    deleted=t.mentions.c.deleted | (mention.event == "deleted"),
                    edits=row.edits + (1 if mention.event == "edited" else 0),
                )
            )
            return True

    def parent_states(self, tenant_id: int, sink: str, keys: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """Delivery state in ``sink`` of each (network, external_id) parent we know of.

        A parent that is one of our own sent replies counts as delivered: the CRM created it.
        """
        states: dict[tuple[str, str], str] = {}
        if not keys:
            return states
        ids = sorted({external_id for _network, external_id in keys})
        with self.db.begin() as conn:
            rows = conn.execute(
                select(t.mentions.c.network, t.mentions.c.external_id, t.deliveries.c.status)
                .select_from(t.mentions)
                .outerjoin(t.deliveries, (t.deliveries.c.mention_id == t.mentions.c.id) & (t.deliveries.c.sink == sink))
                .where(t.mentions.c.tenant_id == tenant_id, t.mentions.c.external_id.in_(ids))
            )
            for row in rows:
                if (row.network, row.external_id) in keys and row.status is not None:
                    states[(row.network, row.external_id)] = row.status
            replies = conn.execute(
                select(t.replies.c.network, t.replies.c.external_id).where(
                    t.replies.c.tenant_id == tenant_id, t.replies.c.status == "sent", t.replies.c.external_id.in_(ids)
                )
            )
            for reply in replies:
                states[(reply.network, reply.external_id)] = "delivered"
        return states

    # -- leases ------------------------------------------------------------------------------
    def claim(
        self,
        table: Any,
        where: Any,
        owner: str,
        limit: int,
        lease_seconds: float,
        order_by: Sequence[Any] = (),
    ) -> list[int]:
        """Claim up to ``limit`` rows for ``owner``: rows whose lease expired are free again.

        Works the same on SQLite and PostgreSQL: pick candidates, then a conditional UPDATE that only
        succeeds for rows nobody else claimed in between.
        """
        now = utcnow()
        free = or_(table.c.lease_until.is_(None), table.c.lease_until < now)
        with self.db.begin() as conn:
            ids = [
                int(r[0])
                for r in conn.execute(
                    select(table.c[table.primary_key.columns.keys()[0]])
                    .where(and_(where, free))
                    .order_by(*order_by)
                    .limit(limit)
                )
            ]
            if not ids:
                return []
            pk = table.primary_key.columns.values()[0]
            conn.execute(
                update(table)
                .where(pk.in_(ids), free)
                .values(lease_owner=owner, lease_until=now + timedelta(seconds=lease_seconds))
            )
            claimed = conn.execute(select(pk).where(pk.in_(ids), table.c.lease_owner == owner))
            return [int(r[0]) for r in claimed]

    def counts(self) -> dict[str, int]:
        with self.db.begin() as conn:

            def count(table: Any, *where: Any) -> int:
                return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())

            return {
                "mentions": count(t.mentions),
                "mentions_pending": count(t.mentions, t.mentions.c.status == "received"),
                "deliveries_pending": count(t.deliveries, t.deliveries.c.status == "pending"),
                "deliveries_delivered": count(t.deliveries, t.deliveries.c.status == "delivered"),
                "deliveries_failed": count(t.deliveries, t.deliveries.c.status == "failed"),
                "replies_sent": count(t.replies, t.replies.c.status == "sent"),
                "replies_failed": count(t.replies, t.replies.c.status.in_(["failed", "uncertain"])),
                "replies_pending": count(t.replies, t.replies.c.status.in_(["pending", "sending"])),
            }

    def record_event(self, tenant_id: int | None, kind: str, data: dict[str, Any]) -> None:
        with self.db.begin() as conn:
            conn.execute(insert(t.events).values(tenant_id=tenant_id, kind=kind, data=data, created_at=utcnow()))


def new_id(result: Any) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def due(value: datetime | None) -> bool:
    value = as_utc(value)
    return value is None or value <= utcnow()
