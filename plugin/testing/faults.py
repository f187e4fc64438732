"""Scripted faults for a connector's fake: "the next call answers 429 / 503 / 400".

A harness must make a fault reach the connector as a real HTTP answer (the conformance suite checks
how the connector classifies it), so the fake's WSGI app is wrapped in this middleware. Networks
whose rate-limit or error answers differ from the defaults pass their own ``answer``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from typing import Any

# (status, retry_after seconds) -> (status line, headers, body)
Answer = Callable[[int, int], tuple[str, list[tuple[str, str]], bytes]]

_REASONS = {400: "Bad Request", 429: "Too Many Requests", 503: "Service Unavailable"}


def json_error_answer(status: int, retry_after: int) -> tuple[str, list[tuple[str, str]], bytes]:
    """``{"error": ...}`` with the status, and ``Retry-After`` on a 429 (the most common convention)."""
    headers = [("Content-Type", "application/json")]
    if status == 429:
        headers.append(("Retry-After", str(retry_after)))
    body = json.dumps({"error": f"scripted fault: HTTP {status}"}).encode()
    return f"{status} {_REASONS.get(status, 'Error')}", headers, body


class ScriptedFaults:
    """WSGI middleware: while statuses are scheduled, each request pops one and gets that answer."""

    def __init__(self, app: Any, answer: Answer = json_error_answer) -> None:
        self.app = app
        self.answer = answer
        self._lock = threading.Lock()
        self._scheduled: list[tuple[int, int]] = []

    def schedule(self, status: int, retry_after: int = 1) -> None:
        with self._lock:
            self._scheduled.append((status, retry_after))

    def clear(self) -> None:
        with self._lock:
            self._scheduled.clear()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        with self._lock:
            fault = self._scheduled.pop(0) if self._scheduled else None
        if fault is None:
            response: Iterable[bytes] = self.app(environ, start_response)
            return response
        status, headers, body = self.answer(*fault)
        start_response(status, [*headers, ("Content-Length", str(len(body)))])
        return [body]
