"""Tables of the trust model (issue 10): install codes, signing keys, per-tenant revocation.

Kept beside ``tables.py`` on the same ``MetaData`` so migration 0005 and ``create_all`` agree.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Integer, String, Table, Text

from plugin.store.tables import Id, metadata

# A one-time code the operator hands to a customer's Zendesk admin (``horseshoe tenants invite``).
# Only a hash is stored: a database dump does not let anyone install.
install_codes = Table(
    "install_codes",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_key", String(255), nullable=False, index=True),
    Column("code_hash", String(128), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
)

# Signing keys for tokens handed out (Zendesk metadata/state, admin sessions, file links). Key
# material is encrypted with the configured secret key; a retired key verifies until ``retires_at``.
signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(32), primary_key=True),
    Column("key_enc", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("retires_at", DateTime(timezone=True)),
)

# Raising a tenant's generation revokes every token issued for it before (uninstall, operator revoke).
tenant_generations = Table(
    "tenant_generations",
    metadata,
    Column("tenant_key", String(255), primary_key=True),
    Column("generation", Integer, nullable=False, default=0),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
