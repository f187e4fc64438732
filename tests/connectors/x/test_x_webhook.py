"""Account Activity webhooks: CRC handshake and event signatures (good and forged)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest

from connectors.x import XConnector
from plugin.connector import InboundRequest
from plugin.errors import BadInput

SECRETS = {"consumer_secret": "cs-secret", "bearer_token": "app"}
BODY = (Path(__file__).resolve().parents[2] / "fixtures" / "x" / "aaa_tweet_create_events.json").read_bytes()


def sig(secret: str, message: bytes) -> str:
    return "sha256=" + base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def post(body: bytes, headers: dict[str, str]) -> InboundRequest:
    return InboundRequest(method="POST", path="/webhooks/x/acme", headers=headers, body=body)


@pytest.fixture
def x() -> XConnector:
    return XConnector()


def test_crc_handshake(x):
    request = InboundRequest(method="GET", path="/webhooks/x/acme", headers={}, body=b"", query={"crc_token": "abc"})
    assert x.verify_request(request, SECRETS)
    result = x.parse_webhook(request, SECRETS)
    assert result.mentions == []
    assert result.handshake is not None
    status, content_type, body = result.handshake
    assert (status, content_type) == (200, "application/json")
    assert json.loads(body) == {"response_token": sig("cs-secret", b"abc")}


def test_crc_prefers_oauth2_client_secret(x):
    request = InboundRequest(method="GET", path="/", headers={}, body=b"", query={"crc_token": "t0k"})
    result = x.parse_webhook(request, {**SECRETS, "client_secret": "client-secret"})
    assert json.loads(result.handshake[2])["response_token"] == sig("client-secret", b"t0k")


def test_crc_without_secret_or_token_is_refused(x):
    assert not x.verify_request(InboundRequest("GET", "/", {}, b"", {"crc_token": "abc"}), {"bearer_token": "a"})
    assert not x.verify_request(InboundRequest("GET", "/", {}, b"", {}), SECRETS)


def test_signed_event_is_accepted_and_parsed(x):
    request = post(BODY, {"X-Twitter-Webhooks-Signature": sig("cs-secret", BODY)})
    assert x.verify_request(request, SECRETS)
    [m] = x.parse_webhook(request, SECRETS).mentions
    assert m.external_id == "1924465506158878979" and m.account == "1603419180975409153"


def test_oauth2_signature_header(x):
    secrets = {"client_secret": "cl", "consumer_secret": "cs-secret"}
    good = post(BODY, {"x-twitter-webhooks-signature-oauth2": sig("cl", BODY)})
    assert x.verify_request(good, secrets)
    # A wrong OAuth2 signature is not rescued by a (valid) legacy header alongside it.
    mixed = post(
        BODY,
        {
            "x-twitter-webhooks-signature-oauth2": sig("other", BODY),
            "x-twitter-webhooks-signature": sig("cs-secret", BODY),
        },
    )
    assert not x.verify_request(mixed, secrets)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-twitter-webhooks-signature": sig("wrong-secret", BODY)},
        {"x-twitter-webhooks-signature": sig("cs-secret", BODY + b" ")},
        {"x-twitter-webhooks-signature": "sha256="},
        {"x-twitter-webhooks-signature": "garbage ✗"},
    ],
)
def test_forged_or_missing_signature_is_refused(x, headers):
    assert not x.verify_request(post(BODY, headers), SECRETS)


def test_tampered_body_is_refused(x):
    tampered = BODY.replace(b"furiouscamper", b"evilcamper")
    assert not x.verify_request(post(tampered, {"x-twitter-webhooks-signature": sig("cs-secret", BODY)}), SECRETS)


def test_other_methods_refused(x):
    assert not x.verify_request(InboundRequest("PUT", "/", {}, b"{}"), SECRETS)


def test_bad_bodies(x):
    with pytest.raises(BadInput, match="not JSON"):
        x.parse_webhook(post(b"\xff\xfe", {}), SECRETS)
    with pytest.raises(BadInput, match="for_user_id"):
        x.parse_webhook(post(b'{"data": []}', {}), SECRETS)
    revoke = b'{"user_event": {"revoke": {"date_time": "2018-05-24T09:48:12+00:00"}}}'
    assert x.parse_webhook(post(revoke, {}), SECRETS).mentions == []


def test_own_tweets_echoed_by_account_activity_are_dropped(x):
    body = json.loads(BODY)
    body["for_user_id"] = "3001969357"  # the author is the subscribed brand itself
    assert x.parse_payload(body) == []
