"""``SalesforceState``: the fake Salesforce's whole state, assembled in layers.

``core`` (orgs, users, apps, sessions, API usage, reads, cursors) -> ``writes`` (record writes and
transactions); the dataclasses they hold are in ``entities``.
"""

from __future__ import annotations

from .writes import WritesState


class SalesforceState(WritesState):
    """All fake orgs. Thread-safe: one lock guards every mutation (the WSGI server is threaded)."""
