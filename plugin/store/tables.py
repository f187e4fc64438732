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
    true,
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
    Column("listen_cursor", Text),  # Connector.listen's position (listening per account)
    _ts("next_listen_at"),  # the account's search budget: no search call before this
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
    Column("parts", JSON),  # every id the network gave back, in order (a numbered thread has several)
    Column("recipient_id", String(255)),  # a private message's customer (the handoff look-up)
    Column("handoff_thread", String(512)),  # a handoff's private message: the public thread it moves
)
Index("ix_replies_due", replies.c.status, replies.c.next_attempt_at)
Index("ix_replies_unreported", replies.c.source, replies.c.reported_at)
Index("ix_replies_handoff", replies.c.tenant_id, replies.c.network, replies.c.recipient_id)

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

# /zendesk/events byte budgets per tenant and one-minute window (``window_start``: Unix minute), in
# the store so every server process (gunicorn workers, several hosts) spends from the same budget.
callback_budgets = Table(
    "callback_budgets",
    metadata,
    Column("budget_key", String(255), primary_key=True),
    Column("window_start", BigInteger, primary_key=True),
    Column("used", BigInteger, nullable=False),
)

# --- service metrics (issue 16; migration 0010) ---------------------------------------------------
# One row per engaged mention: when the customer wrote, when we first answered, when the ticket/case
# was solved, and the CSAT asked/answered. Written as things happen; read one ticket or thread at a time.
service_facts = Table(
    "service_facts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", Id, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("mention_id", Id, ForeignKey("mentions.id", ondelete="CASCADE"), nullable=False, unique=True),
    Column("account_id", Id),  # the brand account (0 = unknown); no FK: facts outlive a disconnect
    Column("network", String(64), nullable=False),
    Column("thread_key", String(512), nullable=False),  # thread_id, or the mention's own id
    Column("author_external_id", String(255), nullable=False),
    _ts("created_at", nullable=False),  # when the customer wrote it: the clock starts here
    _ts("hour", nullable=False),  # created_at truncated to the hour: the rollup row it counts in
    _ts("first_reply_at"),
    _ts("solved_at"),
    Column("csat_state", String(16)),  # asked | skipped | answered
    Column("csat_rating", Integer),
    Column("csat_reason", Text),
)
Index("ix_service_facts_thread", service_facts.c.tenant_id, service_facts.c.network, service_facts.c.thread_key)
# The satisfaction answer's look-up: the author's surveyed conversations.
Index("ix_service_facts_author", service_facts.c.tenant_id, service_facts.c.network, service_facts.c.author_external_id)

# Which ticket (Zendesk) or record (Salesforce SocialPost) each fact landed in, one per CRM: a solve
# in either CRM resolves the conversation (the first one counts).
service_tickets = Table(
    "service_tickets",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", Id, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("fact_id", Id, ForeignKey("service_facts.id", ondelete="CASCADE"), nullable=False),
    Column("sink", String(64), nullable=False),
    Column("ticket", String(255), nullable=False),
    UniqueConstraint("fact_id", "sink", name="uq_service_tickets_fact_sink"),
)
Index("ix_service_tickets_ticket", service_tickets.c.tenant_id, service_tickets.c.sink, service_tickets.c.ticket)


# The aggregates every figure is read from: one row per tenant, hour (or day), brand account and
# network, kept up to date in the same transaction as the fact that changes it (never a scan of the
# mentions). Periods up to 48 h read the hours, longer ones the days: a year is 365 rows per account.
def _rollup(name: str, bucket: str) -> Table:
    return Table(
        name,
        metadata,
        Column("id", Id, primary_key=True, autoincrement=True),
        Column("tenant_id", Id, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        _ts(bucket, nullable=False),
        Column("account_id", Id, nullable=False),
        Column("network", String(64), nullable=False),
        Column("mentions", Integer, nullable=False, default=0),
        Column("promoting", Integer, nullable=False, default=0),
        Column("detracting", Integer, nullable=False, default=0),
        Column("answered", Integer, nullable=False, default=0),
        Column("response_seconds", JSON, nullable=False, default=0),  # sum; JSON keeps floats exact
        Column("response_histogram", JSON, nullable=False, default=dict),  # {bucket upper edge (min): n}
        Column("business_histogram", JSON, default=dict),  # the same in business time (migration 0014)
        Column("resolved", Integer, nullable=False, default=0),
        Column("resolution_seconds", JSON, nullable=False, default=0),
        Column("by_intent", JSON, nullable=False, default=dict),
        Column("by_sentiment", JSON, nullable=False, default=dict),
        Column("praise", JSON, nullable=False, default=dict),  # {employee id: n}
        Column("csat", JSON, nullable=False, default=dict),  # {"1".."5": n, "asked": n, "skipped": n}
        UniqueConstraint("tenant_id", bucket, "account_id", "network", name=f"uq_{name}_bucket"),
    )


metric_hours = _rollup("metric_hours", "hour")
metric_days = _rollup("metric_days", "day")

# Where each tenant's resolution reading stopped in each CRM (Zendesk incremental export start_time).
resolution_cursors = Table(
    "resolution_cursors",
    metadata,
    Column("tenant_id", Id, ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
    Column("sink", String(64), primary_key=True),
    Column("cursor", Text),
    _ts("updated_at", nullable=False),
)

# Items of a poll page or webhook body a connector could not read, kept raw with the error so the
# rest of the page flows and the item can be re-parsed after a fix (issue 12, migration 0012).
quarantine = Table(
    "quarantine",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", Id, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="SET NULL")),
    Column("network", String(64), nullable=False),
    Column("source", String(16), nullable=False),  # poll | webhook
    Column("location", String(512), nullable=False),  # where in the payload (data[55], entry[0].changes[1])
    Column("error", Text, nullable=False),
    Column("payload", JSON, nullable=False),  # a one-item payload explain_payload reads on its own
    Column("fingerprint", String(64), nullable=False),  # sha256 of the payload: a re-read page adds nothing
    Column("status", String(16), nullable=False),  # quarantined -> released
    Column("attempts", Integer, nullable=False, default=0),
    Column("outcome", Text),  # what the last retry made of it
    _ts("created_at", nullable=False),
    _ts("updated_at", nullable=False),
    UniqueConstraint("tenant_id", "network", "fingerprint", name="uq_quarantine_tenant_network_fingerprint"),
)
Index("ix_quarantine_status", quarantine.c.status, quarantine.c.account_id)

# What an admin needs to know about each account that the poll cursor does not say (0012).
account_health = Table(
    "account_health",
    metadata,
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    _ts("last_poll_ok_at"),
    _ts("last_webhook_ok_at"),
    Column("last_error", Text),
    _ts("last_error_at"),
    _ts("token_expires_at"),
)

# An account or CRM connection whose credentials were refused: its work waits for an admin (0012).
needs_attention = Table(
    "needs_attention",
    metadata,
    Column("target", String(255), primary_key=True),  # "account:<id>" | "sink:<sink>:<tenant id>"
    Column("tenant_id", Id, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE")),
    Column("sink", String(64)),
    Column("reason", Text, nullable=False),
    _ts("since", nullable=False),
    _ts("notified_at"),  # the admin contact was told (once)
    # False: a token that expires soon and cannot be renewed; the admin is told, work goes on (0019).
    Column("pauses", Boolean, nullable=False, default=True, server_default=true()),
)

# Each tenant's CRM connection as an admin needs to see it (0019): the last successful delivery, the
# last error in plain words, and when its session or token expires where the CRM says.
sink_health = Table(
    "sink_health",
    metadata,
    Column("tenant_id", Id, ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
    Column("sink", String(64), primary_key=True),
    _ts("last_ok_at"),
    Column("last_error", Text),
    _ts("last_error_at"),
    _ts("token_expires_at"),
)

# Each CRM connection's change stream of agent replies (Salesforce CDC over CometD, migration 0015):
# the last event position read, the mode (streaming | polling) and the lease of the one listener.
reply_streams = Table(
    "reply_streams",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", Id, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("sink", String(64), nullable=False),
    Column("position", Text),  # the sink's replay position (Salesforce replayId), resumed after a restart
    Column("mode", String(16), nullable=False, default="polling"),
    Column("detail", Text),  # why it polls (denied, erroring), or what it streams
    Column("events", Integer, nullable=False, default=0),
    Column("failures", Integer, nullable=False, default=0),
    _ts("last_event_at"),
    _ts("healthy_at"),  # the last answer of a healthy stream (a long poll that ended normally)
    _ts("next_attempt_at"),
    Column("lease_owner", String(64)),
    _ts("lease_until"),
    _ts("updated_at", nullable=False),
    UniqueConstraint("tenant_id", "sink", name="uq_reply_streams_tenant_sink"),
)
