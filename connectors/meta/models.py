"""pydantic models of the documented Meta webhook shapes (Graph API v21.0, "Webhooks for Pages",
"Messenger Platform webhook events", "Instagram webhooks").

Only the envelope and the fields we read are declared; Meta adds fields over time, so unknown keys are
allowed and ignored. Values that vary by field (a ``changes[].value``) stay ``Any`` and are read by the
network's own parser. A body that does not fit becomes ``BadInput`` naming the path at fault.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from connectors.shapes import error_path
from plugin.errors import BadInput

from .fields import id_str, to_datetime


def _graph_id(value: Any) -> str:
    try:
        return id_str(value, "id")
    except BadInput as exc:
        raise ValueError(str(exc)) from None  # pydantic reports ValueErrors with their location


def _graph_time(value: Any) -> datetime:
    try:
        return to_datetime(value, "time")
    except BadInput as exc:
        raise ValueError(str(exc)) from None


GraphId = Annotated[str, BeforeValidator(_graph_id)]
GraphTime = Annotated[datetime, BeforeValidator(_graph_time)]


class _Shape(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class Change(_Shape):
    """``entry[].changes[]``: ``{"field": "feed", "value": {...}}``."""

    field: Any = None  # compared with the fields a network subscribes to; anything else is skipped
    value: Any = None


class Entry(_Shape):
    """``entry[]``: the object (Page or IG account) the events are about, when, and what happened.

    Only ``id`` decides whether the entry can be read at all (whose it is). ``time``, ``changes`` and
    ``messaging`` stay as sent and are read part by part (``webhook.entries`` / ``changes``,
    ``messaging.parse_messaging_payload``): an unreadable ``time`` only fails the items that have no
    time of their own, a malformed change or ``messaging`` list only itself."""

    id: GraphId
    time: Any = None
    changes: Any = None
    messaging: Any = None


class WebhookBody(_Shape):
    """``{"object": "page" | "instagram", "entry": [...]}``."""

    object: Any = None
    entry: list[Any] | None = None  # each validated as an ``Entry`` on its own (webhook.entries)


class Party(_Shape):
    id: GraphId


class Sender(_Shape):
    """``from`` of a feed or comment change: the Page-scoped id, and a name or IG username."""

    id: GraphId
    name: str | None = None
    username: str | None = None


class FeedChange(_Shape):
    """``changes[].value`` of a Page ``feed`` change (Webhooks for Pages > feed)."""

    item: str
    verb: str
    sender: Sender | None = Field(default=None, alias="from")  # absent on some removals
    # Older feed payloads (Graph v2.x era, still sent to some long-lived subscriptions) name the author
    # with flat ``sender_id`` / ``sender_name`` instead of ``from{id,name}``.
    sender_id: GraphId | None = None
    sender_name: str | None = None
    post_id: GraphId
    comment_id: GraphId | None = None
    parent_id: GraphId | None = None
    message: str | None = None
    created_time: GraphTime | None = None


class MediaRef(_Shape):
    id: GraphId
    media_product_type: Any = None


class CommentChange(_Shape):
    """``changes[].value`` of an Instagram ``comments`` / ``live_comments`` change."""

    id: GraphId
    sender: Sender = Field(alias="from")
    media: MediaRef
    parent_id: GraphId | None = None
    text: str | None = None
    timestamp: GraphTime | None = None


class Message(_Shape):
    mid: GraphId
    text: str | None = None
    is_echo: Any = None  # only ``true`` means echo; anything else is a customer's message
    is_deleted: Any = None
    reply_to: Any = None
    attachments: list[Any] | None = None


class MessageEdit(_Shape):
    mid: GraphId
    text: str | None = None
    num_edit: Any = None


class MessagingEvent(_Shape):
    """``entry[].messaging[]`` (Messenger and Instagram Messaging share it)."""

    sender: Party
    timestamp: GraphTime | None = None
    message: Message | None = None
    message_edit: MessageEdit | None = None


Model = TypeVar("Model", bound=BaseModel)


def parse(model: type[Model], value: Any, where: str) -> Model:
    """``model`` validated from ``value``, or BadInput naming the first path at fault."""
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise BadInput(f"{error_path(where, tuple(first['loc']))}: {first['msg']}") from exc
