"""Solved tickets from Zendesk's incremental ticket event export (zenpy ``tickets.events``).

One request per poll in the usual case: the events since the stored cursor (Unix seconds), keeping
the status changes to ``solved`` or ``closed``. The cursor becomes the newest event's time; events of
that same second are read again next time, which is harmless (a solve is recorded once).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from zenpy.lib.exception import APIException, ZenpyException

from plugin.errors import AuthError, RetriableError
from plugin.sink import Resolution, ResolutionBatch
from plugin.zendesk.rest import has_rest_credentials, zenpy_client

SOLVED = ("solved", "closed")
FIRST_LOOK_BACK = timedelta(days=30)  # the first read of a tenant starts this far back
MAX_EVENTS = 5000  # per poll; the rest is read next time from the cursor


def _child_events(event: Any) -> list[dict[str, Any]]:
    children = getattr(event, "child_events", None) or []
    return [c for c in children if isinstance(c, dict)]


def read_solved(config: Mapping[str, Any], cursor: str | None) -> ResolutionBatch | None:
    if not has_rest_credentials(config):
        return None  # push-only connection: Zendesk cannot be asked, so no resolution figure
    start = int(cursor) if cursor and cursor.isdigit() else int((datetime.now(UTC) - FIRST_LOOK_BACK).timestamp())
    client = zenpy_client(config)
    solved: list[Resolution] = []
    newest = start
    try:
        for n, event in enumerate(client.tickets.events(start_time=start)):
            timestamp = int(getattr(event, "timestamp", 0) or 0)
            newest = max(newest, timestamp)
            for child in _child_events(event):
                if child.get("event_type") == "Change" and child.get("status") in SOLVED:
                    solved.append(Resolution(str(event.ticket_id), datetime.fromtimestamp(timestamp, UTC)))
            if n + 1 >= MAX_EVENTS:
                break
    except APIException as exc:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status in (401, 403):
            raise AuthError(f"Zendesk refused the ticket event export: {exc}") from exc
        raise RetriableError(f"Zendesk ticket event export failed: {exc}") from exc
    except (ZenpyException, requests.RequestException) as exc:
        raise RetriableError(f"Zendesk ticket event export failed: {exc}") from exc
    return ResolutionBatch(solved=solved, cursor=str(newest))
