"""Guided connection of a Salesforce org: the OAuth 2.0 web server flow of the admin's connected app.

The admin types the connected app's consumer key and secret and which login host their org uses; the
browser signs in at Salesforce and approves (scopes ``api refresh_token``, with a PKCE challenge), the
code comes back to horseshoe's callback and is exchanged for tokens and the org's ``instance_url``. The
host checks that URL with the egress rule (plugin/egress.py) before storing the connection (auth mode
``oauth`` in plugin/salesforce/connect.py: every later login is a refresh-token grant).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
from pydantic import Field, SecretStr

from plugin.connectflow import Authorize, ConnectContext, ConnectFlow, FoundAccount, oauth_error, pkce_pair
from plugin.connector import ConnectorModel
from plugin.errors import AuthError, RetriableError

SCOPES = "api refresh_token"
TIMEOUT = 30.0


class SalesforceStart(ConnectorModel):
    consumer_key: str = Field(
        title="Consumer key",
        description="Setup > App Manager > your connected app > View > Manage Consumer Details. Add this "
        "site's callback (shown on the next page) as the app's Callback URL; OAuth scopes: api, refresh_token.",
        min_length=10,
    )
    consumer_secret: SecretStr = Field(title="Consumer secret", description="Shown beside the consumer key.")
    domain: str = Field(
        default="login",
        title="Login domain",
        description="login (production and developer orgs), test (sandboxes), or your My Domain, e.g. acme.my",
        pattern=r"^[a-z0-9][a-z0-9-]*(\.my)?$",
        max_length=80,
    )


class SalesforceConnect(ConnectFlow):
    start_model = SalesforceStart
    redirects = True
    intro = "Sign in to your Salesforce org as an admin and approve your connected app."

    def begin(self, ctx: ConnectContext) -> Authorize:
        login = (ctx.api_base or f"https://{ctx.values['domain']}.salesforce.com").rstrip("/")
        verifier, challenge = pkce_pair()
        query = {"response_type": "code", "client_id": ctx.values["consumer_key"], "redirect_uri": ctx.callback_url,
                 "state": ctx.state, "scope": SCOPES, "code_challenge": challenge,
                 "prompt": "login consent"}  # fmt: skip
        return Authorize(f"{login}/services/oauth2/authorize?{urlencode(query)}",
                         carry={"login": login, "verifier": verifier, **ctx.values})  # fmt: skip

    def complete(self, params: Mapping[str, str], carry: Mapping[str, str], ctx: ConnectContext) -> list[FoundAccount]:
        oauth_error(params, "Salesforce")
        form = {"grant_type": "authorization_code", "code": params["code"], "client_id": carry["consumer_key"],
                "client_secret": carry["consumer_secret"], "redirect_uri": ctx.callback_url,
                "code_verifier": carry["verifier"]}  # fmt: skip
        try:
            answer = requests.post(f"{carry['login']}/services/oauth2/token", data=form, timeout=TIMEOUT,
                                   verify=ctx.ca_bundle or True)  # fmt: skip
        except requests.RequestException as exc:
            raise RetriableError(f"salesforce token endpoint unreachable: {exc.__class__.__name__}") from None
        body: Any = answer.json() if answer.headers.get("Content-Type", "").startswith("application/json") else {}
        if answer.status_code != 200 or not isinstance(body, dict) or not body.get("refresh_token"):
            reason = body.get("error_description") if isinstance(body, dict) else None
            raise AuthError(f"Salesforce refused the code: {reason or answer.status_code} (is the 'refresh_token' "
                            "scope allowed for the connected app?)", code="oauth")  # fmt: skip
        instance_url = str(body.get("instance_url") or "")
        org_id = str(body.get("id") or "").rstrip("/").split("/")[-2:-1] or ["?"]
        config = {"auth": "oauth", "consumer_key": carry["consumer_key"], "consumer_secret": carry["consumer_secret"],
                  "refresh_token": str(body["refresh_token"]), "instance_url": instance_url,
                  "domain": carry.get("domain") or "login"}  # fmt: skip
        if ctx.api_base:
            config["login_url"] = carry["login"]  # the operator's override (the sandbox) stays in force
        if ctx.ca_bundle:
            config["ca_bundle"] = ctx.ca_bundle
        host = urlsplit(instance_url).netloc or instance_url
        return [FoundAccount(org_id[0], None, f"Salesforce org {org_id[0]} ({host})", config, api_base=instance_url,
                             network="salesforce")]  # fmt: skip
