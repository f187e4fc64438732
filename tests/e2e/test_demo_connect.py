"""The demo connects every account through its guided flow, as an admin would, against its own fakes:
what the networks then hold (redirect URIs, the Page's app subscription, Telegram's webhook, VK's
confirmed callback server, the Salesforce refresh token) is what the flows did, and every stored account
has its "connected via connect_flow" audit event."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from plugin.store import tables as t
from sandbox.demo import flows
from sandbox.demo.run import SUBDOMAIN, World, build_world


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    w = build_world(tempfile.mkdtemp(prefix="demo-connect-"), 0, 5, every_network=True, salesforce=True)
    yield w
    w.stop()


def _events(world: World, kind: str) -> list[dict[str, object]]:
    e = t.events.c
    with world.runtime.db.read() as conn:
        return [dict(row) for (row,) in conn.execute(select(e.data).where(e.kind == kind)).all()]


def test_every_account_is_audited_as_connected_through_its_flow(world: World) -> None:
    rt = world.runtime
    tenant_id = rt.store.tenant_id(SUBDOMAIN)
    assert tenant_id is not None
    accounts = rt.store.accounts(tenant_id)
    assert {a.network for a in accounts} == {"x", *(n.name for n in world.networks)}
    connected = _events(world, "account:connected")
    for account in accounts:
        [event] = [e for e in connected if (e["network"], e["external_id"]) == (account.network, account.external_id)]
        assert event["via"] == "connect_flow" and event["actor"] == "demo:operator", account.network
    assert [e["via"] for e in _events(world, "crm:connected")] == ["connect_flow"]
    audit = flows.audit(rt, tenant_id)
    assert audit["not_via_connect_flow"] == [] and len(audit["via_connect_flow"]) == len(accounts) == 8


def test_the_networks_hold_what_the_flows_registered(world: World) -> None:
    rt = world.runtime
    by_name = {n.name: n for n in world.networks}
    meta = by_name["facebook"].harness.app.state
    # One Facebook Login found the Page (Facebook and Messenger) and its Instagram account; the Page is
    # subscribed to the app, and the three share the app's one callback URL.
    assert set(meta.login.subscriptions[by_name["facebook"].harness.account().external_id]) == {
        "feed", "messages", "messaging_postbacks",
    }  # fmt: skip
    assert len({by_name[n].webhook_url for n in flows.META}) == 1
    assert f"/webhooks/app/{SUBDOMAIN}/" in str(by_name["facebook"].webhook_url)
    for name in flows.META:
        _row, context = rt.store.account(by_name[name].account_id) or (None, None)
        assert context is not None and context.credentials["app_secret"] == meta.app_secret
    # Telegram knows horseshoe's URL and the secret token the flow chose.
    telegram = by_name["telegram"]
    _row, context = rt.store.account(telegram.account_id) or (None, None)
    assert context is not None
    webhook = telegram.harness.app.state.webhook
    assert webhook == {"url": telegram.webhook_url, "secret_token": context.credentials["webhook_secret"]}
    # VK asked horseshoe's URL for the confirmation code and got it.
    vk = by_name["vk"]
    (server,) = vk.harness.app.state.callback_servers.values()
    assert server["url"] == vk.webhook_url and server["status"] == "ok"
    # Mastodon: the app horseshoe registered on the instance, with only its own callback.
    mastodon = by_name["mastodon"].harness.app.state
    (app,) = mastodon.oauth_apps.values()
    assert app["redirect_uris"] == [f"{world.web.url}/connect/callback"]
    # Salesforce: the OAuth web-server flow's refresh token is what horseshoe stores.
    assert world.salesforce is not None
    config = rt.store.sink_connection(rt.store.ensure_tenant(SUBDOMAIN), "salesforce")
    assert config is not None and config["auth"] == "oauth" and config["instance_url"] == world.salesforce.base
    assert config["refresh_token"] in world.salesforce.state.refresh_tokens
