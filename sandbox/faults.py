"""Configurable fault injection shared by every fake service.

Faults are drawn from a seeded RNG so a failing test replays exactly. A test (or the demo) sets rates
through ``FaultPlan`` directly or over HTTP at ``POST /_sandbox/faults``.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request, Response


@dataclass
class FaultPlan:
    rate_429: float = 0.0
    rate_5xx: float = 0.0
    rate_timeout: float = 0.0
    retry_after: int = 1
    timeout_seconds: float = 2.0
    seed: int = 0
    # Only requests whose path starts with one of these are eligible (empty = all but /_sandbox).
    paths: tuple[str, ...] = ()
    # Deterministic faults: the next N eligible requests fail with this status (e.g. [503, 429]).
    scripted: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()
        self.injected: dict[str, int] = {"429": 0, "5xx": 0, "timeout": 0}

    def configure(self, **values: Any) -> None:
        with self._lock:
            for key, value in values.items():
                if not hasattr(self, key) or key.startswith("_"):
                    raise ValueError(f"unknown fault setting {key!r}")
                if key == "paths":
                    value = tuple(value)
                setattr(self, key, value)
            if "seed" in values:
                self._rng = random.Random(self.seed)

    def eligible(self, path: str) -> bool:
        if path.startswith("/_sandbox"):
            return False
        return not self.paths or any(path.startswith(p) for p in self.paths)

    def draw(self, path: str) -> str | int | None:
        """Return None (no fault), 'timeout', or an HTTP status to answer with."""
        if not self.eligible(path):
            return None
        with self._lock:
            if self.scripted:
                return self.scripted.pop(0)
            roll = self._rng.random()
            if roll < self.rate_429:
                self.injected["429"] += 1
                return 429
            roll -= self.rate_429
            if roll < self.rate_5xx:
                self.injected["5xx"] += 1
                return 503
            roll -= self.rate_5xx
            if roll < self.rate_timeout:
                self.injected["timeout"] += 1
                return "timeout"
        return None


ErrorBody = Callable[[int, int], Response]


def default_error_body(status: int, retry_after: int) -> Response:
    body = '{"error": "injected fault"}' if status != 429 else '{"error": "Too Many Requests"}'
    headers = {"Retry-After": str(retry_after)} if status == 429 else {}
    return Response(body, status=status, headers=headers, content_type="application/json")


class FaultMiddleware:
    """WSGI middleware that injects faults before the wrapped app sees the request.

    ``error_body`` lets each service answer faults in its own documented error format.
    """

    def __init__(self, app: Any, plan: FaultPlan, error_body: ErrorBody = default_error_body):
        self.app = app
        self.plan = plan
        self.error_body = error_body

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        if request.path == "/_sandbox/faults" and request.method == "POST":
            try:
                self.plan.configure(**(request.get_json(force=True) or {}))
            except (ValueError, TypeError) as exc:
                return Response(str(exc), status=400)(environ, start_response)
            return Response("{}", content_type="application/json")(environ, start_response)
        fault = self.plan.draw(request.path)
        if fault == "timeout":
            # Hold the connection past the client's timeout, then answer nothing useful.
            time.sleep(self.plan.timeout_seconds)
            return Response("", status=504)(environ, start_response)
        if isinstance(fault, int):
            return self.error_body(fault, self.plan.retry_after)(environ, start_response)
        return self.app(environ, start_response)
