"""The contract every social network connector implements (built-in or third-party).

A connector is stateless: everything account-specific arrives in an ``AccountContext`` and every cursor
is handed in and returned, so the host can persist it and resume after a restart.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from plugin.errors import BadInput
from plugin.models import Limits, Mention, PostResult, Reply, SocialProfile

if TYPE_CHECKING:
    from plugin.connectflow import ConnectFlow


@dataclass(frozen=True)
class AccountContext:
    """One brand account on one network, with decrypted credentials (never logged)."""

    network: str
    external_id: str  # our brand account's stable id on the network
    handle: str | None = None
    credentials: Mapping[str, str] = field(default_factory=dict, repr=False)
    settings: Mapping[str, Any] = field(default_factory=dict)
    api_base: str | None = None  # override for self-hosted instances and the sandbox

    def __repr__(self) -> str:  # credentials must never reach a log line
        return f"AccountContext(network={self.network!r}, external_id={self.external_id!r})"


@dataclass(frozen=True)
class InboundRequest:
    """A webhook request as received, raw body included (signatures are computed over raw bytes)."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    query: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class WebhookResult:
    """What a webhook delivered: mentions to ingest, or a handshake answer to send back as-is."""

    mentions: list[Mention] = field(default_factory=list)
    handshake: tuple[int, str, str] | None = None  # (status, content_type, body)


# An attachment the network serves only with a secret in its URL (Telegram's file URLs carry the bot
# token) is stored as ``horseshoe-file:<reference>`` instead: no secret in the database, the CRM or a
# log line. The host serves it behind a signed URL of its own, fetching it with ``open_attachment``.
FILE_REFERENCE = "horseshoe-file:"


def file_reference(reference: str) -> str:
    """The ``Attachment.url`` for a file only the connector can fetch (``reference`` is its own id)."""
    return f"{FILE_REFERENCE}{reference}"


@dataclass(frozen=True)
class Download:
    """A file fetched by ``Connector.open_attachment``."""

    content_type: str
    body: bytes = field(repr=False)
    filename: str | None = None


def expiry_time(raw: str | None) -> datetime | None:
    """A stored token expiry (epoch seconds or ISO 8601) as an aware time; None when absent, unreadable
    or 0 (Meta's ``debug_token`` says 0 for "never")."""
    if not raw:
        return None
    try:
        when = datetime.fromtimestamp(float(raw), tz=UTC) if raw.replace(".", "", 1).isdigit() else None
        if when is not None and when.timestamp() <= 0:
            return None
        when = when or datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@dataclass(frozen=True)
class RenewedCredentials:
    """What ``Connector.refresh_credentials`` obtained: the account's whole new credential set (it
    replaces the stored one, encrypted) and when the new token expires (None = never or unknown).

    Networks that rotate refresh tokens (X) hand out a new refresh token with every renewal: it belongs
    in ``credentials``, since the old one no longer works once used.
    """

    credentials: Mapping[str, str] = field(repr=False)
    expires_at: datetime | None = None


@dataclass(frozen=True)
class Skipped:
    """Something in a valid payload that deliberately did not become a mention, and why.

    ``where`` points into the payload (``entry[0].changes[1]``, ``update 812``); ``reason`` is a sentence an
    admin can act on ("not addressed to the bot (group_messages=addressed)").
    """

    where: str
    reason: str


@dataclass(frozen=True)
class Quarantined:
    """An item of a payload the connector could not read: kept raw with the error, never dropped.

    ``payload`` is what ``explain_payload`` needs to read this one item again on its own (a one-item
    page), so ``horseshoe quarantine retry`` can re-parse it with a fixed parser.
    """

    where: str
    error: str
    payload: Any


# Item failures are collected here while the host holds a quarantine scope (see ``item_boundary``).
_QUARANTINE: ContextVar[list[Quarantined] | None] = ContextVar("horseshoe_quarantine", default=None)

# What a parser raises for an item of the wrong shape. Network errors (RetriableError, AuthError...)
# are not among them: they concern the whole call, not one item, and fail the page as before.
ITEM_ERRORS: tuple[type[BaseException], ...] = (
    BadInput,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    RecursionError,
)


@contextmanager
def quarantine_scope() -> Iterator[list[Quarantined]]:
    """Host side: while open, an item that fails inside an ``item_boundary`` is collected in the yielded
    list instead of failing the whole page or webhook body."""
    collected: list[Quarantined] = []
    token = _QUARANTINE.set(collected)
    try:
        yield collected
    finally:
        _QUARANTINE.reset(token)


@contextmanager
def item_boundary(where: str, payload: Any) -> Iterator[None]:
    """Connector side: wrap the parsing of ONE item of a page or webhook body.

    ``payload`` is a self-contained payload holding just this item, as ``explain_payload`` accepts it
    (e.g. ``{"data": [item], "includes": ...}``). Inside the host's ``quarantine_scope`` a parse error
    is recorded with ``where`` and the loop goes on with the next item (the cursor moves past it);
    outside one (``horseshoe parse``, ``parse_payload`` called directly) it ends the parse as
    ``BadInput`` naming the item: a parser's contract is to refuse what it cannot read with BadInput (a
    clear 400), so a pydantic ``ValidationError`` or ``TypeError`` from deep inside never escapes raw.
    """
    try:
        yield
    except ITEM_ERRORS as exc:
        collected = _QUARANTINE.get()
        if collected is not None:
            collected.append(Quarantined(where=where, error=_describe(exc), payload=payload))
        elif isinstance(exc, BadInput):
            raise
        else:
            raise BadInput(f"{where}: {_describe(exc)}") from exc


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return (text if isinstance(exc, BadInput) else f"{type(exc).__name__}: {text}")[:2000]


@dataclass(frozen=True)
class ParseResult:
    """What ``Connector.explain_payload`` found: the mentions, and every item skipped with its reason.
    (Items that could not be read at all go to the caller's ``quarantine_scope``.)"""

    mentions: list[Mention] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


@dataclass(frozen=True)
class PollPage:
    """One page of a poll. ``cursor`` is opaque to the host; ``more`` asks to be called again now."""

    mentions: list[Mention]
    cursor: str | None
    more: bool = False


def listen_terms(settings: Mapping[str, Any]) -> list[str]:
    """The account's listening terms (``listen_terms`` setting), trimmed, without repeats, in order."""
    raw = str(settings.get("listen_terms") or "")
    terms: list[str] = []
    for term in raw.replace("\n", ",").split(","):
        cleaned = term.strip()
        if cleaned and cleaned.lower() not in {t.lower() for t in terms}:
            terms.append(cleaned)
    return terms


def webhook_secrets(account: AccountContext) -> dict[str, str]:
    """What ``verify_request`` / ``parse_webhook`` receive: settings (as strings) under the credentials."""
    return {**{k: str(v) for k, v in account.settings.items()}, **account.credentials}


class ConnectorModel(BaseModel):
    """Base of a connector's ``credentials_model`` / ``settings_model``.

    Unknown keys are refused, so a typo in a field name is an error next to the field, not a silently
    ignored credential. Secrets are typed ``pydantic.SecretStr``: the admin UI renders them as password
    fields and they never appear in a repr. Each field's ``title`` and ``description`` are the form's
    label and help text.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class NoCredentials(ConnectorModel):
    """For connectors that need no credentials (e.g. a public feed)."""


class AccountSettings(ConnectorModel):
    """Base of every ``settings_model``: the per-account settings the host itself reads."""

    poll_interval_seconds: float | None = Field(
        default=None,
        gt=0,
        title="Poll interval (s)",
        description="Seconds between polls of this account; empty = the network's published default.",
    )
    requests_per_window: int | None = Field(
        default=None,
        ge=1,
        title="API requests per rate window",
        description=(
            "This account's request limit in the network's rate window (X: 15 minutes) when its API tier "
            "allows more than the published default; empty = the published default. Polls and replies are "
            "paced to stay under it."
        ),
    )
    satisfaction: bool = Field(
        default=False,
        title="Ask for a satisfaction rating",
        description=(
            "When a ticket/case is solved, ask the customer for a 1-5 rating in the private conversation they "
            "used (only where the network allows a message now; otherwise skipped, with the reason on the dashboard)."
        ),
    )


class ListeningSettings(AccountSettings):
    """Settings of a network horseshoe can listen on (its connector implements ``listen``)."""

    listen_terms: str = Field(
        default="",
        max_length=2000,
        title="Listening: brand names, keywords, hashtags",
        description=(
            'Comma-separated, any language (acme, #acmehelp, "acme bank", акме). Posts naming them without '
            "tagging this account are found through the network's search; triage keeps the ones meant for "
            "you and they become tickets tagged 'listening'. Empty = no listening."
        ),
    )
    listen_calls_per_hour: int = Field(
        default=12,
        ge=1,
        le=3600,
        title="Listening: search calls per hour",
        description="This account's search budget; horseshoe never makes more search calls than this.",
    )


class NoSettings(AccountSettings):
    """For connectors without settings of their own."""


class Connector(ABC):
    """Base class for connectors. Subclasses set ``name`` and implement the abstract methods."""

    name: str = ""
    display_name: str = ""
    # What an admin enters when connecting an account: the admin UI renders a form from each model
    # and validates it before anything is stored. Credentials are encrypted at rest; settings are not.
    credentials_model: ClassVar[type[ConnectorModel]] = NoCredentials
    settings_model: ClassVar[type[AccountSettings]] = NoSettings
    # True for networks whose servers a customer may run themselves (Mastodon, a Bluesky PDS): only
    # then does the admin UI accept an ``api_base`` (https, public address; plugin/egress.py).
    self_hosted: ClassVar[bool] = False
    # The hosts (and their subdomains) of the network's own web pages: clickthrough redirects an agent
    # only to an http(s) URL on one of these (for a self-hosted network, also the account's api_base host).
    link_hosts: ClassVar[tuple[str, ...]] = ()

    def verify_request(self, request: InboundRequest, secrets: Mapping[str, str]) -> bool:
        """True when the webhook request is authentic for the account whose ``secrets`` are given.

        The host calls this first for every request to ``/webhooks/<network>/<account>``, handshakes
        included (a Meta ``hub.verify_token`` GET, an X CRC GET, a VK ``confirmation``): False means
        401 and nothing is stored. ``secrets`` are the account's decrypted credentials merged over its
        settings (as strings), so e.g. a bot username or group id is at hand without a network call.
        """
        return False

    def parse_webhook(self, request: InboundRequest, secrets: Mapping[str, str]) -> WebhookResult:
        """Turn a verified webhook request into mentions, or a handshake answer to send back as-is.

        Raise ``BadInput`` for a body that cannot be understood (the host answers 400 with the reason).
        """
        raise NotImplementedError(f"{self.name} does not receive webhooks")

    @abstractmethod
    def parse_payload(self, payload: Any, account: str | None = None) -> list[Mention]:
        """Normalize a raw API payload (poll page or webhook body) as the network documents it."""

    def explain_payload(self, payload: Any, account: str | None = None) -> ParseResult:
        """``parse_payload`` with the reasons: mentions plus what was skipped and why (``horseshoe parse``).

        The default knows no reasons (third-party connectors written before this method keep working);
        built-in connectors override it and implement ``parse_payload`` as its ``mentions``.
        """
        return ParseResult(mentions=self.parse_payload(payload, account))

    # Networks whose connectors read the same webhook body as this one: Meta gives an app one callback
    # URL, so a Page's feed changes (facebook) and messages (messenger) arrive in the same request. The
    # host hands a verified body to the sibling accounts whose ``webhook_key`` equals this account's.
    webhook_siblings: ClassVar[tuple[str, ...]] = ()

    def webhook_key(self, account: AccountContext) -> str | None:
        """What identifies the webhook sender's object (e.g. the Page id) for ``webhook_siblings``."""
        return None

    def webhook_app(self, account: AccountContext) -> str | None:
        """The app whose ONE callback URL carries this account's webhooks (a Meta app has one callback
        URL for all its Pages and Instagram accounts), or None for a URL per account.

        The host then serves ``/webhooks/app/<tenant>/<app>``: a request there is verified with the
        secrets of the tenant's accounts of that app (``verify_request``, once per distinct secret set)
        and handed to each of them (``receive_webhook``); each connector keeps the entries that are its
        account's (``entry[].id``). The per-account URLs keep working for existing installs.
        """
        return None

    def receive_webhook(self, request: InboundRequest, account: AccountContext) -> WebhookResult:
        """The host's entry point for a verified webhook request of ``account``.

        The default is ``parse_webhook`` with the account's secrets (credentials over settings). A
        connector overrides it when a webhook carries only ids that need an API call to become a mention
        (Instagram ``mentions``), since only here the whole account (API base, credentials) is at hand.
        """
        return self.parse_webhook(request, webhook_secrets(account))

    @abstractmethod
    def poll(self, account: AccountContext, cursor: str | None) -> PollPage:
        """Fetch new mentions after ``cursor`` (None = start now)."""

    @abstractmethod
    def post_reply(self, account: AccountContext, reply: Reply) -> PostResult:
        """Publish a public reply in the thread of ``reply.in_reply_to``."""

    def send_private(self, account: AccountContext, reply: Reply) -> PostResult:
        """Send a private message to ``reply.recipient_id``."""
        from plugin.errors import FatalError

        raise FatalError(f"{self.name} cannot send private messages", code="unsupported")

    def listen(self, account: AccountContext, terms: list[str], cursor: str | None) -> PollPage:
        """One search call for public posts naming ``terms`` that do not tag the account (they arrive
        through ``poll``), after ``cursor`` (None = start now: remember where now is, return nothing).

        Exactly one network request per call: the host spends the account's listening budget by
        calling it. The host marks what it returns as listening and triages it before any ticket.
        """
        from plugin.errors import FatalError

        raise FatalError(f"{self.name} has no search horseshoe can listen through", code="unsupported")

    def open_attachment(self, account: AccountContext, reference: str) -> Download:
        """Fetch a file this connector stored as ``file_reference(reference)`` (see ``FILE_REFERENCE``)."""
        from plugin.errors import FatalError

        raise FatalError(f"{self.name} stores no file references", code="unsupported")

    def connect_flow(self) -> ConnectFlow | None:
        """The guided way an admin connects an account (``plugin.connectflow``), or None: then the admin
        types what ``credentials_model`` asks. A flow looks ids and tokens up and registers webhooks."""
        return None

    def fetch_profile(self, account: AccountContext, author_external_id: str) -> SocialProfile | None:
        """Look up an author's public profile; None when the network does not say."""
        return None

    def token_expires_at(self, account: AccountContext) -> datetime | None:
        """When the account's token expires, where the network says (None = unknown or never).

        The default reads an ``expires_at`` credential (ISO 8601 or epoch seconds), which OAuth flows
        store beside the token; a connector that learns the expiry another way overrides this.
        """
        return expiry_time(account.credentials.get("expires_at"))

    def renews_tokens(self, account: AccountContext) -> bool:
        """Whether ``refresh_credentials`` can renew this account's token without the admin (it holds a
        refresh grant). False (the default): an expiry the host sees coming is told to the admin ahead
        of time instead (``plugin/expiry.py``)."""
        return False

    def refresh_credentials(self, account: AccountContext) -> RenewedCredentials | None:
        """Renew the account's short-lived token without the admin (an OAuth refresh grant).

        The host calls this when ``token_expires_at`` is near (``plugin/renewal.py``: within
        ``RENEW_AHEAD``) and once more when the network refuses the token, then stores the result
        encrypted and retries the refused call once. Return None when the network has nothing to
        renew (no refresh token, a token that never expires); raise ``AuthError`` when the network
        refused the renewal itself (a revoked grant: the account then needs an admin), another
        ``plugin.errors`` error for a passing failure (the host keeps the current token).
        """
        return None

    @abstractmethod
    def limits(self) -> Limits:
        """Published limits of the network (text length, request budget, page size)."""
