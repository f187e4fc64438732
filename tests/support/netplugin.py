"""A minimal third-party-style connector plugin ("testnet") used to exercise the host in isolation.

It is a real plugin (registered through the same hooks a third party uses); its "network" is a list
in memory, with switches to make the next post fail in each way the error taxonomy knows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import pluggy
from pydantic import Field, SecretStr

from plugin.connector import AccountContext, Connector, ConnectorModel, InboundRequest, PollPage, WebhookResult
from plugin.errors import BadInput, FatalError, OutcomeUnknown, RetriableError
from plugin.models import Author, Limits, Mention, PostResult, Reply

hookimpl = pluggy.HookimplMarker("horseshoe")


def make_mention(
    external_id: str,
    *,
    author: str = "u1",
    parent: str | None = None,
    thread: str | None = None,
    text: str = "hello @brand",
    account: str = "brand",
    kind: str = "post",
    visibility: str = "public",
) -> Mention:
    return Mention(
        network="testnet",
        external_id=external_id,
        parent_id=parent,
        thread_id=thread or parent or external_id,
        kind=kind,  # type: ignore[arg-type]
        visibility=visibility,  # type: ignore[arg-type]
        author=Author(external_id=author, handle=f"h{author}", name=f"Name {author}"),
        text=text,
        created_at=datetime(2026, 11, 1, 12, 0, tzinfo=UTC),
        url=f"https://testnet.example/{external_id}",
        account=account,
    )


class TestNetCredentials(ConnectorModel):
    secret: SecretStr | None = Field(default=None, title="Webhook secret", description="Sent as X-Test-Secret.")


class TestNetConnector(Connector):
    __test__ = False
    name = "testnet"
    display_name = "Test network"
    credentials_model = TestNetCredentials

    def __init__(self) -> None:
        self.posted: list[Reply] = []
        self.pages: list[PollPage] = []
        self.fail_next: list[Exception] = []
        self.poll_fail_next: list[Exception] = []
        # Runs inside post_reply before the post lands: the network is slow, and the test makes the
        # rest of the world move meanwhile.
        self.before_post: Callable[[], None] | None = None
        self.polled_with: list[str | None] = []  # the cursor handed to each poll, in order
        self._lock = threading.Lock()

    def verify_request(self, request: InboundRequest, secrets: Mapping[str, str]) -> bool:
        return request.headers.get("X-Test-Secret") == secrets.get("secret")

    def parse_webhook(self, request: InboundRequest, secrets: Mapping[str, str]) -> WebhookResult:
        import json

        try:
            body = json.loads(request.body)
        except ValueError as exc:
            raise BadInput("body is not JSON") from exc
        return WebhookResult(mentions=self.parse_payload(body, secrets.get("account")))

    def parse_payload(self, payload: Any, account: str | None = None) -> list[Mention]:
        if not isinstance(payload, dict) or not isinstance(payload.get("items"), list):
            raise BadInput("expected {'items': [...]}")
        try:
            return [
                make_mention(
                    str(i["id"]),
                    author=str(i.get("author", "u1")),
                    parent=i.get("parent"),
                    text=str(i.get("text", "hi")),
                    account=account or "brand",
                )
                for i in payload["items"]
            ]
        except (KeyError, TypeError) as exc:
            raise BadInput(f"bad item: {exc}") from exc

    def poll(self, account: AccountContext, cursor: str | None) -> PollPage:
        with self._lock:
            self.polled_with.append(cursor)
            if self.poll_fail_next:
                raise self.poll_fail_next.pop(0)
            if self.pages:
                return self.pages.pop(0)
        return PollPage(mentions=[], cursor=cursor)

    def post_reply(self, account: AccountContext, reply: Reply) -> PostResult:
        if self.before_post is not None:
            self.before_post()
        with self._lock:
            if self.fail_next:
                raise self.fail_next.pop(0)
            self.posted.append(reply)
            return PostResult(external_id=f"r{len(self.posted)}", url=f"https://testnet.example/r{len(self.posted)}")

    send_private = post_reply

    def limits(self) -> Limits:
        return Limits(max_text_length=500, poll_interval_seconds=1)


class TestNetPlugin:
    """One plugin instance per test, so no state leaks between tests."""

    __test__ = False

    def __init__(self) -> None:
        self.connector = TestNetConnector()

    @hookimpl
    def horseshoe_register_connectors(self) -> list[Connector]:
        return [self.connector]


__all__ = ["FatalError", "OutcomeUnknown", "RetriableError", "TestNetConnector", "TestNetPlugin", "make_mention"]
