"""Table definitions (SQLAlchemy Core). Alembic migrations in ``migrations/`` create exactly these."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Integer ids: BigInteger on PostgreSQL, plain INTEGER (rowid alias) on SQLite.
Id = BigInteger().with_variant(Integer(), "sqlite")


def _ts(name: str, **kw: object) -> Column:
    return Column(name, DateTime(timezone=True), **kw)  # type: ignore[arg-type]


tenants = Table(
    "tenants",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("key", String(255), nullable=False, unique=True),  # Zendesk subdomain / Salesforce org id
    Column("name", String(255), nullable=False, default=""),
    _ts("created_at", nullable=False),
)

sink_connections = Table(
    "sink_connections",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", Id, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("sink", String(64), nullable=False),
    Column("config_enc", Text, nullable=False),  # encrypted JSON: tokens, instance ids
    Column("enabled", Boolean, nullable=False, default=True),
    Column("last_error", Text),
    _ts("updated_at", nullable=False),
    Column("reply_watermark", Text),  # opaque cursor of Sink.fetch_agent_replies
    _ts("next_reply_poll_at"),
    UniqueConstraint("tenant_id", "sink", name="uq_sink_connections_tenant_sink"),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", Id, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("network", String(64), nullable=False),
    Column("external_id", String(255), nullable=False),  # our brand account's id on the network
    Column("handle", String(255)),
    Column("public_key", String(64), nullable=False, unique=True),  # routes webhooks, not a secret
    Column("credentials_enc", Text, nullable=False),
    Column("settings", JSON, nullable=False, default=dict),
    Column("api_base", String(512)),
    Column("enabled", Boolean, nullable=False, default=True),
    _ts("created_at", nullable=False),
    UniqueConstraint("tenant_id", "network", "external_id", name="uq_accounts_tenant_network_external"),
)

poll_cursors = Table(
    "poll_cursors",
    metadata,
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("cursor", Text),
    _ts("next_poll_at", nullable=False),
    _ts("lease_until"),
    Column("lease_owner", String(64)),
    Column("failures", Integer, nullable=False, default=0),
    Column("last_error", Text),
    _ts("updated_at", nullable=False),
)

mentions = Table(
    "mentions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", Id, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="SET NULL")),
    Column("network", String(64), nullable=False),
    Column("external_id", String(512), nullable=False),
    Column("thread_id", String(512)),
    Column("parent_id", String(512)),
    Column("author_external_id", String(255), nullable=False),
    Column("payload", JSON, nullable=False),  # the full normalized mention (incl. extra)
    Column("status", String(16), nullable=False),  # received -> routed | skipped
    Column("labels", JSON),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("edits", Integer, nullable=False, default=0),
    _ts("created_at", nullable=False),  # when the customer wrote it
    _ts("received_at", nullable=False),
    _ts("lease_until"),
    Column("lease_owner", String(64)),
    UniqueConstraint("tenant_id", "network", "external_id", name="uq_mentions_tenant_network_external"),
)
Index("ix_mentions_status", mentions.c.status, mentions.c.id)
Index("ix_mentions_thread", mentions.c.tenant_id, mentions.c.network, mentions.c.thread_id)
# Triage's look-ups of an author's recent mentions (migration 0004).
Index("ix_mentions_author", mentions.c.tenant_id, mentions.c.network, mentions.c.author_external_id, mentions.c.id)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("mention_id", Id, ForeignKey("mentions.id", ondelete="CASCADE"), nullable=False),
    Column("tenant_id", Id, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("sink", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False, default=0),
    _ts("next_attempt_at", nullable=False),
    Column("last_error", Text),
    Column("remote_id", String(255)),
    Column("match", JSON),
    _ts("lease_until"),
    Column("lease_owner", String(64)),
    _ts("updated_at", nullable=False),
    UniqueConstraint("mention_id", "sink", name="uq_deliveries_mention_sink"),
)
Index("ix_deliveries_due", deliveries.c.status, deliveries.c.next_attempt_at)

replies = Table(
    "replies",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", Id, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="SET NULL")),
    Column("idempotency_key", String(255), nullable=False, unique=True),
    Column("source", String(64), nullable=False),  # zendesk_channelback | salesforce | ...
    Column("network", String(64), nullable=False),
    Column("payload", JSON, nullable=False),  # the Reply
    # pending -> sending -> sent | failed | uncertain (may have been posted; never resent blindly)
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    _ts("next_attempt_at", nullable=False),
    Column("external_id", String(512)),
    Column("url", String(1024)),
    Column("last_error", Text),
    _ts("lease_until"),
    Column("lease_owner", String(64)),
    _ts("created_at", nullable=False),
    _ts("updated_at", nullable=False),
    Column("remote_id", String(255)),  # the CRM record the reply came from (e.g. SocialPost Id)
    _ts("reported_at"),  # when the final status was written back to that record
)
Index("ix_replies_due", replies.c.status, replies.c.next_attempt_at)
Index("ix_replies_unreported", replies.c.source, replies.c.reported_at)

events = Table(
    "events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", Id, ForeignKey("tenants.id", ondelete="CASCADE")),
    Column("kind", String(64), nullable=False),
    Column("data", JSON, nullable=False),
    _ts("created_at", nullable=False),
)

# --- identity resolution (issue 5; migration 0003) ------------------------------------------------
# One row per (tenant, sink, social profile): the verdict and, for a link/suggestion, the record.
identity_links = Table(
    "identity_links",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", Id, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("sink", String(64), nullable=False),
    Column("network", String(64), nullable=False),
    Column("author_external_id", String(255), nullable=False),
    Column("status", String(16), nullable=False),  # linked | suggested | rejected | new | undone | forgotten
    Column("record_id", String(255)),
    Column("record_type", String(64)),
    Column("confidence", JSON),  # a float; JSON keeps it exact across SQLite and PostgreSQL
    Column("evidence", JSON),  # list of strings; personal data, removed on forget
    Column("candidates", JSON),  # for suggestions: [{record_id, confidence, evidence}]
    Column("profile", JSON),  # handle/name/contacts we used; personal data, removed on forget
    Column("fingerprint", Text),  # evidence fingerprint the verdict was made on
    Column("merged", Boolean, nullable=False, default=False),
    _ts("created_at", nullable=False),
    _ts("updated_at", nullable=False),
    UniqueConstraint("tenant_id", "sink", "network", "author_external_id", name="uq_identity_links_profile"),
)
Index("ix_identity_links_status", identity_links.c.tenant_id, identity_links.c.status)

identity_audit = Table(
    "identity_audit",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", Id, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("sink", String(64), nullable=False),
    Column("action", String(32), nullable=False),  # link | merge | suggest | accept | reject | undo | forget
    Column("actor", String(255), nullable=False),  # "horseshoe" or the agent / admin
    Column("network", String(64), nullable=False),
    Column("author_external_id", String(255), nullable=False),
    Column("record_id", String(255)),
    Column("reason", Text, nullable=False),
    Column("evidence", JSON),
    Column("details", JSON),  # CRM actions (for undo), merge snapshot
    Column("reversible", Boolean, nullable=False, default=False),
    Column("undone_by", Integer),
    _ts("created_at", nullable=False),
)
Index("ix_identity_audit_tenant", identity_audit.c.tenant_id, identity_audit.c.id)

# One row per rate-limited target (a Zendesk instance, a Salesforce org, a network account), shared
# by every worker: a 429 pauses all of that target's work, not just the batch that got it (0006).
rate_pauses = Table(
    "rate_pauses",
    metadata,
    Column("target", String(255), primary_key=True),  # "<sink or network>:<tenant or account key>"
    _ts("paused_until", nullable=False),
    Column("reason", Text, nullable=False, default=""),
    # Consecutive 429s without Retry-After: each doubles the pause; a success resets it (0008).
    Column("strikes", Integer, nullable=False, default=0, server_default="0"),
    _ts("updated_at", nullable=False),
)
