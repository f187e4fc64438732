"""pydantic models of the Mastodon entities the connector reads (https://docs.joinmastodon.org/entities/).

Status, Account, MediaAttachment, Notification, Conversation, and the streaming event envelope. They
read both the JSON the API sends (a webhook body, ``horseshoe parse``) and what Mastodon.py returns
(dict subclasses in which ids may be ints and ``created_at`` is already a datetime). Only the fields we
read are declared; Mastodon adds fields with every release, and those are ignored. A refused value is
``BadInput`` naming its path (``mastodon: status.account.id: is missing or empty``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, StrictStr

from connectors.shapes import Id, Shape, Text, parse_shape


def _when(value: Any) -> datetime:
    # Not pydantic's own datetime parsing: that would also take a number as a unix time, which the
    # API never sends for ``created_at``.
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"is not an ISO 8601 datetime: {value!r}") from None
    if value is None or value == "":
        raise ValueError("is missing")
    raise ValueError(f"must be an ISO 8601 datetime, got {type(value).__name__}")


When = Annotated[datetime, BeforeValidator(_when)]


class ProfileField(Shape):
    name: Text = None
    value: Text = None  # HTML: a verified website is a link


class Account(Shape):
    id: Id
    acct: Text = None  # ``user`` for local accounts, ``user@domain`` for remote ones
    username: Text = None
    display_name: Text = None
    avatar: Text = None
    url: Text = None
    fields: list[ProfileField] | None = None


class MediaAttachment(Shape):
    type: Text = None
    url: Text = None
    remote_url: Text = None  # the original on a remote instance when ours has not cached it


class Status(Shape):
    id: Id
    account: Account
    content: StrictStr | None = None  # HTML
    created_at: When
    in_reply_to_id: Text = None
    in_reply_to_account_id: Text = None
    visibility: Text = None  # public, unlisted, private, direct
    quote: Any = None  # Mastodon 4.4+: a Quote when this status quotes another
    media_attachments: list[MediaAttachment] | None = None
    url: Text = None
    uri: Text = None
    language: Text = None


class Notification(Shape):
    id: Id
    type: Id
    status: Any = None  # read as a Status only for the types that carry one we answer


class Conversation(Shape):
    id: Text = None
    last_status: Any = None  # a Status, or null when nothing was said yet


class StreamEvent(Shape):
    """A streaming API message: ``{"event": "update", "payload": "<JSON text>"}``."""

    event: Id
    payload: Any = None


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], value: Any, where: str) -> M:
    """``model`` from ``value``, or BadInput ``mastodon: <where>.<path>: <why>``."""
    return parse_shape("mastodon", model, value, where)
