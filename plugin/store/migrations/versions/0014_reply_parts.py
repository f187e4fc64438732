"""Replies keep every part the network gave back (a reply published as a numbered thread has one id per
part; an agent, a deletion or a handoff must be able to find each of them).

Revision ID: 0014
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("replies") as batch:
        batch.add_column(sa.Column("parts", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("replies") as batch:
        batch.drop_column("parts")
