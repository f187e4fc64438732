"""The contract every CRM sink implements (Zendesk and Salesforce built in; third parties may add one)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Hashable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from plugin.models import Attachment, Labels, Match, Mention, Visibility

if TYPE_CHECKING:
    from plugin.connectflow import ConnectFlow

OutcomeStatus = Literal["delivered", "retry", "failed", "wait_parent"]


def all_held(delivery_ids: Collection[int]) -> set[int]:
    """The fence outside a worker (a test, a one-off delivery): nobody else holds these items."""
    return set(delivery_ids)


@dataclass(frozen=True)
class SinkConnection:
    """A tenant's connection to one CRM, with decrypted settings (never logged)."""

    tenant_id: int
    tenant_key: str
    sink: str
    config: Mapping[str, Any] = field(repr=False)
    # The fence: which of these delivery ids this worker still holds. A sink whose delivery makes
    # several calls calls it right before it creates anything and leaves out (outcome "retry") the
    # items not returned: another worker took them over, and creating them too would duplicate them.
    fence: Callable[[Collection[int]], set[int]] = field(default=all_held, repr=False, compare=False)


@dataclass(frozen=True)
class DeliveryItem:
    delivery_id: int
    mention: Mention
    labels: Labels
    attempts: int = 0
    # Where the mention's parent stands in this sink: "delivered" (the CRM knows it), "pending"
    # (queued, not there yet), "failed", or None when the parent is not ours (e.g. a stranger's post).
    parent_state: str | None = None
    # Identity resolution's verdict for this sink (``horseshoe_resolve_identity``), if any.
    match: Match | None = None


@dataclass(frozen=True)
class DeliveryOutcome:
    """Per-item result. ``retry``/``wait_parent`` are tried again; ``failed`` needs a human."""

    delivery_id: int
    status: OutcomeStatus
    remote_id: str | None = None
    error: str | None = None
    retry_after: float | None = None

    @classmethod
    def lease_lost(cls, delivery_id: int) -> DeliveryOutcome:
        """The item's lease fence said another worker took it over: left to that worker, retried."""
        return cls(delivery_id, "retry", error="lease lost: another worker delivers it")


@dataclass(frozen=True)
class Delivered:
    """One mention of a CRM call that reached a final state (``outcome.status`` is ``delivered`` or
    ``failed``), as the ``horseshoe_delivered_batch`` observers get it."""

    mention: Mention
    outcome: DeliveryOutcome


@dataclass(frozen=True)
class AgentReply:
    """An agent's reply found in the CRM (e.g. a pending outbound Salesforce SocialPost).

    ``remote_id`` is the CRM record's id: it becomes the idempotency key, so a reply found twice is
    posted once.
    """

    remote_id: str
    network: str
    account_external_id: str  # our brand account on the network
    text: str
    in_reply_to: str | None = None  # network external_id of the post answered
    thread_id: str | None = None
    recipient_id: str | None = None
    visibility: Visibility = Visibility.PUBLIC
    # Files the agent attached (their URLs are checked by the host's egress rule before any fetch).
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class ReplyBatch:
    replies: list[AgentReply]
    watermark: str | None  # opaque, stored by the host and handed back on the next fetch


@dataclass(frozen=True)
class ReplyReport:
    """The final fate of an agent reply, reported back to the CRM record ``remote_id``."""

    remote_id: str
    status: Literal["sent", "failed"]
    external_id: str | None = None
    url: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class Resolution:
    """A ticket/case the CRM reports solved (Zendesk: solved or closed; Salesforce: IsClosed)."""

    ticket: str  # the CRM's id for it, as the host linked mentions to it
    solved_at: datetime


@dataclass(frozen=True)
class ResolutionBatch:
    solved: list[Resolution]
    cursor: str | None  # opaque, stored by the host and handed back on the next read


@dataclass(frozen=True)
class Rating:
    """A customer's 1-5 answer to "how satisfied are you?", for ``Sink.record_rating``."""

    ticket: str  # the sink's id of the conversation's ticket/record
    rating: int
    network: str  # where the customer answered
    note: str  # the internal note horseshoe suggests (rating, channel, "please follow up")

    @property
    def negative(self) -> bool:
        return self.rating <= 2


@dataclass(frozen=True)
class StreamBatch:
    """One long poll of a reply stream: how many changes arrived and the position after them."""

    events: int
    position: str | None  # opaque, stored by the host and handed back when the stream is reopened
    detail: str = ""  # what is streamed, for health ("/data/SocialPostChangeEvent")


class ReplyStream(ABC):
    """A CRM's push feed that agents' replies may have changed (e.g. Salesforce Change Data Capture).

    It is a wake-up only: on events the host makes the connection's ``fetch_agent_replies`` due now, so
    the query stays the source of truth and a missed event loses nothing. ``next_batch`` blocks for at
    most the server's long-poll timeout; ``FatalError``/``AuthError``: the CRM denies the stream (the
    host falls back to polling and tries again much later); ``RetriableError``: try again soon.
    """

    def start(self) -> str:
        """Connect and subscribe now (errors as for ``next_batch``); returns what is streamed."""
        return ""

    @abstractmethod
    def next_batch(self) -> StreamBatch: ...

    def close(self) -> None:  # noqa: B027 - optional: most streams have nothing to close
        """Say goodbye to the server (best effort)."""


class Sink(ABC):
    name: str = ""
    display_name: str = ""
    max_batch: int = 100
    # True for a sink that asks ``connection.fence`` itself right before each of its writes: the host
    # then skips its own fence before the call (one writer transaction less per batch; a read-only
    # look-up of work another worker took over meanwhile costs only that read).
    fences_writes: bool = False

    @abstractmethod
    def deliver(self, connection: SinkConnection, items: list[DeliveryItem]) -> list[DeliveryOutcome]:
        """Deliver a batch; return exactly one outcome per item (any order).

        Raising ``RetriableError`` retries the whole batch; ``AuthError`` fails it for an admin.
        """

    def calls_for(self, connection: SinkConnection, items: list[DeliveryItem]) -> int:
        """How many API requests delivering ``items`` will take: what the host reserves from the CRM's
        rate budget before ``deliver``. A guess is fine: the requests that really went out are
        counted afterwards and the budget is settled with them."""
        return 1

    def call_key(self, connection: SinkConnection, item: DeliveryItem) -> Hashable:
        """Which request ``item`` travels in, when the CRM sends a batch as several requests that never
        mix (Zendesk: one push per channel instance). The host cuts its batches of ``max_batch`` per key,
        so a backlog of a tenant with many keys still goes out in full requests, not each batch
        spread over every key (12 channel instances: 12 pushes of 8 per 100 mentions). Default: one key."""
        return None

    def fetch_agent_replies(self, connection: SinkConnection, watermark: str | None) -> ReplyBatch:
        """Replies agents wrote in the CRM since ``watermark``, for CRMs the host must poll.

        The default finds none: Zendesk hands replies over synchronously through channelback.
        """
        return ReplyBatch(replies=[], watermark=watermark)

    def report_replies(self, connection: SinkConnection, reports: list[ReplyReport]) -> list[str]:
        """Write each reply's final status back to the CRM. Return the ``remote_id``s recorded.

        Ids not returned are reported again later; raise ``RetriableError`` to retry all of them.
        """
        return [r.remote_id for r in reports]

    def fetch_resolutions(
        self, connection: SinkConnection, cursor: str | None, open_tickets: list[str]
    ) -> ResolutionBatch | None:
        """Tickets/cases solved since ``cursor`` (a CRM with an incremental feed reads it) or among
        ``open_tickets`` (the ids the host still counts as open; a CRM without a feed asks for their
        status in batched queries). ``None``: this CRM cannot tell, so no resolution figure for it."""
        return None

    def record_rating(self, connection: SinkConnection, rating: Rating) -> str | None:
        """Write a customer's satisfaction answer to the ticket/case ``rating.ticket`` (the id this
        sink gave the conversation): where agents see it (a tag, a field, an internal comment) and,
        when ``rating.negative``, put it in front of an agent again (reopen, or a follow-up when the
        ticket can no longer change). Returns what the CRM now shows, in words, for the audit trail;
        ``None``: this CRM takes no ratings. Raise RetriableError (retried with back-off) or
        FatalError/AuthError (recorded as failed, shown to the admin). Called at least once per
        answer: writing the same rating twice must leave one mark."""
        return None

    def open_reply_stream(self, connection: SinkConnection, position: str | None) -> ReplyStream | None:
        """A change stream of agents' replies resuming after ``position``; None (the default): this CRM
        has none and its replies are found by polling ``fetch_agent_replies`` alone."""
        return None

    def check(self, connection: SinkConnection) -> list[str]:
        """Problems an admin must fix (for ``horseshoe doctor``); empty when all is well."""
        return []

    def token_expires_at(self, connection: SinkConnection) -> datetime | None:
        """When the connection's current session or token expires, where the CRM says (None: unknown or
        never). Shown in the connection's health after each accepted batch; a sink that renews its
        session itself (Salesforce's refresh grant) reports the session it holds now."""
        return None

    def connect_flow(self) -> ConnectFlow | None:
        """The guided way an admin connects the CRM (``plugin.connectflow``); its one ``FoundAccount`` is the
        connection config (``credentials``) and the CRM's URL (``api_base``, checked by the host). None:
        the connection is configured otherwise."""
        return None
