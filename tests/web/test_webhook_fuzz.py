"""Fuzz every network's webhook endpoint over HTTP (Flask test client, real connectors, real store).

Unsigned or forged requests must get 401/403 and leave no trace; correctly *signed* garbage must get
a 4xx with a reason (the signature only proves who sent it, not that the body makes sense); nothing
may ever answer 500.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugin.runtime import Runtime, build_runtime
from plugin.web import create_app
from tests.conftest import fast_settings

META_SECRET = "meta-app-secret"
X_SECRET = "x-consumer-secret"
TG_SECRET = "tg-webhook-secret"
VK_SECRET = "vk-callback-secret"
VK_GROUP = "229000001"


def _meta(body: bytes) -> dict[str, str]:
    return {"X-Hub-Signature-256": "sha256=" + hmac.new(META_SECRET.encode(), body, hashlib.sha256).hexdigest()}


def _x(body: bytes) -> dict[str, str]:
    mac = base64.b64encode(hmac.new(X_SECRET.encode(), body, hashlib.sha256).digest()).decode()
    return {"x-twitter-webhooks-signature": f"sha256={mac}"}


def _telegram(_body: bytes) -> dict[str, str]:
    return {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}


# network -> (credentials, settings, sign(body) -> headers)
ACCOUNTS: dict[str, tuple[dict[str, str], dict[str, Any], Callable[[bytes], dict[str, str]]]] = {
    "x": ({"consumer_secret": X_SECRET, "bearer_token": "b"}, {}, _x),
    "facebook": (
        {"app_secret": META_SECRET, "verify_token": "v", "page_access_token": "t", "page_id": "100"},
        {},
        _meta,
    ),
    "messenger": (
        {"app_secret": META_SECRET, "verify_token": "v", "page_access_token": "t", "page_id": "100"},
        {},
        _meta,
    ),
    "instagram": (
        {"app_secret": META_SECRET, "verify_token": "v", "page_access_token": "t", "page_id": "100"},
        {},
        _meta,
    ),
    "telegram": ({"bot_token": "123:abc", "webhook_secret": TG_SECRET}, {"bot_username": "acme_bot"}, _telegram),
    "vk": (
        {"access_token": "t", "secret": VK_SECRET, "confirmation_code": "c0de"},
        {"group_id": VK_GROUP},
        lambda b: {},
    ),
    "mastodon": ({"access_token": "t"}, {}, lambda b: {}),
    "bluesky": ({"identifier": "brand.bsky.social", "app_password": "p"}, {}, lambda b: {}),
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Runtime, FlaskClient, dict[str, str]]]:
    rt = build_runtime(fast_settings(str(tmp_path_factory.mktemp("fuzz"))))
    tenant = rt.store.ensure_tenant("acme")
    keys = {}
    for network, (credentials, account_settings, _sign) in ACCOUNTS.items():
        external = VK_GROUP if network == "vk" else ("100" if network in ("facebook", "messenger") else "555")
        account_id = rt.store.upsert_account(
            tenant, network, external, credentials, settings=account_settings, api_base="http://127.0.0.1:9"
        )
        found = rt.store.account(account_id)
        assert found is not None
        keys[network] = found[0].public_key
    yield rt, create_app(rt).test_client(), keys
    rt.db.dispose()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=15), inner, max_size=5),
    max_leaves=30,
)
shaped = st.fixed_dictionaries(
    {},
    optional={
        "object": st.sampled_from(["page", "instagram", "user"]) | st.text(max_size=8),
        "entry": st.lists(json_values, max_size=3),
        "type": st.sampled_from(["confirmation", "wall_reply_new", "message_new", "wall_post_new"])
        | st.text(max_size=8),
        "object_": json_values,
        "update_id": st.integers(),
        "message": json_values,
        "for_user_id": st.text(max_size=12),
        "tweet_create_events": st.lists(json_values, max_size=2),
        "direct_message_events": st.lists(json_values, max_size=2),
    },
)
bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    shaped.map(lambda v: json.dumps(v).encode()),
)


def _with_vk_secret(body: bytes) -> bytes:
    """VK signs by a field in the body: put the right secret and group into a JSON object body."""
    try:
        value = json.loads(body)
    except ValueError:
        return body
    if isinstance(value, dict):
        value.update(secret=VK_SECRET, group_id=int(VK_GROUP))
        if "object_" in value:
            value["object"] = value.pop("object_")
        return json.dumps(value).encode()
    return body


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    network=st.sampled_from(sorted(ACCOUNTS)),
    body=bodies,
    signed=st.booleans(),
    method=st.sampled_from(["GET", "POST"]),
    query=st.dictionaries(
        st.sampled_from(["hub.mode", "hub.verify_token", "hub.challenge", "crc_token"]),
        st.text(max_size=20),
        max_size=3,
    ),
)
def test_webhook_endpoints_never_500(
    stack: tuple[Runtime, FlaskClient, dict[str, str]], network: str, body: bytes, signed: bool, method: str,
    query: dict[str, str],
) -> None:  # fmt: skip
    rt, client, keys = stack
    before = rt.store.counts()["mentions"]
    if network == "vk" and signed:
        body = _with_vk_secret(body)
    headers = ACCOUNTS[network][2](body) if signed else {}
    response = client.open(
        f"/webhooks/{network}/{keys[network]}", method=method, data=body, headers=headers, query_string=query
    )
    assert response.status_code < 500, (network, response.status_code, response.data[:200])
    if response.status_code >= 400:
        payload = response.get_json()
        assert payload and payload.get("reason"), response.data[:200]
    if not signed and network != "vk":
        # Nothing unsigned gets in (VK's signature is the body's own secret field, tested signed).
        assert response.status_code in (401, 403) or (method == "GET" and response.status_code == 200)
        assert rt.store.counts()["mentions"] == before


def test_signed_handshakes_answer_exactly(stack: tuple[Runtime, FlaskClient, dict[str, str]]) -> None:
    _rt, client, keys = stack
    meta = client.get(
        f"/webhooks/facebook/{keys['facebook']}",
        query_string={"hub.mode": "subscribe", "hub.verify_token": "v", "hub.challenge": "1158201444"},
    )
    assert meta.status_code == 200 and meta.data == b"1158201444"
    wrong = client.get(
        f"/webhooks/facebook/{keys['facebook']}",
        query_string={"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"},
    )
    assert wrong.status_code in (401, 403)
    body = json.dumps({"type": "confirmation", "group_id": int(VK_GROUP), "secret": VK_SECRET}).encode()
    vk = client.post(f"/webhooks/vk/{keys['vk']}", data=body)
    assert vk.status_code == 200 and vk.data == b"c0de"
