"""The durable store: the database is the source of truth, queues only wake workers."""

from .db import Database, utcnow

__all__ = ["Database", "utcnow"]
