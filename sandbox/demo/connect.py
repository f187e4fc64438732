"""The demo connects its X account the way an admin would: through horseshoe's guided connect flow.

Headlessly, against the demo's own X fake: the connect pages are driven with the web app's test client
(it keeps the browser-binding cookie, as a browser does), the fake's consent page with ``requests``, as
the admin's browser would submit it. X sees the OAuth 2.0 PKCE flow (with ``offline.access``: the token
renews itself) and the Account Activity registration with its CRC check; horseshoe stores the account,
audited as connected "via connect_flow". Nothing is inserted by hand.
"""

from __future__ import annotations

import re
from dataclasses import replace
from html import unescape
from urllib.parse import parse_qsl, urlsplit

import requests
from flask import Flask

from plugin.connect.grant import mint_connect_grant
from plugin.runtime import Runtime
from sandbox.x.models import XState

ACTOR = "demo:operator"


class ConnectFailed(RuntimeError):
    pass


def _value(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]+)"', html)
    if found is None:
        raise ConnectFailed(f"the connect page has no {name!r} field: {html[-400:]}")
    return unescape(found.group(1))


def connect_x(
    runtime: Runtime, app: Flask, web_url: str, x_state: XState, x_url: str, tenant_id: int, user_id: str
) -> int:
    """Connect ``user_id``'s X account to the tenant through the guided flow; the stored account's id."""
    developer = x_state.developer
    developer.callback_urls.add(f"{web_url}/connect/callback")  # the app's Callback URI in X's portal
    bases = ",".join(b for b in (runtime.settings.connect_api_bases, f"x={x_url}") if b)
    runtime.settings = replace(runtime.settings, connect_api_bases=bases)
    client = app.test_client()
    start = {"consumer_key": developer.consumer_key, "consumer_secret": developer.consumer_secret,
             "client_id": developer.client_id, "client_secret": developer.client_secret}  # fmt: skip
    grant = mint_connect_grant(runtime, tenant_id, ACTOR)
    form = {"grant": grant, "action": "begin", **{f"start.{k}": v for k, v in start.items()}}
    page = client.post("/connect/x", data=form).get_data(as_text=True)
    found = re.search(r'id="authorize" href="([^"]+)"', page)
    if found is None:
        raise ConnectFailed(f"X's flow did not offer to authorize: {page[-400:]}")
    authorize = unescape(found.group(1))
    consent = requests.post(
        authorize.split("?")[0],
        data={**dict(parse_qsl(urlsplit(authorize).query)), "decision": "approve", "sandbox_user": user_id},
        allow_redirects=False,
        timeout=10,
    )
    back = dict(parse_qsl(urlsplit(consent.headers.get("Location", "")).query))
    pick = client.get("/connect/callback", query_string=back).get_data(as_text=True)
    saved = client.post("/connect/save", data={"grant": _value(pick, "grant"), "sealed": _value(pick, "sealed"),
                                               "pick": "0"})  # fmt: skip
    if saved.status_code != 200:
        raise ConnectFailed(f"storing the X account failed: {saved.get_data(as_text=True)[-400:]}")
    account = runtime.store.find_account(tenant_id, "x", user_id)
    if account is None:
        raise ConnectFailed("the X flow stored no account")
    return account[0].id
