"""What an admin enters to connect a Telegram bot."""

from __future__ import annotations

from pydantic import Field, SecretStr

from plugin.connector import AccountSettings, ConnectorModel


class TelegramCredentials(ConnectorModel):
    bot_token: SecretStr = Field(
        title="Bot token",
        description="The token @BotFather gave when the bot was created (/newbot, or /token to see it again).",
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        title="Webhook secret token",
        description=(
            "Any string of 1-256 characters A-Z, a-z, 0-9, _ and -; horseshoe passes it to setWebhook and "
            "Telegram echoes it in X-Telegram-Bot-Api-Secret-Token. Needed only when receiving webhooks."
        ),
    )


class TelegramSettings(AccountSettings):
    bot_username: str | None = Field(
        default=None,
        title="Bot username",
        description="Without the @ (as shown in @BotFather); needed to recognise @mentions in groups.",
    )
    bot_id: str | None = Field(
        default=None,
        title="Bot user id",
        description="The digits before ':' in the bot token; only needed when the webhook secrets lack the token.",
    )
    poll_timeout: int = Field(
        default=20, ge=0, le=50, title="Long-poll seconds", description="getUpdates timeout (0 = short polling)."
    )
    pace: bool = Field(
        default=True,
        title="Client-side pacing",
        description="Keep sends within Telegram's limits (30/s per bot, 1/s per chat, 20/min per group).",
    )
    http_timeout: float = Field(
        default=15.0, gt=0, title="Read timeout (s)", description="Seconds to wait for the Bot API's answer."
    )
