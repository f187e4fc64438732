"""The echo connector: polls mentions and DMs, verifies signed webhooks, posts public and private replies.

The echo network (its fake is ``tests/echo_fake.py``): ``GET /api/mentions?since=<id>&limit=<n>`` lists
items addressed to the brand in ascending id order, with ``more`` when a page is full;
``POST /api/posts`` publishes a public reply, ``POST /api/messages`` a private one; every call needs
``Authorization: Bearer <token>``. A webhook carries ``{"items": [...]}`` signed with HMAC-SHA256 of
the raw body in ``X-Echo-Signature``. Errors are ``{"error": "..."}`` with 400/401/429 (Retry-After)/5xx.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import requests
from pydantic import Field, SecretStr, ValidationError

from plugin.connector import (
    AccountContext,
    Connector,
    ConnectorModel,
    InboundRequest,
    PollPage,
    WebhookResult,
    item_boundary,
)
from plugin.errors import AuthError, BadInput, FatalError, RateLimited, RetriableError
from plugin.models import Author, Kind, Limits, Mention, PostResult, Reply, Visibility

MAX_PAGE = 100


class EchoCredentials(ConnectorModel):
    """What the admin pastes from the echo developer console; stored encrypted by horseshoe."""

    token: SecretStr = Field(title="API token", description="The brand account's bearer token (Settings → API).")
    webhook_secret: SecretStr | None = Field(
        default=None,
        title="Webhook secret",
        description="Signs webhook deliveries; leave empty if you only poll.",
    )


class EchoSettings(ConnectorModel):
    """Per-account choices (not secret)."""

    page_size: int = Field(default=50, ge=1, le=MAX_PAGE, title="Page size", description="Items per poll call.")
    include_direct_messages: bool = Field(
        default=True,
        title="Include direct messages",
        description="Also turn customers' private messages into tickets.",
    )


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class EchoConnector(Connector):
    name = "echo"
    display_name = "Echo (third-party example)"
    credentials_model = EchoCredentials
    settings_model = EchoSettings

    # -- inbound -------------------------------------------------------------------------------------
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
        mentions = []
        for index, item in enumerate(payload["items"]):
            # One unreadable item must not hold up the others: inside the host's quarantine scope it is
            # kept with the error (and can be retried), outside it the error propagates.
            with item_boundary(f"items[{index}]", {"items": [item]}):
                try:
                    mentions.append(self._mention(item, account))
                except (KeyError, TypeError, ValueError) as exc:
                    raise BadInput(f"bad echo item: {exc}") from exc
        return mentions

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
            # The stable numeric user id, never the handle (a handle can change hands).
            author=Author(external_id=str(item["author_id"]), handle=item.get("author_handle")),
            text=str(item.get("text", "")),
            created_at=datetime.fromisoformat(str(item["created_at"]).replace("Z", "+00:00")),
            account=account or str(item["to"]),
        )

    # -- HTTP ----------------------------------------------------------------------------------------
    def _call(self, account: AccountContext, method: str, path: str, **kwargs: Any) -> Any:
        try:
            credentials = EchoCredentials.model_validate(dict(account.credentials))
        except ValidationError as exc:
            # Stored credentials that no longer fit the model: the admin must reconnect the account.
            raise AuthError(f"echo: stored credentials are invalid ({exc.error_count()} errors)", code="auth") from exc
        try:
            response = requests.request(
                method,
                f"{account.api_base}{path}",
                timeout=(5, 20),
                headers={"Authorization": f"Bearer {credentials.token.get_secret_value()}"},
                **kwargs,
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise RetriableError(f"echo: {type(exc).__name__}") from exc
        # The error taxonomy (plugin/errors.py) decides what the host does next: wait, retry, give up.
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
        settings = EchoSettings.model_validate(dict(account.settings))
        # The cursor is the last item id seen; None starts at the beginning of the (tiny) history.
        data = self._call(account, "GET", "/api/mentions", params={"since": cursor or "0", "limit": settings.page_size})
        mentions = self.parse_payload(data, account.external_id)
        # The cursor follows the page as served, so it moves past an item that could not be read.
        items = data.get("items") if isinstance(data, dict) else None
        ids = [str(i["id"]) for i in items or [] if isinstance(i, dict) and "id" in i]
        last = ids[-1] if ids else cursor
        if not settings.include_direct_messages:
            mentions = [m for m in mentions if m.visibility != Visibility.PRIVATE]
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
        return Limits(max_text_length=500, poll_interval_seconds=5, page_size=MAX_PAGE)
