"""Subscription handshake and X-Hub-Signature-256 checks (Getting started with Webhooks)."""

from __future__ import annotations

import pytest

from connectors.facebook import FacebookConnector
from connectors.instagram import InstagramConnector
from connectors.messenger import MessengerConnector
from connectors.meta import sign_body
from plugin.connector import Connector, InboundRequest
from sandbox.meta import DEFAULT_APP_SECRET

from .conftest import VERIFY, post_request, secrets

CONNECTORS: list[Connector] = [FacebookConnector(), MessengerConnector(), InstagramConnector()]


def handshake(token: str, mode: str = "subscribe") -> InboundRequest:
    query = {"hub.mode": mode, "hub.verify_token": token, "hub.challenge": "1158201444"}
    return InboundRequest(method="GET", path="/webhooks/facebook/1", headers={}, body=b"", query=query)


@pytest.mark.parametrize("connector", CONNECTORS, ids=lambda c: c.name)
def test_handshake_good_token_echoes_challenge(connector: Connector) -> None:
    request = handshake(VERIFY)
    assert connector.verify_request(request, secrets())
    result = connector.parse_webhook(request, secrets())
    assert result.handshake == (200, "text/plain", "1158201444")
    assert result.mentions == []


@pytest.mark.parametrize("connector", CONNECTORS, ids=lambda c: c.name)
def test_handshake_bad_token_or_mode_is_refused(connector: Connector) -> None:
    assert not connector.verify_request(handshake("wrong"), secrets())
    assert not connector.verify_request(handshake(VERIFY, mode="unsubscribe"), secrets())
    assert not connector.verify_request(handshake(VERIFY), {"app_secret": DEFAULT_APP_SECRET})  # none configured


@pytest.mark.parametrize("connector", CONNECTORS, ids=lambda c: c.name)
def test_signature_good_forged_missing(connector: Connector) -> None:
    body = b'{"object":"page","entry":[]}'
    assert connector.verify_request(post_request(body, sign_body(DEFAULT_APP_SECRET, body)), secrets())
    assert not connector.verify_request(post_request(body, sign_body("other-secret", body)), secrets())
    assert not connector.verify_request(post_request(body + b" ", sign_body(DEFAULT_APP_SECRET, body)), secrets())
    assert not connector.verify_request(post_request(body, None), secrets())
    assert not connector.verify_request(post_request(body, "sha1=abc"), secrets())
    assert not connector.verify_request(post_request(body, sign_body(DEFAULT_APP_SECRET, body)), {})


def test_signature_header_name_is_case_insensitive() -> None:
    body = b"{}"
    request = InboundRequest(
        method="POST", path="/", headers={"x-hub-signature-256": sign_body(DEFAULT_APP_SECRET, body)}, body=body
    )
    assert FacebookConnector().verify_request(request, secrets())
