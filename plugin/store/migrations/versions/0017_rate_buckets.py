"""One rate budget per target shared by every worker (issue 11): a token bucket per Zendesk account,
Salesforce org and network account, spent with one conditional UPDATE; and the index fair claims between tenants use.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_buckets",
        sa.Column("target", sa.String(255), primary_key=True),
        sa.Column("capacity", sa.Float, nullable=False),
        sa.Column("per_second", sa.Float, nullable=False),
        sa.Column("tokens", sa.Float, nullable=False),
        sa.Column("stamp", sa.Float, nullable=False),
        sa.Column("limit_per_window", sa.Float, nullable=False),
        sa.Column("window_seconds", sa.Float, nullable=False),
    )
    # Fair claims: the tenants with due deliveries, one index seek per tenant.
    op.create_index("ix_deliveries_tenant_due", "deliveries", ["tenant_id", "sink", "status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_tenant_due", table_name="deliveries")
    op.drop_table("rate_buckets")
