"""Fake Mastodon instance (REST API subset used by horseshoe and Mastodon.py).

Start it for tests or the demo::

    from sandbox.mastodon import create_app
    from sandbox.server import serve_in_thread

    app = create_app()
    brand = app.state.add_account("brand", token="brand-token")
    customer = app.state.add_account("ann", domain="remote.example")
    app.state.inject_mention(brand["id"], customer["id"], "my order is late", visibility="direct")
    server = serve_in_thread(app)          # Mastodon(access_token="brand-token", api_base_url=server.url)

HTTP control surface: POST /_sandbox/accounts {username, domain?, token?, display_name?},
POST /_sandbox/mentions {to, from, text, visibility?, in_reply_to_id?}, POST /_sandbox/edits
{status_id, text}, GET /_sandbox/accounts/<id>/statuses, POST /_sandbox/settings {max_characters?,
rate_limit?, rate_window?, reset_windows?}, POST /_sandbox/reset, POST /_sandbox/faults (FaultPlan).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from werkzeug.wrappers import Response

from sandbox.faults import FaultMiddleware, FaultPlan

from .models import MastodonState
from .urls import MastodonApp

__all__ = ["MastodonApp", "MastodonState", "create_app"]


def _fault_body(status: int, retry_after: int) -> Response:
    """Injected faults in Mastodon's shape: JSON ``error`` and, for 429, the X-RateLimit-* headers."""
    headers: dict[str, str] = {}
    if status == 429:
        reset = datetime.now(UTC) + timedelta(seconds=retry_after)
        headers = {
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "Retry-After": str(retry_after),
        }
        message = "Too many requests"
    else:
        message = "Service Unavailable" if status == 503 else "Internal Server Error"
    return Response(
        json.dumps({"error": message}), status=status, headers=headers, content_type="application/json"
    )


class _Wrapped(FaultMiddleware):
    """FaultMiddleware that also exposes the state (``app.state``) for tests and the demo."""

    state: MastodonState


def create_app(state: MastodonState | None = None, plan: FaultPlan | None = None) -> _Wrapped:
    state = state or MastodonState()
    app = _Wrapped(MastodonApp(state), plan or FaultPlan(), error_body=_fault_body)
    app.state = state
    return app
