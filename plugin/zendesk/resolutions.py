"""Solved tickets from Zendesk's incremental ticket event export (``/api/v2/incremental/ticket_events``).

One request per poll in the usual case: the events since the stored cursor (Unix seconds), keeping
the status changes to ``solved`` or ``closed``. The cursor becomes the newest event's time; events of
that same second are read again next time, which is harmless (a solve is recorded once).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from plugin.errors import AuthError, RetriableError
from plugin.http import retry_after_seconds
from plugin.sink import Resolution, ResolutionBatch
from plugin.zendesk.rest import has_rest_credentials, zenpy_client

SOLVED = ("solved", "closed")
FIRST_LOOK_BACK = timedelta(days=30)  # the first read of a tenant starts this far back
MAX_EVENTS = 5000  # per poll; the rest is read next time from the cursor


def _solves(event: Mapping[str, Any]) -> list[Resolution]:
    timestamp = int(event.get("timestamp") or 0)
    out = []
    for child in event.get("child_events") or []:
        if isinstance(child, dict) and child.get("event_type") == "Change" and child.get("status") in SOLVED:
            out.append(Resolution(str(event.get("ticket_id")), datetime.fromtimestamp(timestamp, UTC)))
    return out


def read_solved(config: Mapping[str, Any], cursor: str | None) -> ResolutionBatch | None:
    """The solves since ``cursor``, through zenpy's authenticated session (zenpy's own generator for
    this endpoint does not expose ``end_time``). Pages are followed until ``end_of_stream``."""
    if not has_rest_credentials(config):
        return None  # push-only connection: Zendesk cannot be asked, so no resolution figure
    start = int(cursor) if cursor and cursor.isdigit() else int((datetime.now(UTC) - FIRST_LOOK_BACK).timestamp())
    client = zenpy_client(config)
    session = client.users.session
    url: str | None = f"https://{config['subdomain']}.zendesk.com/api/v2/incremental/ticket_events.json"
    params: dict[str, Any] | None = {"start_time": start}
    solved: list[Resolution] = []
    newest, seen = start, 0
    try:
        while url and seen < MAX_EVENTS:
            response = session.get(url, params=params, timeout=30)
            if response.status_code in (401, 403):
                raise AuthError(f"Zendesk refused the ticket event export: HTTP {response.status_code}")
            if response.status_code == 429 or response.status_code >= 500:
                raise RetriableError(f"Zendesk ticket event export: HTTP {response.status_code}",
                                     retry_after=retry_after_seconds(response))  # fmt: skip
            if response.status_code != 200:
                raise RetriableError(f"Zendesk ticket event export: HTTP {response.status_code}")
            body = response.json()
            events = [e for e in body.get("ticket_events") or [] if isinstance(e, dict)]
            for event in events:
                newest = max(newest, int(event.get("timestamp") or 0))
                solved.extend(_solves(event))
            seen += len(events)
            url, params = (
                (None, None) if body.get("end_of_stream", True) or not events else (body.get("next_page"), None)
            )
    except (requests.RequestException, ValueError) as exc:
        raise RetriableError(f"Zendesk ticket event export failed: {exc}") from exc
    return ResolutionBatch(solved=solved, cursor=str(newest))
