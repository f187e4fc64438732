"""A generation counter for the accounts the webhook path caches (issue 11): triggers on ``accounts``
and ``tenants`` bump it in the same transaction as any change, so every server process sees a saved,
revoked or deleted credential on its very next request.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

WATCHED = ("accounts", "tenants")
BUMP = "UPDATE cache_generations SET generation = generation + 1 WHERE name = 'accounts'"


def upgrade() -> None:
    op.create_table(
        "cache_generations",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("generation", sa.BigInteger, nullable=False),
    )
    op.execute("INSERT INTO cache_generations (name, generation) VALUES ('accounts', 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION horseshoe_bump_accounts_generation() RETURNS trigger AS $$ "
            f"BEGIN {BUMP}; RETURN NULL; END $$ LANGUAGE plpgsql"
        )
        for table in WATCHED:
            op.execute(
                f"CREATE TRIGGER {table}_cache_generation AFTER INSERT OR UPDATE OR DELETE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION horseshoe_bump_accounts_generation()"
            )
        return
    for table in WATCHED:
        for action in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_cache_generation_{action.lower()} AFTER {action} ON {table} BEGIN {BUMP}; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_cache_generation ON {table}")
        op.execute("DROP FUNCTION IF EXISTS horseshoe_bump_accounts_generation()")
    else:
        for table in WATCHED:
            for action in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_cache_generation_{action}")
    op.drop_table("cache_generations")
