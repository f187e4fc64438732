"""Tables of the service settings and the satisfaction ratings on their way to the CRMs (issue 16).

Kept beside ``tables.py`` on the same ``MetaData`` so migration 0014 and ``create_all`` agree.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from plugin.store.tables import Id, metadata

# Per tenant: the business hours its SLA clock runs on ("" = around the clock; plugin/businesshours.py).
tenant_service_settings = Table(
    "tenant_service_settings",
    metadata,
    Column("tenant_id", Id, ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
    Column("business_hours", Text, nullable=False, server_default=""),
    Column("updated_by", String(255), nullable=False, server_default=""),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# A customer's rating, to be written to one CRM's ticket/case (tag or comment, a follow-up when
# negative). A row per (fact, CRM), retried with back-off until done or failed for good: a CRM that is
# down when the customer answers gets the rating later instead of never.
csat_writes = Table(
    "csat_writes",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", Id, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("fact_id", Id, ForeignKey("service_facts.id", ondelete="CASCADE"), nullable=False),
    Column("sink", String(64), nullable=False),
    Column("ticket", String(255), nullable=False),
    Column("rating", Integer, nullable=False),
    Column("network", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # pending | done | failed
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("last_error", Text),
    Column("result", Text),  # what the CRM now shows, in words
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("fact_id", "sink", name="uq_csat_writes_fact_id"),
)
Index("ix_csat_writes_due", csat_writes.c.status, csat_writes.c.next_attempt_at)
