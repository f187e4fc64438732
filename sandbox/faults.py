"""Configurable fault injection shared by every fake service.

Faults are drawn from a seeded RNG so a failing test replays exactly. A test (or the demo) sets rates
through ``FaultPlan`` directly or over HTTP at ``POST /_sandbox/faults``. Drawn at random: 429 with
``Retry-After`` (``rate_429``) and without (``rate_429_bare``), 503 (``rate_5xx``), a held connection
(``rate_timeout``), a reset connection (``rate_reset``) and a slow but correct answer (``rate_slow``).

Besides HTTP statuses, ``scripted`` takes ``"pass"`` (let this request through untouched, so a test can
fail the second of several calls) and two named faults:

- ``"timeout"``: hold the request past the client's read timeout, never calling the service;
- ``"reset"``: close the connection at once (TCP RST), never calling the service;
- ``"drop_after"``: let the service handle the request completely (a comment is created, a message
  sent), then close the connection without answering. The client has sent everything and sees the
  connection die while waiting for the answer: the case where it cannot know whether the write
  happened, which is what makes a naive retry post twice.

A scripted entry may also be a canned answer, ``{"status": 200, "json": {...}}`` or ``{"status": 502,
"text": "<html>...", "content_type": "text/html"}``, sent instead of calling the service: what a
proxy in front of the service, or a service off its documented contract, may answer.
"""

from __future__ import annotations

import io
import json
import random
import socket
import struct
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
    rate_429_bare: float = 0.0  # a 429 without Retry-After: the client must pick its own back-off
    rate_reset: float = 0.0  # the connection is reset before the service sees the request
    rate_slow: float = 0.0  # the service answers, after slow_seconds
    retry_after: int = 1
    timeout_seconds: float = 2.0
    slow_seconds: float = 0.5
    seed: int = 0
    # Only requests whose path starts with one of these are eligible (empty = all but /_sandbox).
    paths: tuple[str, ...] = ()
    # Only requests with one of these methods are eligible (empty = any), e.g. ("POST",) for writes.
    methods: tuple[str, ...] = ()
    # Deterministic faults: the next N eligible requests fail with this status or named fault
    # (e.g. [503, 429, "drop_after", {"status": 200, "json": {}}]; see the module docstring).
    scripted: list[int | str | dict[str, Any]] = field(default_factory=list)
    # Called with each eligible request the service has handled, before its answer leaves: a test
    # lets the world move on between a client's read and its next call, as a stalled client would
    # see it (e.g. another worker takes over work whose lease ran out). Not settable over HTTP.
    after: Callable[[Request], None] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()
        self.injected: dict[str, int] = {
            "429": 0,
            "5xx": 0,
            "timeout": 0,
            DROP_AFTER: 0,
            BARE_429: 0,
            RESET: 0,
            SLOW: 0,
        }

    def configure(self, **values: Any) -> None:
        with self._lock:
            for key, value in values.items():
                if not hasattr(self, key) or key.startswith("_"):
                    raise ValueError(f"unknown fault setting {key!r}")
                if key in ("paths", "methods"):
                    value = tuple(value)
                if key == "after" and value is not None and not callable(value):
                    raise ValueError("after must be a callable (set by a test in the same process)")
                setattr(self, key, value)
            if "seed" in values:
                self._rng = random.Random(self.seed)

    def eligible(self, path: str, method: str | None = None) -> bool:
        if path.startswith("/_sandbox"):
            return False
        if method is not None and self.methods and method.upper() not in self.methods:
            return False
        return not self.paths or any(path.startswith(p) for p in self.paths)

    def draw(self, path: str, method: str | None = None) -> str | int | dict[str, Any] | None:
        """Return None (no fault), a named fault ('timeout', 'drop_after', '429_bare', 'reset', 'slow'),
        an HTTP status to answer with, or a canned answer (a scripted dict)."""
        if not self.eligible(path, method):
            return None
        with self._lock:
            if self.scripted:
                fault = self.scripted.pop(0)
                if fault == PASS:
                    return None
                if fault == DROP_AFTER:
                    self.injected[DROP_AFTER] += 1
                return fault
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
            roll -= self.rate_timeout
            for name, rate in ((BARE_429, self.rate_429_bare), (RESET, self.rate_reset), (SLOW, self.rate_slow)):
                if roll < rate:
                    self.injected[name] += 1
                    return name
                roll -= rate
        return None


DROP_AFTER = "drop_after"
BARE_429 = "429_bare"
RESET = "reset"
SLOW = "slow"
PASS = "pass"

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
        fault = self.plan.draw(request.path, request.method)
        if fault == DROP_AFTER:
            return drop_after(self.app, environ, start_response)
        if fault == "timeout":
            # Hold the connection past the client's timeout, then answer nothing useful.
            time.sleep(self.plan.timeout_seconds)
            return Response("", status=504)(environ, start_response)
        if fault == RESET:
            return reset(environ, start_response)
        if fault == BARE_429:
            refused = self.error_body(429, self.plan.retry_after)
            refused.headers.pop("Retry-After", None)
            return refused(environ, start_response)
        if fault == SLOW:
            time.sleep(self.plan.slow_seconds)
        if isinstance(fault, int):
            return self.error_body(fault, self.plan.retry_after)(environ, start_response)
        if isinstance(fault, dict):
            return canned(fault)(environ, start_response)
        after = self.plan.after
        if after is not None and self.plan.eligible(request.path, request.method):
            # The hook may read the request's body too (a Composite call's subrequests): the service
            # gets its own copy of the bytes.
            body = request.get_data()
            environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
            answer = list(self.app(environ, start_response))
            after(request)
            return answer
        return self.app(environ, start_response)


def canned(answer: dict[str, Any]) -> Response:
    """A scripted answer as given: ``status`` (default 200) and ``json`` or ``text`` (+ ``content_type``)."""
    if "json" in answer:
        return Response(json.dumps(answer["json"]), status=answer.get("status", 200), content_type="application/json")
    content_type = answer.get("content_type", "text/plain")
    return Response(answer.get("text", ""), status=answer.get("status", 200), content_type=content_type)


def reset(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """Drop the connection without an answer, the service never seeing the request."""
    connection = environ.get("werkzeug.socket")
    if connection is None:
        raise RuntimeError("reset needs werkzeug's development server (environ['werkzeug.socket'])")
    # SO_LINGER 0: whatever the server later tries to write is discarded with a RST on close; the
    # client sees its connection die before any status line (requests' ConnectionError).
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.shutdown(socket.SHUT_RDWR)
    start_response("500 RESET", [("Content-Length", "0")])
    return []


def drop_after(app: Any, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """Run ``app`` to completion (its effects happen), then close the connection without an answer.

    The answer is produced and thrown away, so the request body has been read in full and the
    service's state changed before the client learns anything. Closing the socket (FIN) makes the
    client's read of the status line fail: requests raises ``ConnectionError`` (RemoteDisconnected)
    after sending, never ``ConnectTimeout``.
    """
    answer = app(environ, lambda *args, **kwargs: lambda data: None)
    try:
        for _chunk in answer:
            pass  # the answer is what the client must not get
    finally:
        close = getattr(answer, "close", None)
        if close is not None:
            close()
    connection = environ.get("werkzeug.socket")
    if connection is None:
        raise RuntimeError("drop_after needs werkzeug's development server (environ['werkzeug.socket'])")
    connection.shutdown(socket.SHUT_RDWR)
    # The server then fails to write the (empty) answer to a closed socket: werkzeug treats that as a
    # dropped connection and moves on.
    start_response("500 DROPPED", [("Content-Length", "0")])
    return []
