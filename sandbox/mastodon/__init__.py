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
rate_limit?, rate_window?, reset_windows?}, and the common ``/_sandbox`` controls of ``sandbox.base``
(reset, state, faults, latency, rate_limit).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from werkzeug.wrappers import Response

from sandbox.base import FakeService, ServiceSettings, json_response
from sandbox.faults import FaultPlan

from .models import MastodonState
from .urls import MastodonApp

__all__ = ["MastodonApp", "MastodonState", "create_app"]


def _fault_body(status: int, retry_after: int) -> Response:
    """Refusals and injected faults in Mastodon's shape: JSON ``error`` and, for 429, X-RateLimit-*."""
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
    return json_response({"error": message}, status, headers)


def create_app(
    state: MastodonState | None = None, plan: FaultPlan | None = None, settings: ServiceSettings | None = None
) -> FakeService[MastodonState]:
    state = state or MastodonState()
    return FakeService(MastodonApp(state), state, plan, settings, error_body=_fault_body)
