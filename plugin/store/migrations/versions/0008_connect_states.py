"""The guided connect flows' OAuth states: single-use, expiring, bound to tenant, actor and browser.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "connect_states",
        sa.Column("nonce_hash", sa.String(64), nullable=False),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("binding_hash", sa.String(64), nullable=False),
        sa.Column("network", sa.String(64), nullable=False),
        sa.Column("carry_enc", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("nonce_hash", name="pk_connect_states"),
    )
    op.create_index("ix_connect_states_expires_at", "connect_states", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_connect_states_expires_at", table_name="connect_states")
    op.drop_table("connect_states")
