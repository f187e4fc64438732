"""The shared rate budgets (issue 11): one token bucket per target (a Zendesk account, a Salesforce
org, a network account), spent by every worker process with one conditional UPDATE.

Kept beside ``tables.py`` on the same ``MetaData`` so migration 0017 and ``create_all`` agree. Times
are Unix seconds as floats: the refill is arithmetic on them inside the UPDATE, the same on SQLite and
PostgreSQL (date arithmetic is not).
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, String, Table

from plugin.store.tables import deliveries, metadata

rate_buckets = Table(
    "rate_buckets",
    metadata,
    Column("target", String(255), primary_key=True),  # "zendesk:<subdomain>", "account:<id>", ...
    Column("capacity", Float, nullable=False),  # the most tokens it holds (the burst)
    Column("per_second", Float, nullable=False),  # the refill
    Column("tokens", Float, nullable=False),  # as of ``stamp``; negative = a debt (more was spent)
    Column("stamp", Float, nullable=False),  # Unix seconds of the last refill
    Column("limit_per_window", Float, nullable=False),  # the service's limit this bucket follows
    Column("window_seconds", Float, nullable=False),
)

# Fair claims (plugin/store/fair_claims.py) find the tenants with due work by one seek each.
Index(
    "ix_deliveries_tenant_due",
    deliveries.c.tenant_id,
    deliveries.c.sink,
    deliveries.c.status,
    deliveries.c.next_attempt_at,
)
