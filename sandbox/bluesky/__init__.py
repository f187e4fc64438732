"""Fake Bluesky (PDS + app view + chat proxy) speaking XRPC, enough for the atproto SDK's Client.

Start it for tests or the demo::

    from sandbox.bluesky import create_app
    from sandbox.server import serve_in_thread

    app = create_app()
    brand = app.state.add_actor("brand.bsky.sandbox", password="app-pass-1234")
    ann = app.state.add_actor("ann.bsky.sandbox")
    app.state.inject_mention(brand["did"], ann["did"], "my parcel is lost")
    server = serve_in_thread(app)        # atproto.Client(base_url=server.url).login("brand.bsky.sandbox", ...)

HTTP control surface: POST /_sandbox/actors {handle, password?, displayName?, acceptsMessages?},
POST /_sandbox/posts {author, text, mentions?, replyTo?, quote?}, GET /_sandbox/actors/<did>/posts,
GET /_sandbox/actors/<did>/messages, POST /_sandbox/expire {refresh?}, POST /_sandbox/settings
{access_ttl?, rate_limit?, rate_window?, reset_windows?}, and the common ``/_sandbox`` controls of
``sandbox.base`` (reset, state, faults, latency, rate_limit).
"""

from __future__ import annotations

import time

from werkzeug.wrappers import Response

from sandbox.base import FakeService, ServiceSettings, json_response
from sandbox.faults import FaultPlan

from .models import BlueskyState
from .urls import BlueskyApp

__all__ = ["BlueskyApp", "BlueskyState", "create_app"]


def _fault_body(status: int, retry_after: int) -> Response:
    """Refusals and injected faults in XRPC's shape; a 429 carries the ratelimit-* headers the PDS sends."""
    headers: dict[str, str] = {}
    if status == 429:
        headers = {
            "ratelimit-limit": "3000",
            "ratelimit-remaining": "0",
            "ratelimit-reset": str(int(time.time()) + retry_after),
            "ratelimit-policy": "3000;w=300",
            "Retry-After": str(retry_after),
        }
        body = {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}
    elif status == 503:
        body = {"error": "UpstreamFailure", "message": "Service Unavailable"}
    else:
        body = {"error": "InternalServerError", "message": "Internal Server Error"}
    return json_response(body, status, headers)


def create_app(
    state: BlueskyState | None = None, plan: FaultPlan | None = None, settings: ServiceSettings | None = None
) -> FakeService[BlueskyState]:
    state = state or BlueskyState()
    return FakeService(BlueskyApp(state), state, plan, settings, error_body=_fault_body)
