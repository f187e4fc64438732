"""What an admin enters to connect a Mastodon account (on any instance)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from plugin.connector import ConnectorModel, ListeningSettings


class MastodonCredentials(ConnectorModel):
    access_token: SecretStr = Field(
        title="Access token",
        description=(
            "Your instance > Preferences > Development > New application (scopes read, write:statuses, "
            "write:conversations), then open it and copy 'Your access token'."
        ),
    )


class MastodonSettings(ListeningSettings):
    page_size: int = Field(
        default=40, ge=1, le=80, title="Page size", description="Notifications per request (Mastodon allows 80)."
    )
    notification_types: list[str] = Field(
        default_factory=lambda: ["mention"],
        title="Notification types",
        description="Which notifications become mentions: mention, status, quote, update.",
    )
    exclude_types: list[str] | None = Field(
        default=None, title="Excluded notification types", description="Notification types never fetched."
    )
    resolve_thread_root: bool = Field(
        default=True,
        title="Resolve thread roots",
        description="Look up each reply's conversation root so a whole thread becomes one ticket.",
    )
    timeout: float = Field(default=30.0, gt=0, title="Timeout (s)", description="Seconds to wait for the instance.")
