"""What an admin enters to connect a Facebook Page, Messenger or an Instagram account.

Credentials keys (``AccountContext.credentials`` / webhook ``secrets``), the same for the three networks:

``page_access_token``  Page access token (Instagram: the token of the Page linked to the IG account)
``app_secret``         App secret: verifies ``X-Hub-Signature-256`` and signs ``appsecret_proof``
``verify_token``       the string typed into the app dashboard, echoed back in the ``hub.challenge`` GET
``page_id``            the Facebook Page id (optional for facebook/messenger: defaults to the
                       account's ``external_id``; required for Instagram messaging/private replies)
``ig_user_id``         the Instagram professional account id (instagram; defaults to ``external_id``)
``app_id``             the Meta app: its one callback URL serves all its accounts (``webhook_app``)
``expires_at``         epoch seconds the Page token expires (absent: never; Facebook Login stores what
                       ``debug_token`` said: a Page token from a long-lived user token never expires)
``data_access_expires_at``  epoch seconds the app's access to the admin's data expires (90 days after
                       they last logged in to the app); the token stops reading data then
"""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from plugin.connector import AccountSettings, ConnectorModel, ListeningSettings, listen_terms

PAGE_ACCESS_TOKEN = "page_access_token"
APP_SECRET = "app_secret"
VERIFY_TOKEN = "verify_token"
PAGE_ID = "page_id"
IG_USER_ID = "ig_user_id"
HASHTAG_LIMIT = 30  # Instagram Hashtag Search: unique hashtags per account per rolling 7 days
APP_ID = "app_id"
EXPIRES_AT = "expires_at"
DATA_ACCESS_EXPIRES_AT = "data_access_expires_at"


class MetaCredentials(ConnectorModel):
    """Shared by Facebook and Messenger (a Page)."""

    page_access_token: SecretStr = Field(
        title="Page access token",
        description=(
            "A long-lived Page access token with pages_manage_engagement, pages_read_user_content and "
            "pages_messaging. Meta for Developers > your app > Graph API Explorer (or Business Settings > "
            "System users > Generate token), choosing the Page."
        ),
    )
    app_secret: SecretStr = Field(
        title="App secret",
        description=(
            "Verifies webhook signatures (X-Hub-Signature-256) and signs appsecret_proof. "
            "Meta for Developers > your app > App settings > Basic > App secret."
        ),
    )
    verify_token: SecretStr | None = Field(
        default=None,
        title="Webhook verify token",
        description=(
            "Any string you choose; type the same into Meta for Developers > your app > Webhooks > "
            "Verify token. Needed only when receiving webhooks."
        ),
    )
    page_id: str | None = Field(
        default=None,
        title="Page id",
        description="The Facebook Page id (Page > About > Page transparency). Defaults to the account id.",
    )
    app_id: str | None = Field(
        default=None,
        title="App id",
        description="Meta for Developers > your app > App settings > Basic > App ID. With it, every Page and "
        "Instagram account of the app shares the app's one callback URL.",
        pattern=r"^\d{5,20}$",
    )
    expires_at: str | None = Field(
        default=None,
        title="Token expires at",
        description="When the Page token stops working (epoch seconds or ISO 8601, UTC; Access Token Debugger > "
        "Expires). Empty: it never expires. Facebook Login fills this in.",
    )
    data_access_expires_at: str | None = Field(
        default=None,
        title="Data access expires at",
        description="When the app's access to the Page admin's data expires (Access Token Debugger > Data "
        "Access Expires); log in again before it. Facebook Login fills this in.",
    )


class InstagramCredentials(MetaCredentials):
    page_access_token: SecretStr = Field(
        title="Page access token",
        description=(
            "A Page access token of the Facebook Page linked to the Instagram professional account, with "
            "instagram_basic, instagram_manage_comments and instagram_manage_messages. Meta for Developers > "
            "your app > Graph API Explorer, choosing that Page."
        ),
    )
    page_id: str | None = Field(
        default=None,
        title="Linked Page id",
        description=(
            "The id of the Facebook Page linked to the Instagram account (required for DMs and private "
            "replies). Instagram app > Settings > Linked accounts, or the Page's About section."
        ),
    )
    ig_user_id: str | None = Field(
        default=None,
        title="Instagram account id",
        description=(
            "The Instagram professional account id (GET /{page-id}?fields=instagram_business_account in the "
            "Graph API Explorer). Defaults to the account id."
        ),
    )


class FacebookCredentials(MetaCredentials):
    ig_user_id: str | None = Field(
        default=None,
        title="Linked Instagram account id",
        description=(
            "Not used by Facebook; accepted so that one Meta credential set (one app, one Page token) can "
            "connect the Page's Facebook, Messenger and Instagram accounts alike."
        ),
    )


class MessengerCredentials(FacebookCredentials):
    page_access_token: SecretStr = Field(
        title="Page access token",
        description=(
            "A long-lived Page access token with pages_messaging and pages_read_engagement. Meta for Developers > "
            "your app > Messenger > Messenger API Settings > Access tokens (or a system user's token)."
        ),
    )


class MetaSettings(AccountSettings):
    """Settings every Meta connector reads."""

    page_size: int | None = Field(
        default=None, ge=1, le=100, title="Page size", description="Items per Graph request; empty = the network's."
    )
    backfill_since: str | None = Field(
        default=None,
        title="Backfill since",
        description="ISO 8601 time the first poll starts from (e.g. 2024-05-01T00:00:00Z); empty = now.",
    )
    backfill_hours: float | None = Field(
        default=None, gt=0, title="Backfill hours", description="Or: how many hours back the first poll starts."
    )
    timeout_seconds: float | None = Field(
        default=None, gt=0, title="Read timeout (s)", description="Seconds to wait for Graph's answer (default 20)."
    )


class CommentSettings(MetaSettings):
    lookback_days: float = Field(
        default=7,
        gt=0,
        title="Comment lookback (days)",
        description="How old a post may be and still have its new comments read when polling.",
    )


# Why Facebook cannot listen (shown next to the field when an admin tries): Graph API v2.0 removed the
# public post search (``/search?type=post``) in 2014, and what remains for apps (Page Public Content
# Access) reads named Pages' own content: there is no keyword or hashtag search of people's posts.
FACEBOOK_NO_SEARCH = (
    "Facebook offers apps no search of public posts: the Graph API removed post search (/search?type=post) in "
    "v2.0, and Page Public Content Access only reads the content of Pages you name. Comments and visitor posts "
    "on your Page, and posts that tag it, reach horseshoe without listening; for keyword listening on Facebook "
    "use Meta Business Suite. Leave this empty."
)


class FacebookSettings(CommentSettings):
    listen_terms: str = Field(
        default="",
        max_length=2000,
        title="Listening: not available on Facebook",
        description=FACEBOOK_NO_SEARCH,
    )

    @field_validator("listen_terms")
    @classmethod
    def _no_search(cls, value: str) -> str:
        if value.strip():
            raise ValueError(FACEBOOK_NO_SEARCH)
        return value


class MessengerSettings(MetaSettings):
    human_agent: bool = Field(
        default=True,
        title="Human agent tag",
        description=(
            "Answer up to 7 days after the customer's last message with the HUMAN_AGENT tag (needs the Human "
            "Agent permission); off = the standard 24-hour window only."
        ),
    )


class InstagramSettings(CommentSettings, MessengerSettings, ListeningSettings):
    """Instagram reads both: comment lookback for media and the messaging window for DMs; it listens
    through Hashtag Search (``connectors/meta/hashtags.py``): hashtags only, 30 unique ones per 7 days."""

    @field_validator("listen_terms")
    @classmethod
    def _hashtags_within_limit(cls, value: str) -> str:
        terms = listen_terms({"listen_terms": value})
        words = [t for t in terms if not t.startswith("#")]
        tags = {t.lstrip("#").lower() for t in terms if t.startswith("#") and len(t) > 1}
        if words:
            raise ValueError(
                f"Instagram searches hashtags only (Hashtag Search); {', '.join(words)} cannot be searched there. "
                "Write them as hashtags (#acme) or leave them to the networks with a text search."
            )
        if len(tags) > HASHTAG_LIMIT:
            raise ValueError(
                f"{len(tags)} hashtags: Instagram lets an account query at most {HASHTAG_LIMIT} unique hashtags "
                "within a rolling 7-day period (Hashtag Search limitations)"
            )
        return value
