"""The durable store: the database is the source of truth, queues only wake workers."""

from plugin.store.db import Database, utcnow

__all__ = ["Database", "utcnow"]
