"""What an admin enters to connect a VK community."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from plugin.connector import ConnectorModel, ListeningSettings

_MANAGE = "vk.com > your community > Manage > API usage"


class VKCredentials(ConnectorModel):
    access_token: SecretStr = Field(
        title="Community access token",
        description=(
            f"A community token with wall, messages and manage rights. {_MANAGE} > Access tokens > Create token."
        ),
    )
    secret: SecretStr | None = Field(
        default=None,
        title="Callback API secret key",
        description=f"Sent by VK in every Callback API event. {_MANAGE} > Callback API > Server settings > Secret key.",
    )
    confirmation_code: SecretStr | None = Field(
        default=None,
        title="Callback API confirmation string",
        description=f"The string VK expects back when confirming the server address. {_MANAGE} > Callback API.",
    )
    search_token: SecretStr | None = Field(
        default=None,
        title="Listening: service token (or a user token)",
        description=(
            "newsfeed.search, which listening uses, refuses community tokens. Use your VK app's service token "
            "(vk.com/apps?act=manage > your app > Settings > Service token) or a user access token. VK returns "
            "at most 200 posts per search and only the first 1000 results of a query. Empty = no listening."
        ),
    )


class VKSettings(ListeningSettings):
    group_id: int | None = Field(
        default=None,
        title="Community id",
        description="The community's numeric id (positive). Defaults to the account id.",
    )
    group_messages: Literal["addressed", "all"] = Field(
        default="addressed",
        title="Community chat messages",
        description=(
            "Which messages in community chats become tickets: 'addressed' = mentions of the community, "
            "replies to it and keyboard-button commands; 'all' = every message (the community needs access "
            "to all chat messages: Manage > Messages > Bot settings)."
        ),
    )
    api_version: str = Field(default="5.199", title="API version", description="The VK API version sent as v=.")
    requests_per_second: int = Field(
        default=20,
        ge=1,
        le=20,
        title="Requests per second",
        description="Client-side pacing per token; VK allows 20/s for community tokens.",
    )
    poll_wait: int = Field(
        default=20, ge=0, le=90, title="Long-poll seconds", description="Bots Long Poll wait (0 = return at once)."
    )
    http_timeout: float = Field(
        default=15.0, gt=0, title="Read timeout (s)", description="Seconds to wait for VK's answer once sent."
    )
