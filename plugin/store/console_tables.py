"""Tables of the standalone console (issue 15): admin users, their server-side sessions, login attempts.

Kept beside ``tables.py`` on the same ``MetaData`` so migration 0009 and ``create_all`` agree.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, String, Table

from plugin.store.tables import Id, metadata

# An admin of horseshoe: an operator (every tenant, tenant_key NULL) or one tenant's admin (e.g. a
# company on Salesforce only). Only an argon2 hash of the password is stored.
admin_users = Table(
    "admin_users",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(16), nullable=False),  # operator | tenant
    Column("tenant_key", String(255)),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("must_change_password", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Server-side sessions: the cookie carries a random id whose SHA-256 is the key here, so a database
# dump does not let anyone log in. Logging out, disabling the admin or a password reset deletes them.
admin_sessions = Table(
    "admin_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("admin_id", Id, ForeignKey("admin_users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
)

# Failed logins, per admin name and per client address, for the login rate limit.
login_attempts = Table(
    "login_attempts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False, index=True),
    Column("address", String(64), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
)
