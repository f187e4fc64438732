"""State of the fake Salesforce: orgs, users, connected apps, sessions, records, API usage.

Everything a test or the demo needs to arrange or inspect is a method of ``SalesforceState``; the HTTP
handlers in ``responses.py`` and the ``/_sandbox`` control endpoints call the same methods.
"""

from .entities import (
    DEFAULT_API_LIMIT,
    SESSION_TTL,
    Checkpoint,
    ConnectedApp,
    DuplicateRule,
    Org,
    Session,
    StoredRecord,
    User,
    WriteOptions,
)
from .state import SalesforceState
from .writes import duplicates_detected

__all__ = [
    "DEFAULT_API_LIMIT",
    "SESSION_TTL",
    "Checkpoint",
    "ConnectedApp",
    "DuplicateRule",
    "Org",
    "SalesforceState",
    "Session",
    "StoredRecord",
    "User",
    "WriteOptions",
    "duplicates_detected",
]
