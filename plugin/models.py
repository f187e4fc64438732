"""The normalized data that flows between connectors, the pipeline and sinks.

Field names follow docs/ARCHITECTURE.md ("Normalized mention"); they are a public contract for third-party
connectors and for the output of ``horseshoe parse``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Kind(StrEnum):
    POST = "post"
    COMMENT = "comment"
    REPLY = "reply"
    DIRECT = "direct"
    QUOTE = "quote"
    REPOST = "repost"


class Visibility(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Author(_Model):
    external_id: str = Field(min_length=1, max_length=255, description="the network's stable id, never the handle")
    handle: str | None = None
    name: str | None = None
    avatar_url: str | None = None
    profile_url: str | None = None


class Attachment(_Model):
    url: str
    type: str = "file"


def to_utc(value: datetime) -> datetime:
    """Naive datetimes are taken to be UTC; aware ones are converted."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def iso_utc(value: datetime) -> str:
    return to_utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


class Mention(_Model):
    """One thing a customer wrote that horseshoe may turn into a ticket."""

    network: str = Field(min_length=1, max_length=64)
    external_id: str = Field(min_length=1, max_length=512)
    thread_id: str | None = Field(default=None, max_length=512)
    parent_id: str | None = Field(default=None, max_length=512)
    kind: Kind = Kind.POST
    visibility: Visibility = Visibility.PUBLIC
    author: Author
    text: str = ""
    created_at: datetime
    url: str | None = None
    lang: str | None = None
    attachments: list[Attachment] = Field(default_factory=list)
    account: str = Field(min_length=1, description="our brand account's id on the network")
    # What the network says beyond the normalized fields (edit/delete events, raw ids a
    # connector needs to reply). Not part of the printed normal form.
    event: Literal["created", "edited", "deleted"] = "created"
    extra: dict[str, Any] = Field(default_factory=dict)

    @field_validator("created_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return to_utc(value)

    @field_validator("text")
    @classmethod
    def _no_nul(cls, value: str) -> str:
        # PostgreSQL text and JSON cannot hold NUL; it carries no meaning in a message.
        return value.replace("\x00", "")

    def normal_form(self) -> dict[str, Any]:
        """The docs/ARCHITECTURE.md JSON shape (what ``horseshoe parse`` prints)."""
        data = self.model_dump(mode="json", exclude={"event", "extra"})
        data["created_at"] = iso_utc(self.created_at)
        return data


class SocialProfile(_Model):
    """A person's profile on one network, as far as the network tells us."""

    network: str
    external_id: str
    handle: str | None = None
    name: str | None = None
    avatar_url: str | None = None
    profile_url: str | None = None
    email: str | None = None
    phone: str | None = None
    website: str | None = None
    lang: str | None = None


class Reply(_Model):
    """An agent's answer on its way back to the network."""

    network: str
    account: str = Field(description="our brand account's id on the network")
    text: str = Field(min_length=1)
    in_reply_to: str | None = Field(default=None, description="external_id of the mention answered")
    thread_id: str | None = None
    recipient_id: str | None = Field(default=None, description="author external_id (for private replies)")
    visibility: Visibility = Visibility.PUBLIC
    idempotency_key: str = Field(min_length=1, max_length=255)
    attachments: list[Attachment] = Field(default_factory=list)


class PostResult(_Model):
    """What the network gave back for a posted reply."""

    external_id: str
    url: str | None = None
    # A reply published as a numbered thread: every part's id, in order (external_id is the first).
    parts: list[str] = Field(default_factory=list)


class Labels(BaseModel):
    """Triage output. Every field optional: each triage plugin fills what it knows and results merge."""

    model_config = ConfigDict(extra="allow")

    language: str | None = None
    intent: str | None = None
    sentiment: str | None = None
    pii: list[str] | None = None
    priority: str | None = None
    engage: bool | None = None
    tags: list[str] | None = None


class Match(_Model):
    """An identity-resolution verdict: which CRM record a social profile belongs to."""

    sink: str
    record_id: str
    record_type: str = "user"
    confidence: float = Field(ge=0.0, le=1.0)
    evidence: list[str] = Field(default_factory=list)


class Limits(_Model):
    """A connector's published limits, used to size batches and pace requests."""

    max_text_length: int
    requests_per_window: int | None = None
    window_seconds: int | None = None
    poll_interval_seconds: int = 60
    page_size: int = 100
