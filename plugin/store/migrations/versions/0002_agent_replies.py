"""Agent replies found in a CRM: watermark per connection, CRM record id and reporting per reply.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sink_connections") as batch:
        batch.add_column(sa.Column("reply_watermark", sa.Text(), nullable=True))
        batch.add_column(sa.Column("next_reply_poll_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("replies") as batch:
        batch.add_column(sa.Column("remote_id", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_replies_unreported", "replies", ["source", "reported_at"])


def downgrade() -> None:
    op.drop_index("ix_replies_unreported", table_name="replies")
    with op.batch_alter_table("replies") as batch:
        batch.drop_column("reported_at")
        batch.drop_column("remote_id")
    with op.batch_alter_table("sink_connections") as batch:
        batch.drop_column("next_reply_poll_at")
        batch.drop_column("reply_watermark")
