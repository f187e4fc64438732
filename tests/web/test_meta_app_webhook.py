"""A Meta app has ONE callback URL: ``/webhooks/app/<tenant>/<app id>`` verifies the app's signature and
hands the body to every account of the app, each keeping the entries of its own Page (``entry[].id``).
Two Pages under one app, one body with an entry for each; the per-account URLs keep working."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from connectors.meta.webhook import sign_body
from plugin.connect.accounts import activate
from plugin.connect.grant import ConnectGrant
from plugin.runtime import Runtime, build_runtime
from plugin.web import create_app
from tests.conftest import fast_settings

FIXTURE = json.loads((Path(__file__).parents[1] / "fixtures/facebook/feed_comment_add.json").read_text())
APP, SECRET, VERIFY = "4455667788", "the-app-secret", "the-app-verify-token"
PAGES = ("1111111111", "2222222222")


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    runtime = build_runtime(fast_settings(str(tmp_path), public_url="https://horseshoe.example"))
    tenant = runtime.store.ensure_tenant("acme")
    for page in PAGES:  # what the Meta connect flow stores for two Pages of one login
        credentials = {"page_access_token": f"token-{page}", "app_secret": SECRET, "verify_token": VERIFY,
                       "page_id": page, "app_id": APP}  # fmt: skip
        # (a closed local port for the Graph API: activation's subscribed_apps call fails at once)
        runtime.store.upsert_account(
            tenant, "facebook", page, credentials, handle=f"page{page[0]}", api_base="http://127.0.0.1:9"
        )
    other = {"page_access_token": "t", "app_secret": "another-app", "verify_token": "v", "app_id": "9988776655"}
    runtime.store.upsert_account(tenant, "facebook", "3333333333", other, handle="elsewhere")
    yield runtime
    runtime.db.dispose()


def _entry(page: str, comment: str, text: str) -> dict[str, Any]:
    entry = copy.deepcopy(FIXTURE["entry"][0])
    entry["id"] = page
    value = entry["changes"][0]["value"]
    value.update(message=text, post_id=f"{page}_444", parent_id=f"{page}_444", comment_id=f"444_{comment}")
    value["post"]["id"] = f"{page}_444"
    return entry


def _post(client: FlaskClient, url: str, body: dict[str, Any], secret: str = SECRET) -> Any:
    raw = json.dumps(body).encode()
    return client.post(url, data=raw, content_type="application/json",
                       headers={"X-Hub-Signature-256": sign_body(secret, raw)})  # fmt: skip


def test_one_callback_fans_out_to_both_pages_of_the_app(rt: Runtime) -> None:
    client = create_app(rt).test_client()
    body = {"object": "page", "entry": [_entry(PAGES[0], "1", "first page, lost parcel"),
                                        _entry(PAGES[1], "2", "second page, broken lid")]}  # fmt: skip
    answer = _post(client, f"/webhooks/app/acme/{APP}", body)
    assert answer.status_code == 200, answer.data
    assert answer.json == {"received": 2, "new": 2, "duplicates": 0, "accounts": 2}
    by_account = {a.external_id: a.id for a in rt.store.accounts()}
    counts = {h.external_id: h.last_webhook_ok_at is not None for h in rt.store.health.accounts()}
    assert counts == {PAGES[0]: True, PAGES[1]: True, "3333333333": False}  # the other app's Page: untouched
    assert set(by_account) >= set(PAGES)
    again = _post(client, f"/webhooks/app/acme/{APP}", body)
    assert again.json is not None and again.json["duplicates"] == 2 and again.json["new"] == 0


def test_the_app_url_checks_the_signature_and_answers_the_subscription_once(rt: Runtime) -> None:
    client = create_app(rt).test_client()
    body = {"object": "page", "entry": [_entry(PAGES[0], "1", "hello")]}
    assert _post(client, f"/webhooks/app/acme/{APP}", body, secret="forged").status_code == 401
    assert _post(client, "/webhooks/app/acme/1212121212", body).status_code == 404  # no such app here
    assert _post(client, f"/webhooks/app/globex/{APP}", body).status_code == 404  # no such tenant
    query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"}
    check = client.get(f"/webhooks/app/acme/{APP}", query_string=query)
    assert check.status_code == 200 and check.data == b"1158201444"
    wrong = client.get(f"/webhooks/app/acme/{APP}", query_string={**query, "hub.verify_token": "guess"})
    assert wrong.status_code == 401
    assert rt.store.counts()["mentions"] == 0


def test_per_account_urls_keep_working(rt: Runtime) -> None:
    client = create_app(rt).test_client()
    [page] = [a for a in rt.store.accounts() if a.external_id == PAGES[1]]
    body = {"object": "page", "entry": [_entry(PAGES[1], "9", "old install")]}
    answer = _post(client, f"/webhooks/facebook/{page.public_key}", body)
    assert answer.status_code == 200 and answer.json is not None and answer.json["new"] == 1


def test_activation_shows_the_apps_one_url(rt: Runtime) -> None:
    [first, second] = [a for a in rt.store.accounts() if a.external_id in PAGES]
    grant = ConnectGrant(tenant_id=first.tenant_id, tenant="acme", actor="admin:ada", expires=2**40)
    urls = set()
    for account in (first, second):
        done = activate(rt, grant, account.id)
        urls.add(done.webhook_url)
    assert urls == {f"https://horseshoe.example/webhooks/app/acme/{APP}"}


def test_page_and_instagram_bodies_reach_their_own_accounts_at_the_one_url(rt: Runtime) -> None:
    """Meta sends the ``page`` and ``instagram`` objects to the app's one URL: each body is handed to every
    account of the app, and the accounts of the other object find nothing of theirs in it (no 400)."""
    tenant = rt.store.tenant_id("acme")
    assert tenant is not None
    credentials = {"page_access_token": "token-ig", "app_secret": SECRET, "verify_token": VERIFY,
                   "page_id": PAGES[0], "ig_user_id": "17840000000000001", "app_id": APP}  # fmt: skip
    rt.store.upsert_account(tenant, "instagram", "17840000000000001", credentials, handle="acme.ig")
    client = create_app(rt).test_client()
    page_body = {"object": "page", "entry": [_entry(PAGES[0], "5", "a Page comment")]}
    answer = _post(client, f"/webhooks/app/acme/{APP}", page_body)
    assert answer.status_code == 200, answer.data
    assert answer.json == {"received": 1, "new": 1, "duplicates": 0, "accounts": 3}
    message = {"sender": {"id": "4001"}, "recipient": {"id": "17840000000000001"}, "timestamp": 1700000000000,
               "message": {"mid": "ig.mid.1", "text": "an Instagram DM"}}  # fmt: skip
    ig_body = {
        "object": "instagram",
        "entry": [{"id": "17840000000000001", "time": 1700000000, "messaging": [message]}],
    }
    answer = _post(client, f"/webhooks/app/acme/{APP}", ig_body)
    assert answer.status_code == 200, answer.data
    assert answer.json == {"received": 1, "new": 1, "duplicates": 0, "accounts": 3}
    assert rt.store.inbox.find(tenant, "instagram", "ig.mid.1") is not None
    other = {"object": "user", "entry": [{"id": PAGES[0], "time": 1700000000, "changes": []}]}
    assert _post(client, f"/webhooks/app/acme/{APP}", other).status_code == 400  # an object none of them reads
