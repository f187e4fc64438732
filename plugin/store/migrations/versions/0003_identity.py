"""Identity resolution: links/suggestions per social profile and the identity audit log.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "identity_links",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", Id, sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("sink", sa.String(64), nullable=False),
        sa.Column("network", sa.String(64), nullable=False),
        sa.Column("author_external_id", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("record_id", sa.String(255)),
        sa.Column("record_type", sa.String(64)),
        sa.Column("confidence", sa.JSON()),
        sa.Column("evidence", sa.JSON()),
        sa.Column("candidates", sa.JSON()),
        sa.Column("profile", sa.JSON()),
        sa.Column("fingerprint", sa.Text()),
        sa.Column("merged", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("tenant_id", "sink", "network", "author_external_id", name="uq_identity_links_profile"),
    )
    op.create_index("ix_identity_links_status", "identity_links", ["tenant_id", "status"])
    op.create_table(
        "identity_audit",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", Id, sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("sink", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("network", sa.String(64), nullable=False),
        sa.Column("author_external_id", sa.String(255), nullable=False),
        sa.Column("record_id", sa.String(255)),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON()),
        sa.Column("details", sa.JSON()),
        sa.Column("reversible", sa.Boolean(), nullable=False),
        sa.Column("undone_by", sa.Integer()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_identity_audit_tenant", "identity_audit", ["tenant_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_identity_audit_tenant", table_name="identity_audit")
    op.drop_table("identity_audit")
    op.drop_index("ix_identity_links_status", table_name="identity_links")
    op.drop_table("identity_links")
