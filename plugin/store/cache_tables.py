"""Generation counters that tell every process when a cached copy of some rows went stale (0016).

Kept beside ``tables.py`` on the same ``MetaData``. The ``accounts`` row is bumped by database
triggers on ``accounts`` and ``tenants`` (insert, update, delete; migration 0016), so no writer,
present or future, can change an account without invalidating what the webhook path cached.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, String, Table

from plugin.store.tables import metadata

cache_generations = Table(
    "cache_generations",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("generation", BigInteger, nullable=False, default=0),
)

ACCOUNTS = "accounts"  # brand accounts with their credentials, and the tenant keys they belong to
