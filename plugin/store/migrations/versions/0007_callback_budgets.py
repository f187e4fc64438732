"""Byte budgets of unauthenticated callbacks (``/zendesk/events``), shared by every server process:
one row per tenant key and one-minute window.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "callback_budgets",
        sa.Column("budget_key", sa.String(255), primary_key=True),
        sa.Column("window_start", sa.BigInteger, primary_key=True),
        sa.Column("used", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("callback_budgets")
