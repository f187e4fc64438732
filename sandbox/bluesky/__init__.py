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
{access_ttl?, rate_limit?, rate_window?, reset_windows?}, POST /_sandbox/reset, POST /_sandbox/faults.
"""

from __future__ import annotations

import json
import time

from werkzeug.wrappers import Response

from sandbox.faults import FaultMiddleware, FaultPlan

from .models import BlueskyState
from .urls import BlueskyApp

__all__ = ["BlueskyApp", "BlueskyState", "create_app"]


def _fault_body(status: int, retry_after: int) -> Response:
    """Injected faults in XRPC's shape; a 429 carries the ratelimit-* headers the PDS sends."""
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
    return Response(json.dumps(body), status=status, headers=headers, content_type="application/json")


class _Wrapped(FaultMiddleware):
    """FaultMiddleware that also exposes the state (``app.state``) for tests and the demo."""

    state: BlueskyState


def create_app(state: BlueskyState | None = None, plan: FaultPlan | None = None) -> _Wrapped:
    state = state or BlueskyState()
    app = _Wrapped(BlueskyApp(state), plan or FaultPlan(), error_body=_fault_body)
    app.state = state
    return app
