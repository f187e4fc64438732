"""OAuth ``state`` of the guided connect flows (plugin/connect/): single-use, expiring, bound.

A state names a random nonce; only its SHA-256 is stored, beside the tenant, the actor and a hash of
the browser binding (a cookie the flow set when it sent the admin away), the network and what the flow
must carry to the callback (a PKCE verifier, an app secret), encrypted. ``consume`` is the claim: one
``UPDATE ... WHERE used_at IS NULL`` so two callbacks with the same state cannot both win.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Column, DateTime, String, Table, Text, delete, insert, select, update

from plugin.secrets import SecretBox
from plugin.store.db import Database, utcnow
from plugin.store.tables import Id, metadata

connect_states = Table(
    "connect_states",
    metadata,
    Column("nonce_hash", String(64), primary_key=True),
    Column("tenant_id", Id, nullable=False),
    Column("actor", String(255), nullable=False),
    Column("binding_hash", String(64), nullable=False),
    Column("network", String(64), nullable=False),
    Column("carry_enc", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
    Column("used_at", DateTime(timezone=True)),
)


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ConnectState:
    tenant_id: int
    actor: str
    network: str
    carry: dict[str, Any] = field(repr=False)


class ConnectStateRepository:
    def __init__(self, db: Database, box: SecretBox):
        self.db = db
        self.box = box

    def create(
        self, nonce: str, tenant_id: int, actor: str, binding: str, network: str, carry: dict[str, Any], ttl: timedelta
    ) -> None:
        now = utcnow()
        with self.db.begin() as conn:
            # Expired states are useless; dropping them here keeps the table small without a sweeper.
            conn.execute(delete(connect_states).where(connect_states.c.expires_at < now - timedelta(days=1)))
            conn.execute(
                insert(connect_states).values(
                    nonce_hash=_hash(nonce),
                    tenant_id=tenant_id,
                    actor=actor,
                    binding_hash=_hash(binding),
                    network=network,
                    carry_enc=self.box.encrypt_json(carry),
                    created_at=now,
                    expires_at=now + ttl,
                )
            )

    def consume(self, nonce: str, binding: str) -> ConnectState | None:
        """Use up the state if it exists, has not expired, was never used and the binding matches."""
        c = connect_states.c
        with self.db.begin() as conn:
            claimed = conn.execute(
                update(connect_states)
                .where(
                    c.nonce_hash == _hash(nonce),
                    c.binding_hash == _hash(binding),
                    c.used_at.is_(None),
                    c.expires_at > utcnow(),
                )
                .values(used_at=utcnow())
            ).rowcount
            if not claimed:
                return None
            row = conn.execute(select(connect_states).where(c.nonce_hash == _hash(nonce))).one()
        return ConnectState(int(row.tenant_id), row.actor, row.network, dict(self.box.decrypt_json(row.carry_enc)))
