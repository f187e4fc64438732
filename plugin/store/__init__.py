"""The durable store: the database is the source of truth, queues only wake workers.

All SQL of horseshoe lives in this package (repositories per aggregate, reached through ``Store``);
the rest of the code sees typed rows and status enums only.
"""

from plugin.store.accounts import AccountRow
from plugin.store.db import Database, utcnow

__all__ = ["AccountRow", "Database", "utcnow"]
