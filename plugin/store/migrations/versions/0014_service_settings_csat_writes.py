"""Business hours per tenant (the SLA clock), first responses in business time in the rollups, and the
durable queue of satisfaction ratings to write to each CRM (a rating is never lost to a CRM hiccup).

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "tenant_service_settings",
        sa.Column("tenant_id", Id, sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("business_hours", sa.Text, nullable=False, server_default=""),
        sa.Column("updated_by", sa.String(255), nullable=False, server_default=""),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    for table in ("metric_hours", "metric_days"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("business_histogram", sa.JSON, nullable=True))
        # Until a tenant sets business hours its clock runs around the clock: the same histogram.
        rollup = sa.table(table, sa.column("business_histogram"), sa.column("response_histogram"))
        op.execute(rollup.update().values(business_histogram=rollup.c.response_histogram))
    op.create_table(
        "csat_writes",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", Id, sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("fact_id", Id, sa.ForeignKey("service_facts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("sink", sa.String(64), nullable=False),
        sa.Column("ticket", sa.String(255), nullable=False),
        sa.Column("rating", sa.Integer, nullable=False),
        sa.Column("network", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("result", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("fact_id", "sink", name="uq_csat_writes_fact_id"),
    )
    op.create_index("ix_csat_writes_due", "csat_writes", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_csat_writes_due", "csat_writes")
    op.drop_table("csat_writes")
    for table in ("metric_hours", "metric_days"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("business_histogram")
    op.drop_table("tenant_service_settings")
