"""Forged and absent signatures for every webhook network: 401/403, nothing stored, never a 500.

The body is a well-formed event of each network's shape, so only the signature is wrong.
"""

from __future__ import annotations

import json

import pytest

from plugin.connector import Connector
from tests.web.test_webhook_fuzz import ACCOUNTS, VK_GROUP, stack  # noqa: F401  (shared fixture)

SIGNED_NETWORKS = ["x", "facebook", "messenger", "instagram", "telegram", "vk"]
BODIES = {
    "x": {"for_user_id": "555", "tweet_create_events": [{"id_str": "1", "text": "hi", "user": {"id_str": "9"}}]},
    "facebook": {"object": "page", "entry": [{"id": "100", "time": 1, "changes": []}]},
    "messenger": {"object": "page", "entry": [{"id": "100", "time": 1, "messaging": []}]},
    "instagram": {"object": "instagram", "entry": [{"id": "100", "time": 1, "changes": []}]},
    "telegram": {"update_id": 1, "message": {"message_id": 1, "chat": {"id": 5, "type": "private"}, "text": "hi"}},
    "vk": {"type": "message_new", "group_id": int(VK_GROUP), "object": {"message": {"text": "hi"}}},
}
FORGERIES = {
    "x": {"x-twitter-webhooks-signature": "sha256=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="},
    "facebook": {"X-Hub-Signature-256": "sha256=" + "0" * 64},
    "messenger": {"X-Hub-Signature-256": "sha256=" + "0" * 64},
    "instagram": {"X-Hub-Signature-256": "sha256=" + "0" * 64},
    "telegram": {"X-Telegram-Bot-Api-Secret-Token": "guessed"},
    "vk": {},
}


def test_every_network_with_webhooks_is_covered(stack) -> None:  # noqa: F811
    """A connector that receives webhooks (overrides ``parse_webhook``) and is missing here fails."""
    rt, _client, _keys = stack
    receiving = {
        name for name, connector in rt.registry.connectors.items()
        if type(connector).parse_webhook is not Connector.parse_webhook
    }  # fmt: skip
    assert receiving == set(SIGNED_NETWORKS)
    assert set(SIGNED_NETWORKS) <= set(ACCOUNTS)


HOSTILE = {
    "deeply nested": b"[" * 100_000 + b"]" * 100_000,
    "lone surrogate": b'{"update_id": 1, "type": "\\ud800", "object": "\\ud800"}',
    "not JSON": b"\xff\xfe<xml/>",
}


@pytest.mark.parametrize("network", SIGNED_NETWORKS)
@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_unsigned_hostile_bodies_are_refused_before_parsing(stack, network: str, kind: str) -> None:  # noqa: F811
    """Verify before parse: an unsigned body the parser would choke on is a 401/403, never a 400/500."""
    rt, client, keys = stack
    before = rt.store.counts()["mentions"]
    response = client.post(f"/webhooks/{network}/{keys[network]}", data=HOSTILE[kind], headers=FORGERIES[network])
    assert response.status_code in (401, 403), (network, kind, response.status_code, response.data[:200])
    assert response.get_json()["reason"]
    assert rt.store.counts()["mentions"] == before


@pytest.mark.parametrize("network", SIGNED_NETWORKS)
@pytest.mark.parametrize("how", ["absent", "forged"])
def test_forged_or_absent_signature_is_refused(stack, network: str, how: str) -> None:  # noqa: F811
    rt, client, keys = stack
    body = dict(BODIES[network])
    if network == "vk" and how == "forged":
        body["secret"] = "not-the-secret"
    headers = FORGERIES[network] if how == "forged" else {}
    before = rt.store.counts()["mentions"]
    response = client.post(f"/webhooks/{network}/{keys[network]}", data=json.dumps(body).encode(), headers=headers)
    assert response.status_code in (401, 403), (network, how, response.status_code, response.data[:200])
    assert response.get_json()["reason"]
    assert rt.store.counts()["mentions"] == before


@pytest.mark.parametrize("network", ["mastodon", "bluesky"])
def test_networks_without_webhooks_take_none(stack, network: str) -> None:  # noqa: F811
    _rt, client, keys = stack
    response = client.post(f"/webhooks/{network}/{keys[network]}", data=b"{}")
    assert response.status_code in (401, 403, 404, 405)
