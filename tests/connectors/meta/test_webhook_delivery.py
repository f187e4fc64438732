"""End to end over HTTP: the fake's webhook sender -> a receiver using the connectors' verify/parse."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pluggy
import pytest
import requests
from werkzeug.wrappers import Request, Response

import connectors.facebook
import connectors.instagram
import connectors.messenger
from connectors.facebook import FacebookConnector
from connectors.instagram import InstagramConnector
from connectors.messenger import MessengerConnector
from plugin.connector import Connector, InboundRequest
from plugin.errors import BadInput
from plugin.models import Mention, Reply
from sandbox.meta import DEFAULT_IG_ID, DEFAULT_PAGE_ID
from sandbox.server import RunningServer, serve_in_thread

from .conftest import Meta, secrets

CONNECTORS: dict[str, Connector] = {
    c.name: c for c in (FacebookConnector(), MessengerConnector(), InstagramConnector())
}


class Receiver:
    """A stand-in for horseshoe's webhook endpoint: 401 unless verified, 400 on BadInput."""

    def __init__(self) -> None:
        self.mentions: list[Mention] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        network = request.path.strip("/").split("/")[1]
        inbound = InboundRequest(
            method=request.method,
            path=request.path,
            headers=dict(request.headers),
            body=request.get_data(),
            query=dict(request.args),
        )
        connector = CONNECTORS[network]
        if not connector.verify_request(inbound, secrets()):
            return Response("unauthorized", status=401)(environ, start_response)
        try:
            result = connector.parse_webhook(inbound, secrets())
        except BadInput as exc:
            return Response(str(exc), status=400)(environ, start_response)
        if result.handshake:
            status, content_type, body = result.handshake
            return Response(body, status=status, content_type=content_type)(environ, start_response)
        self.mentions.extend(result.mentions)
        return Response("EVENT_RECEIVED")(environ, start_response)


@pytest.fixture()
def receiver() -> Iterator[tuple[Receiver, RunningServer]]:
    app = Receiver()
    server = serve_in_thread(app)
    try:
        yield app, server
    finally:
        server.stop()


def test_inject_deliver_parse_and_skip_echoes(meta: Meta, receiver: tuple[Receiver, RunningServer]) -> None:
    app, server = receiver
    state = meta.state
    post = state.inject_post(DEFAULT_PAGE_ID, DEFAULT_PAGE_ID, "Our launch")
    comment = state.inject_comment(post, "2001", "Broken on arrival")
    state.edit(comment, "Broken on arrival, order 42")
    feed_status = state.deliver_webhooks(f"{server.url}/webhooks/facebook/{DEFAULT_PAGE_ID}")
    assert feed_status == [200, 200, 200]
    assert [(m.external_id, m.event) for m in app.mentions] == [(comment, "created"), (comment, "edited")]

    # The brand answers publicly; Meta echoes the Page's own comment back, which is skipped.
    FacebookConnector().post_reply(
        meta.account("facebook"),
        Reply(network="facebook", account=DEFAULT_PAGE_ID, text="Sorry!", in_reply_to=comment, idempotency_key="r1"),
    )
    state.delete(comment)
    app.mentions.clear()
    state.deliver_webhooks(f"{server.url}/webhooks/facebook/{DEFAULT_PAGE_ID}")
    assert [(m.external_id, m.event) for m in app.mentions] == [(comment, "deleted")]

    # Messenger: a DM, the brand's answer (echo skipped).
    app.mentions.clear()
    mid = state.inject_message(DEFAULT_PAGE_ID, "3001", "hello?")
    MessengerConnector().send_private(
        meta.account("messenger"),
        Reply(network="messenger", account=DEFAULT_PAGE_ID, text="Hi!", recipient_id="3001", idempotency_key="r2"),
    )
    state.deliver_webhooks(f"{server.url}/webhooks/messenger/{DEFAULT_PAGE_ID}")
    assert [m.external_id for m in app.mentions] == [mid]

    # Instagram comment through the HTTP control surface, delivered over HTTP too.
    app.mentions.clear()
    media = requests.post(
        f"{meta.server.url}/_sandbox/inject/ig_media", json={"ig_id": DEFAULT_IG_ID, "caption": "drop"}, timeout=5
    ).json()["id"]
    ig_comment = requests.post(
        f"{meta.server.url}/_sandbox/inject/ig_comment",
        json={"media_id": media, "author_id": "4001", "text": "size?"},
        timeout=5,
    ).json()["id"]
    answer = requests.post(
        f"{meta.server.url}/_sandbox/deliver",
        json={"url": f"{server.url}/webhooks/instagram/{DEFAULT_IG_ID}"},
        timeout=10,
    ).json()
    assert answer["statuses"] == [200]
    assert [m.external_id for m in app.mentions] == [ig_comment]
    posted = requests.get(f"{meta.server.url}/_sandbox/posted", timeout=5).json()["data"]
    assert [p["kind"] for p in posted] == ["comment", "message"]


def test_wrong_app_secret_is_rejected_and_kept_queued(meta: Meta, receiver: tuple[Receiver, RunningServer]) -> None:
    _app, server = receiver
    meta.state.inject_message(DEFAULT_PAGE_ID, "3002", "hi")
    assert meta.state.deliver_webhooks(f"{server.url}/webhooks/messenger/x", app_secret="wrong") == [401]
    assert len(meta.state.pending_webhooks()) == 1


def test_handshake_through_http(receiver: tuple[Receiver, RunningServer]) -> None:
    _app, server = receiver
    ok = requests.get(
        f"{server.url}/webhooks/facebook/1",
        params={"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "42"},
        timeout=5,
    )
    assert (ok.status_code, ok.text) == (200, "42")
    bad = requests.get(
        f"{server.url}/webhooks/facebook/1",
        params={"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "42"},
        timeout=5,
    )
    assert bad.status_code == 401


def test_modules_are_pluggy_plugins() -> None:
    pm = pluggy.PluginManager("horseshoe")
    from plugin import hookspecs

    pm.add_hookspecs(hookspecs)
    for module in (connectors.facebook, connectors.messenger, connectors.instagram):
        pm.register(module)
    names = sorted(c.name for batch in pm.hook.horseshoe_register_connectors() for c in batch)
    assert names == ["facebook", "instagram", "messenger"]
    for connector in CONNECTORS.values():
        assert connector.limits().max_text_length in (8000, 2000, 1000)
