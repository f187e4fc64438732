"""What an admin enters to connect a Bluesky account."""

from __future__ import annotations

from pydantic import Field, SecretStr

from plugin.connector import ConnectorModel, ListeningSettings


class BlueskyCredentials(ConnectorModel):
    identifier: str | None = Field(
        default=None,
        title="Handle or DID",
        description="The brand account's handle (e.g. brand.bsky.social) or DID. Defaults to the account handle.",
    )
    app_password: SecretStr = Field(
        title="App password",
        description="bsky.app > Settings > Privacy and security > App passwords > Add App Password.",
    )


class BlueskySettings(ListeningSettings):
    page_size: int = Field(default=50, ge=1, le=100, title="Page size", description="Notifications per request.")
    max_walk_pages: int = Field(
        default=20, ge=1, title="Pages per poll", description="How many pages one poll may walk back at most."
    )
    chat_enabled: bool = Field(
        default=False,
        title="Direct messages",
        description=(
            "Read customers' Bluesky chat messages and answer privately (needs an app password created with "
            "'Allow access to your direct messages')."
        ),
    )
    dedupe_scan: int = Field(
        default=25,
        ge=1,
        title="Duplicate check depth",
        description="How many of the brand's latest posts are checked before posting, so a retry never posts twice.",
    )
    langs: list[str] = Field(
        default_factory=lambda: ["en"], title="Post languages", description="Languages declared on posted replies."
    )
    timeout: float = Field(default=30.0, gt=0, title="Timeout (s)", description="Seconds to wait for the PDS.")
