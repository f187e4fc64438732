"""A 429 without Retry-After pauses its target for an exponential back-off: consecutive ones are
counted per target (``strikes``), shared by every worker, and reset by the next call that succeeds.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rate_pauses") as batch:
        batch.add_column(sa.Column("strikes", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("rate_pauses") as batch:
        batch.drop_column("strikes")
