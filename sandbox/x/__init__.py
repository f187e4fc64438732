"""A faithful fake of the X API v2 (posts, users, DMs) with a ``/_sandbox`` control surface.

from sandbox.x import create_app
from sandbox.server import serve_in_thread

app = create_app()                       # a sandbox.base FakeService; app.state is the XState
brand = app.state.add_user("acme")       # user-context token "token-acme"
app.state.add_app_token("app-token")     # app-only bearer
alice = app.state.add_user("alice")
app.state.inject_mention("alice", "where is my order?", to_user="acme")
server = serve_in_thread(app)            # server.url -> api_base for the connector
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.wrappers import Request, Response

from sandbox.base import FakeApp, FakeService, ServiceSettings, json_response
from sandbox.faults import FaultPlan

from . import oauth2
from .auth import APP_ONLY, authenticate
from .exceptions import (
    XProblem,
    problem_response,
    rate_limited_response,
    unsupported_authentication,
)
from .models import USER_CONTEXT_ONLY, Window, XState
from .responses import ControlResponses, XResponses
from .urls import url_map

__all__ = ["XSandboxApp", "XState", "create_app"]


def _rate_headers(window: Window) -> dict[str, str]:
    return {
        "x-rate-limit-limit": str(window.limit),
        "x-rate-limit-remaining": str(window.remaining),
        "x-rate-limit-reset": str(window.reset),
    }


class XApi(FakeApp[XState]):
    """The WSGI app proper: route, authenticate, spend rate limit, handle, answer in X's shapes."""

    def __init__(self, state: XState):
        super().__init__(state)
        self.api = XResponses(state)
        self.control = ControlResponses(state)
        self.urls = url_map()

    def dispatch(self, request: Request) -> Response:
        if oauth2.handles(request.path):
            return oauth2.dispatch(self.state, request)
        adapter = self.urls.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except NotFound:
            return problem_response(XProblem(404, "Not Found Error", f"Could not find {request.path}"))
        except MethodNotAllowed:
            return problem_response(XProblem(405, "Method Not Allowed", f"{request.method} not allowed"))
        except HTTPException as exc:
            return problem_response(XProblem(exc.code or 400, "Invalid Request", str(exc.description)))
        kind, _, rest = str(endpoint).partition("|")
        if kind == "control":
            return self._control(rest, request)
        rate_key, _, handler = rest.partition("|")
        return self._api(rate_key, handler, request, args)

    def _api(self, rate_key: str, handler: str, request: Request, args: Mapping[str, Any]) -> Response:
        try:
            principal = authenticate(request, self.state)
        except XProblem as problem:
            return problem_response(problem)
        with self.state.lock:
            self.state.requests[rate_key] += 1
        if principal.user_id is None and rate_key in USER_CONTEXT_ONLY:
            return problem_response(unsupported_authentication(APP_ONLY))
        allowed, window = self.state.take(rate_key, principal)
        headers = _rate_headers(window)
        if not allowed:
            return rate_limited_response(headers)
        try:
            status, body = getattr(self.api, handler)(request, principal, **args)
        except XProblem as problem:
            return problem_response(problem, headers)
        return json_response(body, status, headers)

    def _control(self, handler: str, request: Request) -> Response:
        try:
            status, body = getattr(self.control, handler)(request)
        except (KeyError, ValueError, TypeError) as exc:
            # Harness mistakes (unknown user, missing field) are answered, not crashed on.
            return json_response({"error": f"{type(exc).__name__}: {exc}"}, 400)
        return json_response(body, status)


class XSandboxApp(FakeService[XState]):
    """``XApi`` served with the common controls; refusals and faults answer in X's own shapes."""

    def __init__(self, state: XState, plan: FaultPlan | None = None, settings: ServiceSettings | None = None):
        super().__init__(XApi(state), state, plan, settings)

    def error_response(self, status: int, retry_after: int) -> Response:
        """The documented 429 with rate headers (reset on the fake's clock), problem JSON for 5xx."""
        if status == 429:
            reset = int(self.state.clock()) + retry_after
            headers = {
                "x-rate-limit-limit": "0",
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": str(reset),
                "Retry-After": str(retry_after),
            }
            return rate_limited_response(headers)
        titles = {
            500: "Internal Server Error",
            502: "Bad Gateway",
            503: "Service Unavailable",
            504: "Gateway Timeout",
        }
        title = titles.get(status, "Error")
        return problem_response(XProblem(status, title, title))


def create_app(
    state: XState | None = None, plan: FaultPlan | None = None, settings: ServiceSettings | None = None
) -> XSandboxApp:
    return XSandboxApp(state or XState(), plan, settings)
