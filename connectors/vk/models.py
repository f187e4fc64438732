"""pydantic models of the VK shapes the connector reads (API 5.199, https://dev.vk.com/en/reference).

- the Callback API / Bots Long Poll event envelope ``{"type", "group_id", "event_id", "object"}`` and
  the objects of the events we turn into mentions: ``wall_reply_new/edit/restore`` (wall comment),
  ``wall_reply_delete``, ``wall_post_new`` (post), ``message_new`` / ``message_edit`` (message);
- attachments (photo with its sizes, doc, link, audio_message: the ones with a URL we keep);
- the method answers we read: ``groups.getLongPollServer``, the long poll ``a_check`` answer,
  ``wall.createComment``, ``messages.send`` with ``peer_ids``, ``groups.getById``, ``users.get``.

Only the fields we read are declared; VK adds fields freely and those are ignored. Integers are strict
(``"501"``, ``5.0`` and ``true`` are refused: VK sends numbers as numbers). A refused value is
``BadInput`` naming its path (``vk: object.message.from_id: Input should be a valid integer``).
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, RootModel, StrictInt, StrictStr

from connectors.shapes import Shape, parse_shape


def _text(value: Any) -> str:
    # The long poll ``ts`` is a string in current API versions and a number in older ones.
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"must be a string or an integer, got {type(value).__name__}")
    return str(value)


Text = Annotated[str, BeforeValidator(_text)]


class Event(Shape):
    """A Callback API request body or one Bots Long Poll update."""

    type: StrictStr
    group_id: StrictInt | None = None
    event_id: StrictStr | None = None
    object: Any = None  # its shape depends on ``type``: read by the event's own model


# ---------------------------------------------------------------- attachments


class PhotoSize(Shape):
    url: StrictStr
    width: StrictInt | None = None
    height: StrictInt | None = None


class Photo(Shape):
    sizes: list[PhotoSize] | None = None


class Linked(Shape):
    """doc and link carry ``url``; audio_message carries ``link_mp3``."""

    url: StrictStr | None = None
    link_mp3: StrictStr | None = None


class MediaAttachment(Shape):
    """``{"type": "photo", "photo": {...}}``: the body sits under the key named by ``type``."""

    type: StrictStr
    photo: Photo | None = None
    doc: Linked | None = None
    link: Linked | None = None
    audio_message: Linked | None = None


# ---------------------------------------------------------------- event objects


class WallComment(Shape):
    """``wall_reply_new`` / ``_edit`` / ``_restore``: a wall comment."""

    id: StrictInt
    post_id: StrictInt
    post_owner_id: StrictInt | None = None  # the wall; older events carry only ``owner_id``
    owner_id: StrictInt | None = None
    from_id: StrictInt
    date: StrictInt
    text: StrictStr | None = None
    reply_to_comment: StrictInt | None = None
    parents_stack: list[StrictInt] | None = None  # the thread's root comment first
    attachments: list[MediaAttachment] | None = None


class WallCommentDeleted(Shape):
    """``wall_reply_delete``: no date, no text; who deleted it."""

    owner_id: StrictInt
    id: StrictInt
    post_id: StrictInt
    deleter_id: StrictInt | None = None
    user_id: StrictInt | None = None  # older events


class WallPost(Shape):
    """``wall_post_new``."""

    id: StrictInt
    owner_id: StrictInt
    from_id: StrictInt
    date: StrictInt
    text: StrictStr | None = None
    post_type: StrictStr | None = None
    attachments: list[MediaAttachment] | None = None


class RepliedMessage(Shape):
    conversation_message_id: StrictInt | None = None
    from_id: StrictInt | None = None


class Message(Shape):
    """A message object (``message_new`` wraps it in ``{"message", "client_info"}``, ``message_edit`` not)."""

    id: StrictInt | None = None
    peer_id: StrictInt
    from_id: StrictInt
    conversation_message_id: StrictInt
    date: StrictInt
    out: StrictInt | None = None  # 1 = sent by the community
    text: StrictStr | None = None
    reply_message: RepliedMessage | None = None
    payload: StrictStr | None = None  # a keyboard button's payload (a JSON string)
    attachments: list[MediaAttachment] | None = None


class MessageNew(Shape):
    """``message_new`` object since API 5.103."""

    message: Message


class LongPollAnswer(Shape):
    """A Bots Long Poll answer given to ``parse_payload``: ``{"ts": "...", "updates": [event, ...]}``.

    The events stay raw here, so that one unreadable event can be told apart from the others.
    """

    updates: list[Any]


# ---------------------------------------------------------------- method answers


class LongPollServer(Shape):
    """``groups.getLongPollServer``; also the poll cursor (stored as JSON)."""

    server: Text
    key: Text
    ts: Text


class LongPollCheck(Shape):
    """The ``a_check`` answer: ``{"ts", "updates"}``, or ``{"failed": 1|2|3, "ts"?}``."""

    failed: StrictInt | None = None
    ts: Text | None = None
    updates: list[Any] | None = None


class CreatedComment(Shape):
    comment_id: StrictInt


class SentMessage(Shape):
    """One item of ``messages.send`` with ``peer_ids``: the message, or a per-peer ``error``."""

    peer_id: StrictInt | None = None
    conversation_message_id: StrictInt | None = None
    error: dict[str, Any] | None = None


class SentMessages(RootModel[list[SentMessage]]):
    pass


class Group(Shape):
    name: StrictStr | None = None
    screen_name: StrictStr | None = None
    photo_100: StrictStr | None = None


class GroupsById(Shape):
    """``groups.getById`` since API 5.194 (older versions answer the bare list)."""

    groups: list[Group]


class Groups(RootModel[GroupsById | list[Group]]):
    pass


class User(Shape):
    first_name: StrictStr | None = None
    last_name: StrictStr | None = None
    screen_name: StrictStr | None = None
    photo_100: StrictStr | None = None


class Users(RootModel[list[User]]):
    pass


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], value: Any, where: str) -> M:
    """``model`` from ``value``, or BadInput ``vk: <where>.<path>: <why>``."""
    return parse_shape("vk", model, value, where)
