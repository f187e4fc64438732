"""Values every Bluesky module shares: the network key and the lexicons' datetime format."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from plugin.errors import BadInput

NETWORK = "bluesky"


def as_datetime(value: Any, fallback: Any = None) -> datetime:
    for candidate in (value, fallback):
        if isinstance(candidate, str) and candidate:
            try:
                return datetime.fromisoformat(candidate.replace("Z", "+00:00"))
            except ValueError:
                continue
    raise BadInput("createdAt/indexedAt is missing or not a datetime")
