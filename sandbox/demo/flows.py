"""What the demo's admin types into each network's guided connect flow, and sets up at the network first.

One entry per flow (``sandbox/demo/connect.py`` walks them all the same way):

- X: the app's keys; OAuth 2.0 with PKCE on X's consent page; the Account Activity webhook (CRC).
- Meta: the app id and secret; ONE Facebook Login picks the Page (its Facebook and Messenger accounts)
  and its Instagram account; each Page is subscribed to the app (``subscribed_apps``).
- Mastodon: the server's address; horseshoe registers itself there and the brand signs in (OAuth).
- Bluesky: the handle and an app password (``resolveHandle``, ``createSession``).
- Telegram: the bot token (``getMe``, then ``setWebhook`` with a fresh secret token).
- VK: the community token (and the service token listening needs); VK confirms the callback server.
- Salesforce: the connected app's consumer key and secret; the OAuth web-server flow on the org.

Before that, as in the networks' consoles, the admin lists horseshoe's callback among the app's redirect
URIs (X, Meta) or Callback URLs (Salesforce); the operator points the flows at the fakes
(``connect_api_bases``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sqlalchemy import select

from plugin.runtime import Runtime
from plugin.store import tables as t
from sandbox.bluesky.harness import BSKY_HANDLE, BSKY_PASSWORD
from sandbox.demo.connect import Connected, Flow, allow_api_bases, connect
from sandbox.meta import DEFAULT_PAGE_ID
from sandbox.meta.harness import MetaHarness
from sandbox.networks import Harness
from sandbox.salesforce.org import RunningOrg
from sandbox.telegram.harness import TG_TOKEN
from sandbox.vk.search import SERVICE_TOKEN
from sandbox.x.models import XState
from sandbox.zendesk.models import ZendeskState

META = ("facebook", "messenger", "instagram")  # one Meta app, one login: the three are connected at once
PAGE_ADMIN = ("5550001", "Ada Admin")  # the Facebook user who manages the brand's Page
# Settings the demo's admin changes after connecting (the account's settings form): fast polling, and
# Bluesky chats (opt-in: the app password has DM access). VK's long poll returns at once (no traffic wait).
DEMO_SETTINGS: dict[str, dict[str, Any]] = {
    "facebook": {"timeout_seconds": 2.0},
    "messenger": {"timeout_seconds": 2.0},
    "instagram": {"timeout_seconds": 2.0},
    "bluesky": {"chat_enabled": True},
    "vk": {"poll_wait": 0},
}


def callback(web_url: str) -> str:
    return f"{web_url}/connect/callback"


def network_flows(runtime: Runtime, web_url: str, harnesses: Mapping[str, Harness]) -> list[Flow]:
    """The flows connecting the brand's account on every network of ``harnesses`` (Meta's: once)."""
    allow_api_bases(runtime, {n: h.url for n, h in harnesses.items() if n != "mastodon"})  # Mastodon: typed
    flows: list[Flow] = []
    meta = next((harnesses[n] for n in META if n in harnesses), None)
    if isinstance(meta, MetaHarness):
        state = meta.state
        state.login.redirect_uris.add(callback(web_url))  # the app's Valid OAuth Redirect URIs
        state.login.add_admin(*PAGE_ADMIN, [DEFAULT_PAGE_ID])
        # The admin ticks every account the login found: the Page on Facebook and Messenger, and Instagram.
        flows.append(Flow("facebook", {"app_id": state.login.app_id, "app_secret": state.app_secret}, PAGE_ADMIN[0]))
    if "mastodon" in harnesses:
        mastodon: Any = harnesses["mastodon"]
        flows.append(Flow("mastodon", {"api_base": mastodon.url}, consent_user=str(mastodon.brand["id"])))
    if "bluesky" in harnesses:
        flows.append(Flow("bluesky", {"handle": BSKY_HANDLE, "app_password": BSKY_PASSWORD}))
    if "telegram" in harnesses:
        flows.append(Flow("telegram", {"bot_token": TG_TOKEN}))
    if "vk" in harnesses:
        token = harnesses["vk"].app.state.access_token
        flows.append(Flow("vk", {"access_token": token, "search_token": SERVICE_TOKEN}))
    return flows


def connect_x(runtime: Runtime, web_url: str, tenant_id: int, x: XState, x_url: str, user_id: str) -> Connected:
    """The brand's X account: OAuth 2.0 with PKCE (``offline.access``) and the Account Activity webhook."""
    developer = x.developer
    developer.callback_urls.add(callback(web_url))  # the app's Callback URI in X's developer portal
    allow_api_bases(runtime, {"x": x_url})
    keys = {"consumer_key": developer.consumer_key, "consumer_secret": developer.consumer_secret,
            "client_id": developer.client_id, "client_secret": developer.client_secret}  # fmt: skip
    (account,) = connect(runtime, web_url, tenant_id, Flow("x", keys, consent_user=user_id))
    return account


SF_CONSUMER = ("3MVG9demoConsumerKey", "demo-consumer-secret")  # the connected app the Salesforce admin made


def connect_salesforce(runtime: Runtime, web_url: str, tenant_id: int, org: RunningOrg) -> None:
    """The org, through the OAuth 2.0 web-server flow on its connected app; then the admin's one change:
    agents' replies are looked for every half second (the demo's pace)."""
    app = org.state.register_app(*SF_CONSUMER, org_id=org.org_id)
    app.callback_urls.add(callback(web_url))  # the connected app's Callback URL
    allow_api_bases(runtime, {"salesforce": org.base})
    runtime.settings = replace(runtime.settings, connect_ca_bundle=org.cert)  # the fake's own certificate
    start = {"consumer_key": app.consumer_key, "consumer_secret": app.consumer_secret, "domain": "login"}
    connect(runtime, web_url, tenant_id, Flow("salesforce", start, verify=org.cert))
    config = runtime.store.sink_connection(tenant_id, "salesforce")
    assert config is not None
    runtime.store.set_sink_connection(tenant_id, "salesforce", {**config, "reply_poll_seconds": 0.5})


def zendesk_rest_access(runtime: Runtime, zd_state: ZendeskState, subdomain: str, tenant_id: int) -> None:
    """The admin also gives horseshoe an API token (the admin UI's optional REST fields): horseshoe
    reads solved tickets from Zendesk's ticket events with it."""
    with zd_state.lock:
        admin = next(u for u in zd_state.account(subdomain).users.values() if u.role == "admin")
    config = runtime.store.sink_connection(tenant_id, "zendesk")
    assert config is not None
    token = zd_state.issue_api_token(subdomain, admin.id)
    runtime.store.set_sink_connection(tenant_id, "zendesk", {**config, "api_email": admin.email, "api_token": token})


def audit(runtime: Runtime, tenant_id: int) -> dict[str, list[str]]:
    """What the audit trail says about how the tenant's accounts and CRM connections came to be: each
    account is listed under ``via_connect_flow`` only if a guided flow stored it ("via": "connect_flow")."""
    e = t.events.c
    kinds = ("account:connected", "account:reconnected", "crm:connected")
    with runtime.db.read() as conn:
        rows = conn.execute(select(e.kind, e.data).where(e.tenant_id == tenant_id, e.kind.in_(kinds))).all()
    flowed = [dict(data) for _kind, data in rows if dict(data).get("via") == "connect_flow"]
    stored = {(str(d.get("network")), str(d.get("external_id"))) for d in flowed}
    accounts = runtime.store.accounts(tenant_id)
    flowed_accounts = [a for a in accounts if (a.network, a.external_id) in stored]
    return {
        "via_connect_flow": sorted(f"{a.network}:{a.handle or a.external_id}" for a in flowed_accounts),
        "crm_via_connect_flow": sorted({str(d["sink"]) for d in flowed if d.get("sink")}),
        "not_via_connect_flow": sorted(f"{a.network}:{a.external_id}" for a in accounts if a not in flowed_accounts),
    }
