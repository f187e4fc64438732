"""The notices outbox (issue 15): what horseshoe must tell an admin contact, kept until it was told.

Kept beside ``tables.py`` on the same ``MetaData`` so migration 0018 and ``create_all`` agree.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Index, Integer, String, Table, Text

from plugin.store.tables import Id, metadata

# One row per notice: committed before any attempt to send it, delivered at least once (retried with
# backoff until the receiver says 2xx), and sent with its ``key`` so that the receiver can drop a
# repeat (a process killed after the POST, before recording it, sends it again).
notices = Table(
    "notices",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("key", String(255), nullable=False, unique=True),  # the idempotency key sent with it
    Column("tenant_id", Id, ForeignKey("tenants.id", ondelete="CASCADE")),
    Column("kind", String(64), nullable=False),  # needs_attention, ...
    Column("target", String(255), nullable=False),  # what it is about (account:<id>, sink:<sink>:<tenant>)
    Column("url", Text, nullable=False),  # the admin contact's webhook, as configured when it was written
    Column("subject", Text, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("status", String(16), nullable=False),  # pending | sent
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("lease_owner", String(255)),
    Column("lease_until", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
)
Index("ix_notices_due", notices.c.status, notices.c.next_attempt_at)
