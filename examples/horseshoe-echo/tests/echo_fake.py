"""A faithful fake of the echo network (see horseshoe_echo/connector.py for the protocol), as WSGI.

The harness drives it through ``EchoState`` (inject a customer's item, read what the brand posted);
the connector only ever sees HTTP.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Request, Response

MAX_PAGE = 100


class EchoState:
    """Everything on the echo network: items (customers' mentions and DMs, the brand's posts)."""

    def __init__(self, token: str, brand: str = "b1") -> None:
        self.token, self.brand = token, brand
        self.lock = threading.Lock()
        self.items: list[dict[str, Any]] = []

    def reset(self) -> None:
        with self.lock:
            self.items.clear()

    def add(
        self, author: str, handle: str, text: str, *, parent: str | None = None, private: bool = False, to: str = ""
    ) -> dict[str, Any]:
        with self.lock:
            item_id = str(len(self.items) + 1)
            parent_item = next((i for i in self.items if i["id"] == parent), None)
            if parent is not None and parent_item is None:
                raise KeyError(parent)
            item = {
                "id": item_id,
                "author_id": author,
                "author_handle": handle,
                "text": text,
                "parent_id": parent,
                "thread_id": parent_item["thread_id"] if parent_item else item_id,
                "private": private,
                "to": to or self.brand,
                "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
            self.items.append(item)
            return dict(item)

    def posted(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(i) for i in self.items if i["author_id"] == self.brand]


def _error(status: int, message: str) -> Response:
    return Response(json.dumps({"error": message}), status=status, content_type="application/json")


class EchoApp:
    def __init__(self, state: EchoState) -> None:
        self.state = state

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.handle(Request(environ))(environ, start_response)

    def handle(self, request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {self.state.token}":
            return _error(401, "invalid token")
        if request.method == "GET" and request.path == "/api/mentions":
            return self.mentions(request)
        body = request.get_json(silent=True) or {}
        text = body.get("text")
        if not isinstance(text, str) or not text:
            return _error(400, "text is required")
        state = self.state
        if request.method == "POST" and request.path == "/api/posts":
            try:
                item = state.add(state.brand, "brand", text, parent=body.get("in_reply_to"))
            except KeyError:
                return _error(400, "in_reply_to does not exist")
        elif request.method == "POST" and request.path == "/api/messages":
            item = state.add(state.brand, "brand", text, private=True, to=str(body.get("to")))
        else:
            return _error(404, "no such endpoint")
        return Response(json.dumps({"id": item["id"]}), status=201, content_type="application/json")

    def mentions(self, request: Request) -> Response:
        try:
            since = int(request.args.get("since", "0"))
            limit = int(request.args.get("limit", "50"))
        except ValueError:
            return _error(400, "since and limit must be integers")
        if not 1 <= limit <= MAX_PAGE:
            return _error(400, f"limit must be 1..{MAX_PAGE}")
        state = self.state
        with state.lock:
            found = [
                dict(i)
                for i in state.items
                if int(i["id"]) > since and i["to"] == state.brand and i["author_id"] != state.brand
            ]
        body = {"items": found[:limit], "more": len(found) > limit}
        return Response(json.dumps(body), content_type="application/json")
