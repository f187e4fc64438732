"""Malformed items in a fake's answers: "this one post has ``lang`` as a list".

The conformance suite's poison check needs one bad item among good ones, exactly as a network might
serve it. ``PoisonItems`` wraps a fake's WSGI app: every JSON answer is walked, and each object that
matches a registered ``match`` (all its keys equal) is served with ``change`` applied. A harness
registers the item it injected (``Harness.poison``) with a change its connector must refuse.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from typing import Any


class PoisonItems:
    """WSGI middleware: serve registered objects of every JSON answer with a malformed change."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._rules: list[tuple[dict[str, Any], dict[str, Any]]] = []

    def add(self, match: Mapping[str, Any], change: Mapping[str, Any]) -> None:
        if not match:
            raise ValueError("a poison rule must match on at least one key")
        with self._lock:
            self._rules.append((dict(match), dict(change)))

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def _apply(self, value: Any, rules: list[tuple[dict[str, Any], dict[str, Any]]]) -> tuple[Any, bool]:
        if isinstance(value, list):
            changed = False
            out = []
            for item in value:
                new, hit = self._apply(item, rules)
                out.append(new)
                changed = changed or hit
            return out, changed
        if not isinstance(value, dict):
            return value, False
        changed = False
        out_map = {}
        for key, item in value.items():
            new, hit = self._apply(item, rules)
            out_map[key] = new
            changed = changed or hit
        for match, change in rules:
            if all(key in out_map and out_map[key] == wanted for key, wanted in match.items()):
                out_map.update(change)
                changed = True
        return out_map, changed

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        with self._lock:
            rules = list(self._rules)
        if not rules:
            answer: Iterable[bytes] = self.app(environ, start_response)
            return answer
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        chunks = self.app(environ, capture)
        try:
            body = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
        if "json" in content_type:
            try:
                document = json.loads(body)
            except ValueError:
                document = None
            if document is not None:
                document, changed = self._apply(document, rules)
                if changed:
                    body = json.dumps(document).encode("utf-8")
        start_response(captured["status"], [*headers, ("Content-Length", str(len(body)))])
        return [body]
