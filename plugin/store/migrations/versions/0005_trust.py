"""Trust model (issue 10): one-time install codes, rotating signing keys, per-tenant revocation.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "install_codes",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("tenant_key", sa.String(255), nullable=False),
        sa.Column("code_hash", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name="pk_install_codes"),
        sa.UniqueConstraint("code_hash", name="uq_install_codes_code_hash"),
    )
    op.create_index("ix_install_codes_tenant_key", "install_codes", ["tenant_key"])
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(32), nullable=False),
        sa.Column("key_enc", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retires_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("kid", name="pk_signing_keys"),
    )
    op.create_table(
        "tenant_generations",
        sa.Column("tenant_key", sa.String(255), nullable=False),
        sa.Column("generation", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_key", name="pk_tenant_generations"),
    )


def downgrade() -> None:
    op.drop_table("tenant_generations")
    op.drop_table("signing_keys")
    op.drop_index("ix_install_codes_tenant_key", table_name="install_codes")
    op.drop_table("install_codes")
