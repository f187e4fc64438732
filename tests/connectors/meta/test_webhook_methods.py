"""Meta webhooks are a signed POST or the subscription GET, nothing else (mutation testing, issue 12):
any other method is refused even with a valid signature, and a GET handshake without a challenge
is a 400-class refusal, never an exception."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from connectors.facebook import FacebookConnector
from plugin.connector import InboundRequest
from plugin.errors import BadInput

SECRETS = {"app_secret": "s3cret", "verify_token": "tok"}
BODY = b'{"object": "page", "entry": []}'


def _request(method: str, query: dict[str, str] | None = None) -> InboundRequest:
    signature = "sha256=" + hmac.new(b"s3cret", BODY, hashlib.sha256).hexdigest()
    headers = {"X-Hub-Signature-256": signature}
    return InboundRequest(method=method, path="/webhooks/facebook/k", headers=headers, body=BODY, query=query or {})


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "OPTIONS"])
def test_only_a_signed_post_or_the_handshake_is_believed(method: str) -> None:
    connector = FacebookConnector()
    assert connector.verify_request(_request("post"), SECRETS) is True
    assert connector.verify_request(_request(method), SECRETS) is False


def test_a_handshake_without_a_challenge_is_refused_with_a_reason() -> None:
    connector = FacebookConnector()
    query = {"hub.mode": "subscribe", "hub.verify_token": "tok"}
    assert connector.verify_request(_request("GET", query), SECRETS) is False
    with pytest.raises(BadInput, match=r"hub\.challenge"):
        connector.parse_webhook(_request("GET", query), SECRETS)
    answer = connector.parse_webhook(_request("GET", {**query, "hub.challenge": "c-42"}), SECRETS)
    assert answer.handshake == (200, "text/plain", "c-42")
