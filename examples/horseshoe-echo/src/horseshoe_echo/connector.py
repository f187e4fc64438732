"""A third-party horseshoe connector for "echo", a tiny network this module also serves as a fake.

The echo network: ``GET /api/mentions?since=<id>`` lists items addressed to the brand (ascending ids,
``limit`` per page), ``POST /api/posts`` publishes a public reply, ``POST /api/messages`` a private
one; every call needs ``Authorization: Bearer <token>``. Webhooks carry one item, signed with
HMAC-SHA256 of the raw body in ``X-Echo-Signature``. Errors: ``{"error": "..."}`` with 400/401/429/5xx.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pluggy
import requests
from werkzeug.wrappers import Request, Response

from plugin.connector import AccountContext, Connector, InboundRequest, PollPage, WebhookResult
from plugin.errors import AuthError, BadInput, FatalError, RateLimited, RetriableError
from plugin.models import Author, Kind, Limits, Mention, PostResult, Reply, Visibility
from sandbox.faults import FaultMiddleware, FaultPlan

hookimpl = pluggy.HookimplMarker("horseshoe")
PAGE = 50


# --------------------------------------------------------------------------------------- the fake


class EchoState:
    """Everything on the echo network: users, items (mentions, DMs, our posts)."""

    def __init__(self, token: str = "echo-token", brand: str = "b1") -> None:
        self.token, self.brand = token, brand
        self.lock = threading.Lock()
        self.items: list[dict[str, Any]] = []

    def reset(self) -> None:
        with self.lock:
            self.items.clear()

    def add(
        self,
        author: str,
        handle: str,
        text: str,
        *,
        parent: str | None = None,
        private: bool = False,
        to: str | None = None,
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
        state = self.state
        if request.method == "GET" and request.path == "/api/mentions":
            since = int(request.args.get("since", "0"))
            with state.lock:
                found = [
                    i
                    for i in state.items
                    if int(i["id"]) > since and i["to"] == state.brand and i["author_id"] != state.brand
                ]
            page = found[:PAGE]
            return Response(json.dumps({"items": page, "more": len(found) > PAGE}), content_type="application/json")
        body = request.get_json(silent=True) or {}
        text = body.get("text")
        if not isinstance(text, str) or not text:
            return _error(400, "text is required")
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


def create_app(state: EchoState | None = None, plan: FaultPlan | None = None) -> FaultMiddleware:
    state = state or EchoState()
    app = FaultMiddleware(EchoApp(state), plan or FaultPlan())
    app.state = state  # type: ignore[attr-defined]  # the control surface, as on the built-in fakes
    return app


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# ----------------------------------------------------------------------------------- the connector


class EchoConnector(Connector):
    name = "echo"
    display_name = "Echo (third-party example)"

    def verify_request(self, request: InboundRequest, secrets: Mapping[str, str]) -> bool:
        secret = secrets.get("webhook_secret")
        given = {k.lower(): v for k, v in request.headers.items()}.get("x-echo-signature")
        return bool(secret and given and hmac.compare_digest(given, sign(secret, request.body)))

    def parse_webhook(self, request: InboundRequest, secrets: Mapping[str, str]) -> WebhookResult:
        try:
            body = json.loads(request.body)
        except ValueError as exc:
            raise BadInput("body is not JSON") from exc
        return WebhookResult(mentions=self.parse_payload(body, secrets.get("account")))

    def parse_payload(self, payload: Any, account: str | None = None) -> list[Mention]:
        if not isinstance(payload, dict) or not isinstance(payload.get("items"), list):
            raise BadInput("expected {'items': [...]}")
        try:
            return [self._mention(item, account) for item in payload["items"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise BadInput(f"bad echo item: {exc}") from exc

    @staticmethod
    def _mention(item: Mapping[str, Any], account: str | None) -> Mention:
        private = bool(item.get("private"))
        parent = item.get("parent_id")
        return Mention(
            network="echo",
            external_id=str(item["id"]),
            thread_id=str(item["thread_id"]),
            parent_id=str(parent) if parent else None,
            kind=Kind.DIRECT if private else (Kind.REPLY if parent else Kind.POST),
            visibility=Visibility.PRIVATE if private else Visibility.PUBLIC,
            author=Author(external_id=str(item["author_id"]), handle=item.get("author_handle")),
            text=str(item.get("text", "")),
            created_at=datetime.fromisoformat(str(item["created_at"]).replace("Z", "+00:00")),
            account=account or str(item["to"]),
        )

    # -- HTTP ----------------------------------------------------------------------------------------
    def _call(self, account: AccountContext, method: str, path: str, **kwargs: Any) -> Any:
        token = account.credentials.get("token", "")
        try:
            response = requests.request(
                method,
                f"{account.api_base}{path}",
                timeout=(5, 20),
                headers={"Authorization": f"Bearer {token}"},
                **kwargs,
            )
        except requests.ConnectionError as exc:
            raise RetriableError(f"echo: {type(exc).__name__}") from exc
        if response.status_code == 429:
            raise RateLimited("echo: rate limited", retry_after=float(response.headers.get("Retry-After", "60")))
        if response.status_code >= 500:
            raise RetriableError(f"echo: HTTP {response.status_code}")
        if response.status_code in (401, 403):
            raise AuthError(f"echo: HTTP {response.status_code}", code="auth")
        if response.status_code >= 400:
            raise FatalError(f"echo: HTTP {response.status_code}: {response.text[:200]}", code="bad_request")
        return response.json()

    def poll(self, account: AccountContext, cursor: str | None) -> PollPage:
        # The cursor is the last item id seen; None starts at the beginning of the (tiny) history.
        data = self._call(account, "GET", "/api/mentions", params={"since": cursor or "0"})
        mentions = self.parse_payload(data, account.external_id)
        last = mentions[-1].external_id if mentions else cursor
        return PollPage(mentions=mentions, cursor=last, more=bool(data.get("more")))

    def post_reply(self, account: AccountContext, reply: Reply) -> PostResult:
        if reply.in_reply_to is None:
            raise FatalError("echo: a reply needs in_reply_to", code="no_target")
        data = self._call(account, "POST", "/api/posts", json={"text": reply.text, "in_reply_to": reply.in_reply_to})
        return PostResult(external_id=str(data["id"]))

    def send_private(self, account: AccountContext, reply: Reply) -> PostResult:
        if reply.recipient_id is None:
            raise FatalError("echo: a private reply needs recipient_id", code="no_recipient")
        data = self._call(account, "POST", "/api/messages", json={"text": reply.text, "to": reply.recipient_id})
        return PostResult(external_id=str(data["id"]))

    def limits(self) -> Limits:
        return Limits(max_text_length=500, poll_interval_seconds=5, page_size=PAGE)


@hookimpl
def horseshoe_register_connectors() -> list[Connector]:
    return [EchoConnector()]
