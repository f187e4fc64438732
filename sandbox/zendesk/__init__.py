"""Fake Zendesk: the Channel Framework (any_channel) side plus the Users/Tickets/Search subset zenpy
uses, and ``ZendeskDriver`` which behaves like Zendesk towards an integration.

``create_app(state=None, plan=None, requests_per_minute=None, settings=None)`` returns the WSGI app
served by ``sandbox.base.FakeService`` (refusals and faults answer in Zendesk's error shape).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, g
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from sandbox.base import FakeService, ServiceSettings
from sandbox.faults import FaultPlan

from .auth import RequestLimiter
from .exceptions import InvalidEndpoint, ZendeskError, fault_body
from .models import ZendeskState
from .responses import ZendeskResponses
from .urls import URL_RULES

__all__ = ["ZendeskState", "create_app"]


def create_flask_app(state: ZendeskState, requests_per_minute: int | None = None, rate_window: float = 60.0) -> Flask:
    app = Flask("sandbox.zendesk")
    limiter = RequestLimiter(requests_per_minute, state.clock, rate_window) if requests_per_minute else None
    handlers = ZendeskResponses(state, limiter)

    @app.after_request
    def _rate_limit_headers(response: Response) -> Response:
        # Zendesk reports the account's limit and what is left of it on every answer it counted.
        response.headers.update(getattr(g, "rate_limit_headers", None) or {})
        return response

    for rule, name, methods in URL_RULES:
        app.add_url_rule(
            rule,
            endpoint=f"{name}:{'/'.join(methods)}:{rule}",
            view_func=getattr(handlers, name),
            methods=list(methods),
        )

    @app.errorhandler(ZendeskError)
    def _zendesk_error(exc: ZendeskError) -> Response:
        return exc.response()

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        if exc.code == 404:
            return InvalidEndpoint().response()
        return ZendeskError({"error": exc.name, "description": exc.description or ""}, status=exc.code).response()

    app.extensions["zendesk_state"] = state
    return app


def create_app(
    state: ZendeskState | None = None,
    plan: FaultPlan | None = None,
    requests_per_minute: int | None = None,
    settings: ServiceSettings | None = None,
    rate_window: float = 60.0,
) -> FakeService[ZendeskState]:
    """The fake Zendesk as a WSGI app. ``requests_per_minute`` turns on Zendesk's per-account limit (429
    with ``Retry-After``; ``X-Rate-Limit`` and ``X-Rate-Limit-Remaining`` on every answer), counted per
    ``rate_window`` seconds (60, as Zendesk; shorter only to scale time down in a benchmark),
    independent of the faults of ``plan`` and of the service-wide budget in ``settings``."""
    state = state if state is not None else ZendeskState()
    app = create_flask_app(state, requests_per_minute, rate_window)
    return FakeService(app, state, plan, settings, error_body=fault_body)
