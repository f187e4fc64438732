"""Guided connection of a Telegram bot: the bot token is all an admin types.

``getMe`` proves the token and tells the bot's id and username; a fresh ``secret_token`` is generated
and ``setWebhook`` registers horseshoe's URL with it, so every update carries the secret header
(Bot API, "setWebhook"). Nothing is left to paste anywhere.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from pydantic import Field, SecretStr

from plugin.connectflow import Activation, ConnectContext, ConnectFlow, FieldProblem, FoundAccount, Instruction
from plugin.connector import AccountContext, ConnectorModel
from plugin.errors import AuthError

if TYPE_CHECKING:
    from .connector import TelegramConnector


class TelegramStart(ConnectorModel):
    bot_token: SecretStr = Field(
        title="Bot token",
        description="The token @BotFather gave when the bot was created (/newbot, or /token to see it again).",
    )


class TelegramConnect(ConnectFlow):
    start_model = TelegramStart
    intro = "Paste the bot's token from @BotFather; horseshoe checks it and registers its webhook."

    def __init__(self, connector: TelegramConnector) -> None:
        self.connector = connector

    def begin(self, ctx: ConnectContext) -> list[FoundAccount]:
        token = ctx.values["bot_token"]
        probe = AccountContext(
            "telegram", token.split(":", 1)[0], credentials={"bot_token": token}, api_base=ctx.api_base
        )
        try:
            me = self.connector.get_me(probe)
        except AuthError:
            raise FieldProblem(
                "bot_token", "Telegram does not know this token: copy it again from @BotFather"
            ) from None
        if not me.get("is_bot"):
            raise FieldProblem("bot_token", "this token does not belong to a bot")
        username = me.get("username")
        return [
            FoundAccount(
                external_id=str(me["id"]),
                handle=str(username) if username else None,
                name=str(me.get("first_name") or username or me["id"]),
                credentials={"bot_token": token, "webhook_secret": secrets.token_urlsafe(32)},
                settings={"bot_username": username, "bot_id": str(me["id"])},
                api_base=ctx.api_base,
            )
        ]

    def activate(self, account: AccountContext, webhook_url: str) -> Activation:
        self.connector.set_webhook(account, webhook_url)
        return Activation(
            registered=True,
            summary="Telegram now sends this bot's messages to horseshoe (setWebhook, with a secret token).",
            instructions=(Instruction("Webhook URL", webhook_url),),
        )
