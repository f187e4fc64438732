"""Guided connection of a VK community: its access token is all an admin types.

``groups.getById`` (no id: the token's own community) proves the token and names the community; its
Callback API confirmation string is fetched (``groups.getCallbackConfirmationCode``) and stored before
horseshoe's URL is added as a callback server (``groups.addCallbackServer`` with a fresh secret key: VK
asks the URL to confirm at once) and the events horseshoe reads are switched on
(``groups.setCallbackSettings``). Nothing is left to paste into VK.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from pydantic import Field, SecretStr

from plugin.connectflow import Activation, ConnectContext, ConnectFlow, FieldProblem, FoundAccount, Instruction
from plugin.connector import AccountContext, ConnectorModel
from plugin.errors import AuthError, FatalError, RetriableError

from .config import VKCredentials

Call = Callable[..., Any]  # VKConnector._call(account, method, params, mutating=...)
SERVER_TITLE = "horseshoe"  # VK allows 14 characters
# The Callback API events the connector reads (connectors/vk/parse.py).
EVENTS = ("message_new", "message_edit", "wall_reply_new", "wall_reply_edit", "wall_reply_restore", "wall_reply_delete")


class VKStart(ConnectorModel):
    access_token: SecretStr = Field(
        title="Community access token",
        description="vk.com > your community > Manage > API usage > Access tokens > Create token, with "
        "community management, messages and wall rights.",
    )
    # Listening's newsfeed.search refuses community tokens, and VK cannot hand out the app's service token
    # from the community one: an admin who wants listening pastes it here too (optional; stored as is).
    search_token: SecretStr | None = Field(
        default=None,
        title=VKCredentials.model_fields["search_token"].title,
        description=VKCredentials.model_fields["search_token"].description,
    )


class VKConnect(ConnectFlow):
    start_model = VKStart
    intro = "Paste a community token; horseshoe finds the community and sets up its Callback API server."

    def __init__(self, call: Call, api_version: str) -> None:
        self.call = call
        self.api_version = api_version

    def begin(self, ctx: ConnectContext) -> list[FoundAccount]:
        token = ctx.values["access_token"]
        probe = AccountContext("vk", "0", credentials={"access_token": token}, api_base=ctx.api_base)
        try:
            answer = self.call(probe, "groups.getById", {}, mutating=False)
        except AuthError:
            raise FieldProblem("access_token", "VK refused this token: create a community token again") from None
        groups = answer.get("groups") if isinstance(answer, dict) else answer
        if not isinstance(groups, list) or not groups or not isinstance(groups[0], dict):
            raise FieldProblem("access_token", "this is not a community token (VK names no community for it)")
        group = groups[0]
        group_id = int(group["id"])
        probe = AccountContext("vk", str(group_id), credentials={"access_token": token}, api_base=ctx.api_base)
        try:
            code = self.call(probe, "groups.getCallbackConfirmationCode", {"group_id": group_id}, mutating=False)
        except FatalError:
            raise FieldProblem("access_token", "this token may not manage the community (needs 'manage')") from None
        return [
            FoundAccount(
                external_id=str(group_id),
                handle=str(group.get("screen_name") or "") or None,
                name=str(group.get("name") or group_id),
                credentials={
                    "access_token": token,
                    "secret": secrets.token_hex(16),  # the Callback API secret key: letters and digits only
                    "confirmation_code": str(code["code"]),
                    **({"search_token": ctx.values["search_token"]} if ctx.values.get("search_token") else {}),
                },
                settings={"group_id": group_id},
                api_base=ctx.api_base,
            )
        ]

    def activate(self, account: AccountContext, webhook_url: str) -> Activation:
        group_id = int(account.settings.get("group_id") or account.external_id)
        servers = self.call(account, "groups.getCallbackServers", {"group_id": group_id}, mutating=False)
        existing = [s for s in servers.get("items", []) if isinstance(s, dict) and s.get("url") == webhook_url]
        if existing:
            server_id = int(existing[0]["id"])
        else:
            added = self.call(
                account, "groups.addCallbackServer",
                {"group_id": group_id, "url": webhook_url, "title": SERVER_TITLE,
                 "secret_key": account.credentials["secret"]},
                mutating=True,
            )  # fmt: skip
            server_id = int(added["server_id"])
        events = {event: 1 for event in EVENTS}
        settings = {"group_id": group_id, "server_id": server_id, "api_version": self.api_version, **events}
        self.call(account, "groups.setCallbackSettings", settings, mutating=True)
        servers = self.call(account, "groups.getCallbackServers", {"group_id": group_id}, mutating=False)
        status = next((s.get("status") for s in servers.get("items", []) if s.get("id") == server_id), None)
        if status != "ok":
            raise RetriableError(f"VK could not confirm horseshoe's address (server status {status!r})")
        return Activation(
            registered=True,
            summary="VK confirmed horseshoe's Callback API server and sends it the community's comments and messages.",
            instructions=(Instruction("Webhook URL", webhook_url),),
        )
