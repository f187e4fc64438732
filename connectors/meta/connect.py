"""Guided connection of Facebook Pages, Messenger and Instagram accounts through Facebook Login.

The admin types their Meta app's id and secret (checked at once with an app token); Facebook Login
sends them back with a code; horseshoe exchanges it for a user token, then a long-lived one (so the Page
tokens derived from it do not expire), and lists ``/me/accounts``: every Page the admin manages with its
Page token and linked Instagram professional account. ``GET /debug_token`` (with the app's token) then
says when each Page token expires (0: never, as a Page token from a long-lived user token) and when the
app's access to the admin's data expires (90 days after their last login to the app): both are stored
with the credentials, so health, doctor and the admin page show when the admin must log in again
(``MetaWebhookConnector.token_expires_at``). The admin picks which to connect; each Page is
then subscribed to the app's webhooks (``POST /{page-id}/subscribed_apps``). A Meta app has ONE callback
URL: the accounts keep the app id (``webhook_app``), so the host shows the app's one URL
(``/webhooks/app/<tenant>/<app id>``) and the login's one verify token, set once in the App Dashboard.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from pydantic import Field, SecretStr

from plugin.connectflow import (
    Activation,
    Authorize,
    ConnectContext,
    ConnectFlow,
    FieldProblem,
    FoundAccount,
    Instruction,
    oauth_error,
)
from plugin.connector import AccountContext, ConnectorModel
from plugin.errors import AuthError, RetriableError
from plugin.http import BearerAuth, json_body

from .credentials import (
    APP_ID,
    APP_SECRET,
    DATA_ACCESS_EXPIRES_AT,
    EXPIRES_AT,
    IG_USER_ID,
    PAGE_ACCESS_TOKEN,
    PAGE_ID,
    VERIFY_TOKEN,
)
from .graph import DEFAULT_GRAPH_BASE, GRAPH_HTTP, GRAPH_VERSION, GraphClient, appsecret_proof, page_of

DEFAULT_WWW = "https://www.facebook.com"
SCOPES = (
    "pages_show_list", "pages_manage_metadata", "pages_read_engagement", "pages_read_user_content",
    "pages_manage_engagement", "pages_messaging", "instagram_basic", "instagram_manage_comments",
    "instagram_manage_messages", "business_management",
)  # fmt: skip
# The Page webhook fields each connector reads; Instagram's come through the app's "instagram" object.
PAGE_FIELDS = {"facebook": ("feed",), "messenger": ("messages", "messaging_postbacks"), "instagram": ()}
DASHBOARD_FIELDS = {
    "facebook": "Page: feed",
    # Meta has one callback URL per app and object: a Page's Facebook URL also feeds its Messenger account
    # (connectors' webhook_siblings), so the second of the two keeps the first one's URL.
    "messenger": "Page: messages, messaging_postbacks (the app's one callback URL, as for the Page's feed: "
    "horseshoe hands the Page's messages to this account)",
    "instagram": "Instagram: comments, mentions, messages",
}


class MetaStart(ConnectorModel):
    app_id: str = Field(
        title="App id",
        description="Meta for Developers > your app > App settings > Basic > App ID. Add this page's "
        "callback (shown after you continue) under Facebook Login > Settings > Valid OAuth Redirect URIs.",
        pattern=r"^\d{5,20}$",
    )
    app_secret: SecretStr = Field(
        title="App secret",
        description="Meta for Developers > your app > App settings > Basic > App secret. It also verifies "
        "the signatures of the app's webhooks.",
    )


class MetaConnect(ConnectFlow):
    start_model = MetaStart
    redirects = True
    intro = "Log in with Facebook as a Page admin; pick the Pages and Instagram accounts to connect."

    def begin(self, ctx: ConnectContext) -> Authorize:
        graph = (ctx.api_base or DEFAULT_GRAPH_BASE).rstrip("/")
        app_id, secret = ctx.values["app_id"], ctx.values["app_secret"]
        answer = GRAPH_HTTP.send(
            ("connect", graph), "GET", f"{graph}/{GRAPH_VERSION}/oauth/access_token", what="Graph app token",
            params={"client_id": app_id, "client_secret": secret, "grant_type": "client_credentials"},
            check=False, secrets=(secret,),
        )  # fmt: skip
        if answer.status_code >= 400:
            error = _error(answer)
            if error.get("code") == 101:
                raise FieldProblem("app_id", "Meta knows no app with this id")
            if error.get("code") == 1:
                raise FieldProblem("app_secret", "Meta refused this app secret for that app")
            GRAPH_HTTP.check(answer, "Graph app token", secrets=(secret,))
        query = {"client_id": app_id, "redirect_uri": ctx.callback_url, "state": ctx.state,
                 "scope": ",".join(SCOPES), "response_type": "code"}  # fmt: skip
        www = (ctx.api_base or DEFAULT_WWW).rstrip("/")
        return Authorize(
            f"{www}/{GRAPH_VERSION}/dialog/oauth?{urlencode(query)}",
            carry={"app_id": app_id, "app_secret": secret, "graph": graph},
        )

    def complete(self, params: Mapping[str, str], carry: Mapping[str, str], ctx: ConnectContext) -> list[FoundAccount]:
        oauth_error(params, "Facebook")
        graph, secret = carry["graph"], carry["app_secret"]
        client = {"client_id": carry["app_id"], "client_secret": secret}
        short = self._get(
            graph, "oauth/access_token", {**client, "redirect_uri": ctx.callback_url, "code": params["code"]}, secret
        )
        token = str(short["access_token"])
        exchange = {**client, "grant_type": "fb_exchange_token", "fb_exchange_token": token}
        token = str(self._get(graph, "oauth/access_token", exchange, secret, token)["access_token"])
        fields = "id,name,access_token,instagram_business_account{id,username}"
        pages, _after = page_of(self._get(graph, "me/accounts", {"fields": fields}, secret, token), "me/accounts")
        api_base = graph if graph != DEFAULT_GRAPH_BASE else None
        found: list[FoundAccount] = []
        # One verify token for the app's one callback URL: every account this login finds shares it.
        verify_token = secrets.token_urlsafe(24)
        for page in pages:
            credentials = {PAGE_ACCESS_TOKEN: str(page["access_token"]), APP_SECRET: secret,
                           VERIFY_TOKEN: verify_token, PAGE_ID: str(page["id"]), APP_ID: carry["app_id"],
                           **self._expiry(graph, carry["app_id"], secret, str(page["access_token"]))}  # fmt: skip
            for network in ("facebook", "messenger"):
                found.append(
                    FoundAccount(
                        str(page["id"]), None, str(page["name"]), credentials, api_base=api_base, network=network
                    )
                )
            ig = page.get("instagram_business_account")
            if isinstance(ig, dict) and ig.get("id"):
                ig_credentials = {**credentials, IG_USER_ID: str(ig["id"])}
                handle = str(ig.get("username") or ig["id"])
                found.append(FoundAccount(str(ig["id"]), handle, f"{page['name']} on Instagram", ig_credentials,
                                          api_base=api_base, network="instagram"))  # fmt: skip
        return found

    def _expiry(self, graph: str, app_id: str, secret: str, page_token: str) -> dict[str, str]:
        """``debug_token`` of a Page token, asked with the app's token (``{app-id}|{app-secret}``): its
        ``expires_at`` and ``data_access_expires_at`` (epoch seconds), each kept only when it is a real
        time (0 = never). A token Meta calls invalid is refused here, not stored to fail later."""
        answer = self._get(graph, "debug_token", {"input_token": page_token}, secret, f"{app_id}|{secret}")
        found = answer.get("data")
        data: dict[str, Any] = found if isinstance(found, dict) else {}
        if data.get("is_valid") is not True:
            error = data["error"] if isinstance(data.get("error"), dict) else {}
            message, code, subcode = error.get("message") or "no reason given", error.get("code"), error.get("subcode")
            reason = f"{message} (code {code}, subcode {subcode})"
            raise AuthError(f"Meta says the Page token is not valid: {reason}; log in again", code="190")
        kept: dict[str, str] = {}
        for key in (EXPIRES_AT, DATA_ACCESS_EXPIRES_AT):
            value = data.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                kept[key] = str(value)
        return kept

    @staticmethod
    def _get(graph: str, path: str, params: Mapping[str, str], secret: str, token: str | None = None) -> Any:
        what = f"Graph GET /{path}"
        query = dict(params)
        if token:
            query["appsecret_proof"] = appsecret_proof(secret, token)
        hidden = (secret, token, params.get("code"), params.get("input_token"), params.get("fb_exchange_token"))
        response = GRAPH_HTTP.send(
            ("connect", graph), "GET", f"{graph}/{GRAPH_VERSION}/{path}", what=what, params=query,
            auth=BearerAuth(token) if token else None, secrets=hidden,
        )  # fmt: skip
        body = json_body(response, what, mutating=False)
        if not isinstance(body, dict):
            raise RetriableError(f"{what}: not a JSON object", code="bad_body")
        return body

    def activate(self, account: AccountContext, webhook_url: str) -> Activation:
        fields = PAGE_FIELDS.get(account.network, ())
        page_id = account.credentials.get(PAGE_ID) or account.external_id
        registered = False
        if fields:
            client = GraphClient(account)
            current, _after = page_of(client.get(f"{page_id}/subscribed_apps"), "subscribed_apps")
            have = {f for app in current for f in app.get("subscribed_fields") or () if isinstance(f, str)}
            client.post(f"{page_id}/subscribed_apps", {"subscribed_fields": ",".join(sorted(have | set(fields)))})
            registered = True
        where = "Meta for Developers > your app > Webhooks"
        return Activation(
            registered=registered,
            summary=(f"The Page is subscribed to the app's {', '.join(fields)} webhooks. " if fields else "")
            + f"Paste the callback URL and verify token below into {where}, once per app: the one URL serves "
            "every Page and Instagram account of the app (horseshoe hands each its own entries).",
            instructions=(
                Instruction("Callback URL", webhook_url, help=f"{where} > {DASHBOARD_FIELDS[account.network]}"),
                Instruction("Verify token", account.credentials.get(VERIFY_TOKEN, ""), secret=True,
                            help="Type it in the same dialog; Meta sends it back once to check the URL."),
            ),
        )  # fmt: skip


def _error(response: Any) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}
