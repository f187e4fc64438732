"""Service metrics: one fact per engaged mention, the hourly and daily rollups every figure is read from, and
where the resolution reading stopped per CRM (issue 16).

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "service_facts",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", Id, sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("mention_id", Id, sa.ForeignKey("mentions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("account_id", Id),
        sa.Column("network", sa.String(64), nullable=False),
        sa.Column("thread_key", sa.String(512), nullable=False),
        sa.Column("author_external_id", sa.String(255), nullable=False),
        _ts("created_at", nullable=False),
        _ts("hour", nullable=False),
        _ts("first_reply_at"),
        _ts("solved_at"),
        sa.Column("csat_state", sa.String(16)),
        sa.Column("csat_rating", sa.Integer),
        sa.Column("csat_reason", sa.Text),
        sa.UniqueConstraint("mention_id", name="uq_service_facts_mention_id"),
    )
    op.create_index("ix_service_facts_thread", "service_facts", ["tenant_id", "network", "thread_key"])
    op.create_index("ix_service_facts_author", "service_facts", ["tenant_id", "network", "author_external_id"])
    op.create_table(
        "service_tickets",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", Id, sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("fact_id", Id, sa.ForeignKey("service_facts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("sink", sa.String(64), nullable=False),
        sa.Column("ticket", sa.String(255), nullable=False),
        sa.UniqueConstraint("fact_id", "sink", name="uq_service_tickets_fact_sink"),
    )
    op.create_index("ix_service_tickets_ticket", "service_tickets", ["tenant_id", "sink", "ticket"])
    for name, bucket in (("metric_hours", "hour"), ("metric_days", "day")):
        op.create_table(
            name,
            sa.Column("id", Id, primary_key=True, autoincrement=True),
            sa.Column("tenant_id", Id, sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
            _ts(bucket, nullable=False),
            sa.Column("account_id", Id, nullable=False),
            sa.Column("network", sa.String(64), nullable=False),
            *[sa.Column(c, sa.Integer, nullable=False) for c in ("mentions", "promoting", "detracting", "answered")],
            sa.Column("response_seconds", sa.JSON, nullable=False),
            sa.Column("response_histogram", sa.JSON, nullable=False),
            sa.Column("resolved", sa.Integer, nullable=False),
            sa.Column("resolution_seconds", sa.JSON, nullable=False),
            *[sa.Column(c, sa.JSON, nullable=False) for c in ("by_intent", "by_sentiment", "praise", "csat")],
            sa.UniqueConstraint("tenant_id", bucket, "account_id", "network", name=f"uq_{name}_bucket"),
        )
    op.create_table(
        "resolution_cursors",
        sa.Column("tenant_id", Id, sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("sink", sa.String(64), primary_key=True),
        sa.Column("cursor", sa.Text),
        _ts("updated_at", nullable=False),
    )


def downgrade() -> None:
    op.drop_table("resolution_cursors")
    op.drop_table("metric_days")
    op.drop_table("metric_hours")
    op.drop_index("ix_service_tickets_ticket", "service_tickets")
    op.drop_table("service_tickets")
    op.drop_index("ix_service_facts_author", "service_facts")
    op.drop_index("ix_service_facts_thread", "service_facts")
    op.drop_table("service_facts")
