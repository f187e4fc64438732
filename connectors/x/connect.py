"""Guided connection of an X account: OAuth 2.0 Authorization Code with PKCE, then Account Activity.

The admin types their X app's keys (developer portal > Keys and tokens): the API key and secret are
checked at once by fetching the app-only Bearer token (``POST /oauth2/token``, client credentials), the
OAuth 2.0 client id and secret are used for the PKCE flow: ``x.com/i/oauth2/authorize`` with an S256
``code_challenge``, back with a code, exchanged at ``POST /2/oauth2/token`` (HTTP Basic, the
``code_verifier``); ``GET /2/users/me`` names the account. Activation registers horseshoe's URL as the
app's Account Activity webhook (``POST /2/webhooks``: X checks it with a CRC signed with the API key
secret) and subscribes the account (``POST /2/account_activity/webhooks/:id/subscriptions/all``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from pydantic import Field, SecretStr
from requests.auth import HTTPBasicAuth

from plugin.connectflow import (
    Activation,
    Authorize,
    ConnectContext,
    ConnectFlow,
    FieldProblem,
    FoundAccount,
    Instruction,
    oauth_error,
    pkce_pair,
)
from plugin.connector import AccountContext, ConnectorModel, RenewedCredentials
from plugin.errors import AuthError, RetriableError
from plugin.http import BearerAuth, HttpClient, json_body

from .errors import x_error

DEFAULT_API = "https://api.x.com"
DEFAULT_WWW = "https://x.com"
SCOPES = "tweet.read tweet.write users.read dm.read dm.write offline.access"
_PORTAL = "developer.x.com > Projects & Apps > your app > Keys and tokens"
HTTP = HttpClient("x-connect", error_hook=lambda response, what: x_error(response, what), user_agent="horseshoe-x/0.1")


class XStart(ConnectorModel):
    consumer_key: str = Field(title="API key", description=f"{_PORTAL} > Consumer Keys > API Key.", min_length=5)
    consumer_secret: SecretStr = Field(
        title="API key secret",
        description=f"{_PORTAL} > Consumer Keys > API Key Secret; also answers X's webhook checks (CRC).",
    )
    client_id: str = Field(
        title="OAuth 2.0 client id",
        description=f"{_PORTAL} > OAuth 2.0 Client ID and Client Secret. Add this site's callback "
        "(shown on the next page) under User authentication settings > Callback URI.",
        min_length=5,
    )
    client_secret: SecretStr = Field(title="OAuth 2.0 client secret", description=f"{_PORTAL} > Client Secret.")


class XConnect(ConnectFlow):
    start_model = XStart
    redirects = True
    intro = "Sign in to X as the brand account and authorize your app; horseshoe registers its webhook."

    def begin(self, ctx: ConnectContext) -> Authorize:
        api = (ctx.api_base or DEFAULT_API).rstrip("/")
        key, secret = ctx.values["consumer_key"], ctx.values["consumer_secret"]
        answer = HTTP.send(
            ("connect", api), "POST", f"{api}/oauth2/token", what="X app token",
            data={"grant_type": "client_credentials"}, auth=HTTPBasicAuth(key, secret), check=False, secrets=(secret,),
        )  # fmt: skip
        if answer.status_code in (401, 403):
            raise FieldProblem("consumer_secret", "X refused this API key and secret")
        HTTP.check(answer, "X app token", secrets=(secret,))
        bearer = str(json_body(answer, "X app token", mutating=False)["access_token"])
        verifier, challenge = pkce_pair()
        query = {"response_type": "code", "client_id": ctx.values["client_id"], "redirect_uri": ctx.callback_url,
                 "scope": SCOPES, "state": ctx.state, "code_challenge": challenge,
                 "code_challenge_method": "S256"}  # fmt: skip
        www = (ctx.api_base or DEFAULT_WWW).rstrip("/")
        return Authorize(
            f"{www}/i/oauth2/authorize?{urlencode(query)}",
            carry={"api": api, "verifier": verifier, "bearer": bearer, "consumer_key": key, "consumer_secret": secret,
                   "client_id": ctx.values["client_id"], "client_secret": ctx.values["client_secret"]},
        )  # fmt: skip

    def complete(self, params: Mapping[str, str], carry: Mapping[str, str], ctx: ConnectContext) -> list[FoundAccount]:
        oauth_error(params, "X")
        api = carry["api"]
        form = {"grant_type": "authorization_code", "code": params["code"], "redirect_uri": ctx.callback_url,
                "code_verifier": carry["verifier"], "client_id": carry["client_id"]}  # fmt: skip
        try:
            answer = HTTP.send(
                ("connect", api), "POST", f"{api}/2/oauth2/token", what="X token", data=form, mutating=False,
                auth=HTTPBasicAuth(carry["client_id"], carry["client_secret"]),
                secrets=(carry["client_secret"], params["code"], carry["verifier"]),
            )  # fmt: skip
        except AuthError as exc:
            raise AuthError(f"X refused the OAuth 2.0 client id or secret: {exc}", code="client") from None
        issued = json_body(answer, "X token", mutating=False)
        token = str(issued["access_token"])
        me = self._get(api, "/2/users/me", token)["data"]
        credentials = {"user_access_token": token, "bearer_token": carry["bearer"],
                       "consumer_key": carry["consumer_key"], "consumer_secret": carry["consumer_secret"],
                       **_renewal(issued, carry["client_id"], carry["client_secret"])}  # fmt: skip
        api_base = api if api != DEFAULT_API else None
        return [FoundAccount(str(me["id"]), str(me["username"]), str(me.get("name") or me["username"]), credentials,
                             api_base=api_base)]  # fmt: skip

    @staticmethod
    def _get(api: str, path: str, token: str) -> Any:
        answer = HTTP.send(("connect", api), "GET", f"{api}{path}", what=f"X GET {path}", auth=BearerAuth(token))
        body = json_body(answer, f"X GET {path}", mutating=False)
        if not isinstance(body, dict):
            raise RetriableError(f"X GET {path}: not a JSON object", code="bad_body")
        return body

    def activate(self, account: AccountContext, webhook_url: str) -> Activation:
        api = (account.api_base or DEFAULT_API).rstrip("/")
        bearer = account.credentials["bearer_token"]
        hooks = self._get(api, "/2/webhooks", bearer).get("data") or []
        hook = next((h for h in hooks if isinstance(h, dict) and h.get("url") == webhook_url), None)
        if hook is None:
            answer = HTTP.send(("connect", api), "POST", f"{api}/2/webhooks", what="X POST /2/webhooks",
                               json={"url": webhook_url}, auth=BearerAuth(bearer), mutating=False)  # fmt: skip
            hook = json_body(answer, "X POST /2/webhooks", mutating=False)["data"]
        path = f"/2/account_activity/webhooks/{hook['id']}/subscriptions/all"
        HTTP.send(("connect", api), "POST", f"{api}{path}", what=f"X POST {path}", mutating=False,
                  auth=BearerAuth(account.credentials["user_access_token"]))  # fmt: skip
        return Activation(
            registered=True,
            summary="X checked horseshoe's webhook (CRC) and sends this account's mentions and messages to it.",
            instructions=(Instruction("Webhook URL", webhook_url),),
        )


def _renewal(issued: Mapping[str, Any], client_id: str, client_secret: str) -> dict[str, str]:
    """What renewing the user token needs later: its expiry, the refresh token (``offline.access``) and
    the OAuth 2.0 client that may use it (X's refresh grant authenticates the client, HTTP Basic). Not
    under ``client_secret``: that credential answers webhook CRCs, which X signs with the API key secret."""
    kept: dict[str, str] = {}
    if issued.get("expires_in"):
        expires = datetime.now(UTC) + timedelta(seconds=float(issued["expires_in"]))
        kept["expires_at"] = expires.isoformat(timespec="seconds")
    if issued.get("refresh_token"):
        kept |= {"refresh_token": str(issued["refresh_token"]), "oauth2_client_id": client_id,
                 "oauth2_client_secret": client_secret}
    return kept


def refresh(account: AccountContext) -> RenewedCredentials | None:
    """The refresh grant: ``POST /2/oauth2/token grant_type=refresh_token``. X rotates the refresh token
    (the one used stops working), so the new one is stored with the new access token."""
    given = account.credentials
    client_id, client_secret = given.get("oauth2_client_id", ""), given.get("oauth2_client_secret", "")
    if not (given.get("refresh_token") and client_id and client_secret):
        return None  # connected before renewal existed, or with OAuth 1.0a keys that do not expire
    api = (account.api_base or DEFAULT_API).rstrip("/")
    form = {"grant_type": "refresh_token", "refresh_token": given["refresh_token"], "client_id": client_id}
    try:
        answer = HTTP.send(
            ("renew", api), "POST", f"{api}/2/oauth2/token", what="X token renewal", data=form, mutating=False,
            auth=HTTPBasicAuth(client_id, client_secret), check=False, secrets=(client_secret, given["refresh_token"]),
        )  # fmt: skip
    except AuthError as exc:
        raise AuthError(f"X refused to renew the token: {exc}", code="refresh") from None
    if answer.status_code in (400, 401):
        # invalid_request / invalid_grant: revoked, or already used (X rotates refresh tokens).
        raise AuthError("X refused to renew the token (revoked, or the refresh token was used already); "
                        "reconnect the account", code="refresh")  # fmt: skip
    HTTP.check(answer, "X token renewal", secrets=(client_secret, given["refresh_token"]))
    issued = json_body(answer, "X token renewal", mutating=False)
    kept = _renewal(issued, client_id, client_secret)
    credentials = {**given, "user_access_token": str(issued["access_token"]), **kept}
    expires = datetime.fromisoformat(kept["expires_at"]) if "expires_at" in kept else None
    return RenewedCredentials(credentials, expires)
