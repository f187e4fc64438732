"""Guided connection of a Mastodon account, on whichever server the admin's account lives.

horseshoe registers itself as an app on that server (``POST /api/v1/apps`` with the host's callback as
the only redirect URI), sends the admin to the server's ``/oauth/authorize``, exchanges the code for a
token (``POST /oauth/token``) and asks ``verify_credentials`` who signed in: the account id and handle
are looked up, never typed (docs.joinmastodon.org/client/token). Mastodon has no webhooks; it is polled.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from mastodon import Mastodon, MastodonAPIError, MastodonNetworkError, MastodonNotFoundError
from pydantic import Field

from plugin.connectflow import (
    Activation,
    Authorize,
    ConnectContext,
    ConnectFlow,
    FieldProblem,
    FoundAccount,
    oauth_error,
)
from plugin.connector import AccountContext, ConnectorModel

from .errors import translate_error

SCOPES = ["read", "write:statuses", "write:media", "write:conversations"]
APP_NAME = "horseshoe"
TIMEOUT = 30.0


class MastodonStart(ConnectorModel):
    api_base: str = Field(
        title="Your Mastodon server",
        description="The address of the server the brand account is on, e.g. https://mastodon.social.",
        min_length=4,
        max_length=512,
    )


class MastodonConnect(ConnectFlow):
    start_model = MastodonStart
    redirects = True
    intro = "Name your server; you sign in there as the brand account and approve horseshoe."

    def begin(self, ctx: ConnectContext) -> Authorize:
        base = (ctx.api_base or ctx.values["api_base"]).rstrip("/")
        try:
            client_id, client_secret = Mastodon.create_app(
                APP_NAME, scopes=SCOPES, redirect_uris=ctx.callback_url, api_base_url=base, request_timeout=TIMEOUT
            )
        except MastodonNetworkError:
            raise FieldProblem("api_base", f"{base} could not be reached") from None
        except MastodonNotFoundError:
            raise FieldProblem("api_base", f"{base} does not answer like a Mastodon server") from None
        except MastodonAPIError as exc:
            raise FieldProblem("api_base", f"{base} refused to register horseshoe: {exc}") from None
        api = _api(base, client_id, client_secret)
        url = api.auth_request_url(
            redirect_uris=ctx.callback_url,
            scopes=SCOPES,
            state=ctx.state,
            skip_server_info=True,
            force_login=True,
            allow_http=base.startswith("http:"),
        )
        return Authorize(url, carry={"base": base, "client_id": client_id, "client_secret": client_secret})

    def complete(self, params: Mapping[str, str], carry: Mapping[str, str], ctx: ConnectContext) -> list[FoundAccount]:
        oauth_error(params, "Mastodon")
        base = carry["base"]
        api = _api(base, carry["client_id"], carry["client_secret"])
        try:
            token = api.log_in(
                code=params["code"], redirect_uri=ctx.callback_url, scopes=SCOPES, allow_http=base.startswith("http:")
            )
            me = api.account_verify_credentials()
        except (MastodonAPIError, MastodonNetworkError) as exc:
            raise translate_error(exc, api, posting=False) from exc
        server = urlsplit(str(me.get("url") or base)).hostname or urlsplit(base).hostname
        return [
            FoundAccount(
                external_id=str(me["id"]),
                handle=f"{me['acct']}@{server}" if "@" not in str(me["acct"]) else str(me["acct"]),
                name=str(me.get("display_name") or me["acct"]),
                credentials={"access_token": token},
                api_base=base,
            )
        ]

    def activate(self, account: AccountContext, webhook_url: str) -> Activation:
        return Activation(
            registered=False,
            summary="Mastodon sends no webhooks: horseshoe reads this account's notifications by polling.",
            uses_webhook=False,
        )


def _api(base: str, client_id: str, client_secret: str) -> Mastodon:
    return Mastodon(
        client_id=client_id, client_secret=client_secret, api_base_url=base, version_check_mode="none",
        request_timeout=TIMEOUT,
    )  # fmt: skip
