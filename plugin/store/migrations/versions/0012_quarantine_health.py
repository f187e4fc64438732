"""Per-item quarantine, per-account health and "needs attention" (issues 12 and 15).

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str, **kw: object) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), **kw)  # type: ignore[arg-type]


def upgrade() -> None:
    op.create_table(
        "quarantine",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", Id, sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("account_id", Id, sa.ForeignKey("accounts.id", ondelete="SET NULL")),
        sa.Column("network", sa.String(64), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("location", sa.String(512), nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("outcome", sa.Text),
        _ts("created_at", nullable=False),
        _ts("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_quarantine"),
        sa.UniqueConstraint("tenant_id", "network", "fingerprint", name="uq_quarantine_tenant_network_fingerprint"),
    )
    op.create_index("ix_quarantine_status", "quarantine", ["status", "account_id"])
    op.create_table(
        "account_health",
        sa.Column("account_id", Id, sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
        _ts("last_poll_ok_at"),
        _ts("last_webhook_ok_at"),
        sa.Column("last_error", sa.Text),
        _ts("last_error_at"),
        _ts("token_expires_at"),
        sa.PrimaryKeyConstraint("account_id", name="pk_account_health"),
    )
    op.create_table(
        "needs_attention",
        sa.Column("target", sa.String(255), primary_key=True),
        sa.Column("tenant_id", Id, sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("account_id", Id, sa.ForeignKey("accounts.id", ondelete="CASCADE")),
        sa.Column("sink", sa.String(64)),
        sa.Column("reason", sa.Text, nullable=False),
        _ts("since", nullable=False),
        _ts("notified_at"),
        sa.PrimaryKeyConstraint("target", name="pk_needs_attention"),
    )


def downgrade() -> None:
    op.drop_table("needs_attention")
    op.drop_table("account_health")
    op.drop_index("ix_quarantine_status", table_name="quarantine")
    op.drop_table("quarantine")
