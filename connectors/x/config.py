"""What an admin enters to connect an X account (all optional: which ones are needed depends on use).

Reading mentions needs ``bearer_token`` or a user credential; posting and DMs need a user credential:
``user_access_token`` (OAuth 2.0) or the four OAuth 1.0a keys. Webhooks need ``client_secret`` or
``consumer_secret``.
"""

from __future__ import annotations

from pydantic import Field, SecretStr

from plugin.connector import ConnectorModel, ListeningSettings

_PORTAL = "developer.x.com > Projects & Apps > your app > Keys and tokens"


class XCredentials(ConnectorModel):
    bearer_token: SecretStr | None = Field(
        default=None,
        title="Bearer token (app-only)",
        description=(
            f"Reads the mentions timeline and profiles with the app's own rate limit. {_PORTAL} > Bearer Token."
        ),
    )
    user_access_token: SecretStr | None = Field(
        default=None,
        title="OAuth 2.0 user access token",
        description=(
            "The brand account's OAuth 2.0 (PKCE) token with tweet.read, tweet.write, users.read, dm.read, "
            "dm.write; preferred for posting and DMs. Obtained by authorizing the app as the brand account "
            f"({_PORTAL} > OAuth 2.0 Client ID)."
        ),
    )
    consumer_key: str | None = Field(
        default=None,
        title="API key (OAuth 1.0a consumer key)",
        description=f"Used with the three keys below when there is no OAuth 2.0 user token. {_PORTAL} > API Key.",
    )
    consumer_secret: SecretStr | None = Field(
        default=None,
        title="API key secret (OAuth 1.0a consumer secret)",
        description=f"Signs OAuth 1.0a requests and Account Activity webhooks. {_PORTAL} > API Key Secret.",
    )
    access_token: SecretStr | None = Field(
        default=None,
        title="Access token (OAuth 1.0a)",
        description=f"The brand account's OAuth 1.0a access token (read and write). {_PORTAL} > Access Token.",
    )
    access_token_secret: SecretStr | None = Field(
        default=None,
        title="Access token secret (OAuth 1.0a)",
        description=f"Goes with the access token above. {_PORTAL} > Access Token Secret.",
    )
    client_secret: SecretStr | None = Field(
        default=None,
        title="OAuth 2.0 client secret",
        description=(
            "Answers webhook CRC checks and verifies webhook signatures (else the consumer secret is used). "
            f"{_PORTAL} > OAuth 2.0 Client Secret."
        ),
    )

    # Kept by the guided flow (OAuth 2.0 with offline.access) so that horseshoe renews the 2-hour user
    # token by itself (connect.refresh); typed by nobody.
    refresh_token: SecretStr | None = Field(
        default=None,
        title="OAuth 2.0 refresh token",
        description="Renews the user access token before it expires (scope offline.access); X rotates it.",
    )
    oauth2_client_id: str | None = Field(
        default=None, title="OAuth 2.0 client id (renewal)", description=f"{_PORTAL} > OAuth 2.0 Client ID."
    )
    oauth2_client_secret: SecretStr | None = Field(
        default=None,
        title="OAuth 2.0 client secret (renewal)",
        description=f"Authenticates the token renewal. {_PORTAL} > OAuth 2.0 Client Secret.",
    )
    expires_at: str | None = Field(
        default=None,
        title="User token expires at",
        description="When the user access token stops working (ISO 8601, UTC); renewed ahead of it.",
    )


class XSettings(ListeningSettings):
    poll_dms: bool = Field(
        default=True,
        title="Poll direct messages",
        description="Read DMs when polling (needs a user credential with dm.read). Off when DMs arrive by webhook.",
    )
    backfill: bool = Field(
        default=False,
        title="Backfill on first poll",
        description="Fetch recent mentions on the first poll instead of starting from now.",
    )
    connect_timeout: float = Field(
        default=5.0, gt=0, title="Connect timeout (s)", description="Seconds to wait for a connection to X."
    )
    read_timeout: float = Field(
        default=20.0, gt=0, title="Read timeout (s)", description="Seconds to wait for X's answer once sent."
    )
