"""Replies keep every part the network gave back (a reply published as a numbered thread has one id per
part; an agent, a deletion or a handoff must be able to find each of them), and a handoff's private
message remembers the public thread it came from, so the customer's private answer joins that ticket.
Poll cursors get a second position for listening (each account's search) and its next allowed time.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("replies") as batch:
        batch.add_column(sa.Column("parts", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("recipient_id", sa.String(255), nullable=True))
        batch.add_column(sa.Column("handoff_thread", sa.String(512), nullable=True))
    op.create_index("ix_replies_handoff", "replies", ["tenant_id", "network", "recipient_id"])
    with op.batch_alter_table("poll_cursors") as batch:
        batch.add_column(sa.Column("listen_cursor", sa.Text(), nullable=True))
        batch.add_column(sa.Column("next_listen_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("poll_cursors") as batch:
        batch.drop_column("next_listen_at")
        batch.drop_column("listen_cursor")
    op.drop_index("ix_replies_handoff", table_name="replies")
    with op.batch_alter_table("replies") as batch:
        batch.drop_column("handoff_thread")
        batch.drop_column("recipient_id")
        batch.drop_column("parts")
