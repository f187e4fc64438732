"""Token expiry warnings and CRM connection health (issue 15).

``needs_attention.pauses``: a flag for a token that expires soon and that horseshoe cannot renew tells
the admin but does not pause the work (false); refused credentials do (true, as before).
``sink_health``: each tenant's CRM connection's last successful delivery, last error in plain words and,
where the CRM says, when its session or token expires.

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str, **kw: object) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), **kw)  # type: ignore[arg-type]


def upgrade() -> None:
    with op.batch_alter_table("needs_attention") as batch:
        batch.add_column(sa.Column("pauses", sa.Boolean, nullable=False, server_default=sa.true()))
    op.create_table(
        "sink_health",
        sa.Column("tenant_id", Id, sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("sink", sa.String(64), nullable=False),
        _ts("last_ok_at"),
        sa.Column("last_error", sa.Text),
        _ts("last_error_at"),
        _ts("token_expires_at"),
        sa.PrimaryKeyConstraint("tenant_id", "sink", name="pk_sink_health"),
    )


def downgrade() -> None:
    op.drop_table("sink_health")
    with op.batch_alter_table("needs_attention") as batch:
        batch.drop_column("pauses")
