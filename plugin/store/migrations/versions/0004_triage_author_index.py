"""Triage looks up an author's recent mentions (open case, bot loops): index them by author.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_mentions_author", "mentions", ["tenant_id", "network", "author_external_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_mentions_author", table_name="mentions")
