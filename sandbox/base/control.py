"""The ``/_sandbox/*`` routes every fake answers alike; a fake's own control routes live in its urls.py.

POST /_sandbox/reset        forget all state (the JSON body, if any, goes to ``state.reset`` as options)
GET  /_sandbox/state        ``state.summary()``
GET  /_sandbox/faults       the fault plan's settings and counts (POST: see sandbox/faults.py)
GET|POST /_sandbox/latency  {"seconds": 0.25}: added to every API call
GET|POST /_sandbox/rate_limit {"requests": 100, "window": 60}: a budget per window (null: none)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from .errors import json_response
from .faults import plan_settings

if TYPE_CHECKING:
    from .service import FakeService

Handler = Callable[["FakeService[Any]", dict[str, Any]], Any]


def _reset(service: FakeService[Any], body: dict[str, Any]) -> Any:
    service.reset(**body)
    return {}


def _state(service: FakeService[Any], body: dict[str, Any]) -> Any:
    return service.state.summary()


def _faults(service: FakeService[Any], body: dict[str, Any]) -> Any:
    return plan_settings(service.plan)


def _latency(service: FakeService[Any], body: dict[str, Any]) -> Any:
    if "seconds" in body:
        service.set_latency(float(body["seconds"]))
    return {"seconds": service.settings.latency}


def _rate_limit(service: FakeService[Any], body: dict[str, Any]) -> Any:
    if body:
        requests = body.get("requests")
        window = body.get("window")
        service.set_rate_limit(None if requests is None else int(requests), None if window is None else float(window))
    return {"requests": service.settings.rate_limit, "window": service.settings.rate_window}


ROUTES: dict[tuple[str, str], Handler] = {
    ("POST", "/_sandbox/reset"): _reset,
    ("GET", "/_sandbox/state"): _state,
    ("GET", "/_sandbox/faults"): _faults,
    ("GET", "/_sandbox/latency"): _latency,
    ("POST", "/_sandbox/latency"): _latency,
    ("GET", "/_sandbox/rate_limit"): _rate_limit,
    ("POST", "/_sandbox/rate_limit"): _rate_limit,
}


def action_response(dispatch: Callable[[str, dict[str, Any]], Any], action: str, request: Request) -> Response:
    """A fake's own ``POST /_sandbox/<action>`` when one function dispatches them all: the JSON body goes to
    ``dispatch(action, body)``; an unknown action or a missing field (KeyError) answers 400."""
    body = request.get_json(silent=True)
    try:
        return json_response(dispatch(action, body if isinstance(body, dict) else {}))
    except KeyError as exc:
        return json_response({"error": f"unknown or missing: {exc}"}, 400)


def handle(service: FakeService[Any], request: Request) -> Response | None:
    """Answer one of the common control routes; None when the request is not one of them."""
    handler = ROUTES.get((request.method, request.path.rstrip("/")))
    if handler is None:
        return None
    body = request.get_json(force=True, silent=True) if request.method == "POST" else None
    try:
        return json_response(handler(service, body if isinstance(body, dict) else {}))
    except (TypeError, ValueError) as exc:
        # A caller's mistake (unknown option, a word where a number goes): said, not crashed on.
        return json_response({"error": f"{type(exc).__name__}: {exc}"}, 400)
