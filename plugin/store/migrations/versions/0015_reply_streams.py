"""Agents' replies found by a change stream (Salesforce Change Data Capture over CometD): one row per
CRM connection with its replay position, its mode (streaming | polling) and the listener's lease.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


def upgrade() -> None:
    op.create_table(
        "reply_streams",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", Id, sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("sink", sa.String(64), nullable=False),
        sa.Column("position", sa.Text),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text),
        sa.Column("events", sa.Integer, nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        _ts("last_event_at"),
        _ts("healthy_at"),
        _ts("next_attempt_at"),
        sa.Column("lease_owner", sa.String(64)),
        _ts("lease_until"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_reply_streams"),
        sa.UniqueConstraint("tenant_id", "sink", name="uq_reply_streams_tenant_sink"),
    )


def downgrade() -> None:
    op.drop_table("reply_streams")
