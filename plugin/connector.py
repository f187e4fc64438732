"""The contract every social network connector implements (built-in or third-party).

A connector is stateless: everything account-specific arrives in an ``AccountContext`` and every cursor
is handed in and returned, so the host can persist it and resume after a restart.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from plugin.models import Limits, Mention, PostResult, Reply, SocialProfile


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


@dataclass(frozen=True)
class PollPage:
    """One page of a poll. ``cursor`` is opaque to the host; ``more`` asks to be called again now."""

    mentions: list[Mention]
    cursor: str | None
    more: bool = False


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

    def fetch_profile(self, account: AccountContext, author_external_id: str) -> SocialProfile | None:
        """Look up an author's public profile; None when the network does not say."""
        return None

    @abstractmethod
    def limits(self) -> Limits:
        """Published limits of the network (text length, request budget, page size)."""
