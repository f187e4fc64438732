"""The fake Zendesk's records: users, identities, tickets, comments, integration instances, one account.

Plain data; ``ZendeskState`` (state.py) owns them and changes them only under its lock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

ROLES = ("end-user", "agent", "admin")
IDENTITY_TYPES = (
    "email",
    "twitter",
    "facebook",
    "google",
    "phone_number",
    "agent_forwarding",
    "any_channel",
    "foreign",
    "sdk",
    "messaging",
)
TICKET_STATUSES = ("new", "open", "pending", "hold", "solved", "closed")


def zendesk_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class User:
    id: int
    name: str
    role: str = "end-user"
    email: str | None = None
    phone: str | None = None
    external_id: str | None = None
    locale: str = "en-US"
    photo_url: str | None = None
    details: str = ""
    notes: str = ""
    tags: list[str] = field(default_factory=list)
    verified: bool = False
    active: bool = True
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    merged_into: int | None = None


@dataclass
class Identity:
    id: int
    user_id: int
    type: str
    value: str
    verified: bool = False
    primary: bool = False
    # any_channel identities belong to one integration (the manifest id).
    subtype_name: str | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class Comment:
    id: int
    ticket_id: int
    author_id: int
    body: str
    html_body: str | None = None
    public: bool = True
    external_id: str | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    attachments: list[str] = field(default_factory=list)
    # Agent comments sent through channelback: {"status": "pending"|"sent"|"failed", "http_status",
    # "body", "request_unique_identifier", "attempts", "error"}; None for inbound comments.
    channelback: dict[str, Any] | None = None


@dataclass
class Ticket:
    id: int
    subject: str
    requester_id: int
    submitter_id: int
    status: str = "new"
    integration_instance_id: int | None = None
    thread_id: str | None = None
    allow_channelback: bool = True
    followup_source_id: int | None = None
    custom_fields: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    comment_ids: list[int] = field(default_factory=list)


@dataclass
class IntegrationInstance:
    id: int
    instance_push_id: str
    zendesk_access_token: str = field(repr=False)
    integration_id: str  # the manifest "id"
    integration_name: str  # the manifest "name"
    manifest_url: str
    manifest: dict[str, Any] = field(repr=False, default_factory=dict)
    name: str = ""  # the instance name the admin UI posted to return_url
    metadata: str = field(default="", repr=False)
    state: str = field(default="", repr=False)
    active: bool = False  # becomes True once the admin UI posts to return_url
    metadata_needs_update: bool = False
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class ImportResult:
    external_resource_id: str
    code: str
    description: str | None = None
    ticket_id: int | None = None
    comment_id: int | None = None
    event_type: str | None = None  # comment_on_new_ticket | comment_on_existing_ticket | ...
    # For a follow-up: the closed ticket addressed (source) and the new ticket (ticket_id).
    source_ticket_id: int | None = None
    follow_up_ticket_id: int | None = None

    def as_push_result(self) -> dict[str, Any]:
        """The documented push ``result object``: {external_resource_id, status: {code, description?}}."""
        status: dict[str, Any] = {"code": self.code}
        if self.description is not None:
            status["description"] = self.description
        return {"external_resource_id": self.external_resource_id, "status": status}


class ZendeskAccount:
    """One Zendesk account (subdomain). Mutated only under ``ZendeskState.lock``."""

    def __init__(self, subdomain: str):
        self.subdomain = subdomain
        self.users: dict[int, User] = {}
        self.identities: dict[int, Identity] = {}
        # (type, subtype_name, value) -> ids of the identities with that key, oldest first (kept by
        # add_identity / remove_identity; none of the three ever changes): an import finds its
        # author's any_channel identity without reading every identity of the account.
        self.identity_keys: dict[tuple[str, str | None, str], list[int]] = {}
        # user id -> ids of that user's identities (kept by add_identity, remove_identity and
        # merge_users, the only places an identity is added, removed or moved to another user).
        self.identities_by_user: dict[int, list[int]] = {}
        self.tickets: dict[int, Ticket] = {}
        self.comments: dict[int, Comment] = {}
        self.instances: dict[int, IntegrationInstance] = {}
        # (instance id, external_id) -> (ticket id, comment id)
        self.external_index: dict[tuple[int, str], tuple[int, int]] = {}
        # (instance id, thread_id) -> ticket id
        self.thread_index: dict[tuple[int, str], int] = {}
        # Credentials: API tokens by (email, token) and OAuth bearer tokens -> user id.
        self.api_tokens: dict[str, int] = {}
        self.oauth_tokens: dict[str, int] = {}
        # Event callbacks Zendesk owes the integration, per instance id (sent by the driver).
        self.pending_events: dict[int, list[dict[str, Any]]] = {}
        # Ticket audits for the incremental ticket event export, oldest first.
        self.ticket_events: list[dict[str, Any]] = []


Clock = Callable[[], datetime]
