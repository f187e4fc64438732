"""Guided connection of a Bluesky account: handle and app password, the DID resolved.

The handle is resolved to the account's DID (``com.atproto.identity.resolveHandle``), then an app
password session is opened with it (``com.atproto.server.createSession``) and must name the same DID:
the stable id stored is the DID, never the handle. Bluesky has no webhooks; the account is polled.
"""

from __future__ import annotations

from atproto import Client
from atproto_client import exceptions as at_exc
from atproto_client.request import Request
from pydantic import Field, SecretStr

from plugin.connectflow import Activation, ConnectContext, ConnectFlow, FieldProblem, FoundAccount
from plugin.connector import AccountContext, ConnectorModel

from .errors import SDK_ERRORS, is_auth_failure, translate_error
from .parse import DEFAULT_PDS


class BlueskyStart(ConnectorModel):
    handle: str = Field(
        title="Handle",
        description="The brand account's handle, e.g. acme.bsky.social (or its DID).",
        min_length=3,
        max_length=253,
    )
    app_password: SecretStr = Field(
        title="App password",
        description=(
            "bsky.app > Settings > Privacy and security > App passwords > Add App Password (tick direct "
            "messages if agents should answer chats)."
        ),
    )
    api_base: str | None = Field(
        default=None,
        title="PDS (only for a self-hosted server)",
        description="Leave empty for accounts hosted by Bluesky (https://bsky.social).",
    )


class BlueskyConnect(ConnectFlow):
    start_model = BlueskyStart
    intro = "Type the handle and an app password; horseshoe resolves the account's DID and signs in."

    def begin(self, ctx: ConnectContext) -> list[FoundAccount]:
        base = (ctx.values.get("api_base") or ctx.api_base or DEFAULT_PDS).rstrip("/")
        handle = ctx.values["handle"].lstrip("@").lower()
        client = Client(base_url=base, request=Request(timeout=30))
        try:
            did = (
                handle
                if handle.startswith("did:")
                else client.com.atproto.identity.resolve_handle({"handle": handle}).did
            )
        except at_exc.BadRequestError:
            raise FieldProblem("handle", f"no Bluesky account has the handle {handle!r}") from None
        except SDK_ERRORS as exc:
            raise translate_error(exc, posting=False) from exc
        try:
            client.login(did, ctx.values["app_password"], fetch_bsky_profile=False)
            session = client.com.atproto.server.get_session()
        except (at_exc.UnauthorizedError, at_exc.BadRequestError) as exc:
            if is_auth_failure(exc):
                raise FieldProblem("app_password", "Bluesky refused this app password for that handle") from None
            raise translate_error(exc, posting=False) from exc
        except SDK_ERRORS as exc:
            raise translate_error(exc, posting=False) from exc
        if session.did != did:
            raise FieldProblem("handle", f"the handle resolves to {did}, but the password signs in {session.did}")
        try:
            name = client.app.bsky.actor.get_profile({"actor": did}).display_name or session.handle
        except SDK_ERRORS:
            name = session.handle  # the app view is optional for a PDS; the handle names the account well enough
        return [
            FoundAccount(
                external_id=did,
                handle=session.handle,
                name=str(name),
                credentials={"identifier": did, "app_password": ctx.values["app_password"]},
                api_base=base if base != DEFAULT_PDS else None,
            )
        ]

    def activate(self, account: AccountContext, webhook_url: str) -> Activation:
        return Activation(
            registered=False,
            summary="Bluesky sends no webhooks: horseshoe reads this account's notifications by polling.",
            uses_webhook=False,
        )
