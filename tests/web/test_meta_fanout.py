"""One Meta callback URL, one signed ``page`` body: Facebook and Messenger each ingest their part, once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from connectors.meta import sign_body
from plugin.plugins import get_plugin_manager
from plugin.runtime import Runtime, build_runtime
from plugin.store import tables as t
from plugin.web import create_app
from tests.conftest import fast_settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PAGE = "1234567890"
APP_SECRET = "app-secret-shared-by-the-page"


def _credentials(app_secret: str = APP_SECRET) -> dict[str, str]:
    return {"page_access_token": "EAAB", "app_secret": app_secret, "verify_token": "v", "page_id": PAGE}


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    runtime = build_runtime(fast_settings(str(tmp_path)), pm=get_plugin_manager(load_entry_points=False))
    yield runtime
    runtime.db.dispose()


def _body() -> bytes:
    """A feed change and a Messenger message for the same Page in one entry list, as Meta may batch."""
    feed = json.loads((FIXTURES / "facebook" / "feed_comment_add.json").read_text())
    message = json.loads((FIXTURES / "messenger" / "message_text.json").read_text())
    feed["entry"].append(message["entry"][0])
    return json.dumps(feed).encode()


def _stored(rt: Runtime) -> list[tuple[str, str, int]]:
    with rt.db.begin() as conn:
        rows = conn.execute(select(t.mentions.c.network, t.mentions.c.external_id, t.mentions.c.account_id))
        return sorted((r.network, r.external_id, r.account_id) for r in rows)


def _post(client: FlaskClient, network: str, key: str, body: bytes, secret: str = APP_SECRET) -> dict[str, int]:
    response = client.post(
        f"/webhooks/{network}/{key}",
        data=body,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign_body(secret, body)},
    )
    assert response.status_code == 200, response.data
    result: dict[str, int] = response.get_json()
    return result


def test_one_signed_page_body_yields_a_comment_and_a_dm_once_each(rt: Runtime) -> None:
    tenant = rt.store.ensure_tenant("acme")
    facebook = rt.store.upsert_account(tenant, "facebook", PAGE, _credentials())
    messenger = rt.store.upsert_account(tenant, "messenger", PAGE, _credentials())
    client = create_app(rt).test_client()
    fb_key = rt.store.account(facebook)[0].public_key  # type: ignore[index]
    ms_key = rt.store.account(messenger)[0].public_key  # type: ignore[index]
    body = _body()

    assert _post(client, "facebook", fb_key, body) == {"received": 2, "new": 2, "duplicates": 0}
    assert _stored(rt) == [
        ("facebook", "444444444_111111111", facebook),
        ("messenger", "mid.1457764197618:41d102a3e1ae206a38", messenger),
    ]
    # Meta redelivers, or the callback URL is the Messenger account's: nothing is stored twice.
    assert _post(client, "messenger", ms_key, body) == {"received": 2, "new": 0, "duplicates": 2}
    assert len(_stored(rt)) == 2


def test_siblings_are_verified_with_their_own_secret_and_scoped_to_tenant_and_page(rt: Runtime) -> None:
    acme = rt.store.ensure_tenant("acme")
    facebook = rt.store.upsert_account(acme, "facebook", PAGE, _credentials())
    rt.store.upsert_account(acme, "messenger", PAGE, _credentials("another-app"))  # another app: not trusted
    other = rt.store.ensure_tenant("globex")
    rt.store.upsert_account(other, "messenger", PAGE, _credentials())  # another tenant: never reached
    client = create_app(rt).test_client()
    key = rt.store.account(facebook)[0].public_key  # type: ignore[index]

    assert _post(client, "facebook", key, _body()) == {"received": 1, "new": 1, "duplicates": 0}
    assert [network for network, _, _ in _stored(rt)] == ["facebook"]


def test_a_forged_body_reaches_no_sibling(rt: Runtime) -> None:
    tenant = rt.store.ensure_tenant("acme")
    facebook = rt.store.upsert_account(tenant, "facebook", PAGE, _credentials())
    rt.store.upsert_account(tenant, "messenger", PAGE, _credentials())
    key = rt.store.account(facebook)[0].public_key  # type: ignore[index]
    body = _body()
    response = (
        create_app(rt)
        .test_client()
        .post(f"/webhooks/facebook/{key}", data=body, headers={"X-Hub-Signature-256": sign_body("wrong", body)})
    )
    assert response.status_code == 401 and _stored(rt) == []


def test_an_instagram_mention_lookup_that_cannot_reach_graph_is_503_so_meta_retries(rt: Runtime) -> None:
    tenant = rt.store.ensure_tenant("acme")
    ig = "17841405822304914"
    credentials = {**_credentials(), "ig_user_id": ig}
    account = rt.store.upsert_account(tenant, "instagram", ig, credentials, api_base="http://127.0.0.1:9")
    key = rt.store.account(account)[0].public_key  # type: ignore[index]
    body = (FIXTURES / "instagram" / "mentions.json").read_bytes()
    response = (
        create_app(rt)
        .test_client()
        .post(f"/webhooks/instagram/{key}", data=body, headers={"X-Hub-Signature-256": sign_body(APP_SECRET, body)})
    )
    assert response.status_code == 503 and "deliver it again" in response.get_json()["reason"]
    assert _stored(rt) == []
