"""pydantic models of the Bot API shapes the connector reads (https://core.telegram.org/bots/api).

Update, Message, Chat, User, MessageEntity, PhotoSize and the file objects (Document, Video, Voice,
Audio), plus the getUpdates answer. Only the fields we read are declared, with the types the Bot API
documents (Integer ids and dates are strict: ``"42"``, ``4.0`` or ``true`` are refused); Telegram adds
fields with every Bot API version, and those are ignored. Fields the Bot API marks optional, and
required ones we can do without (a user's ``first_name``), default to None, so an unusual but valid
Update still becomes a mention. A refused value is ``BadInput`` naming its path.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import Field, StrictBool, StrictInt, StrictStr

from connectors.shapes import Shape, parse_shape


class User(Shape):
    id: StrictInt
    is_bot: StrictBool | None = None  # only ``true`` marks a bot
    first_name: StrictStr | None = None
    last_name: StrictStr | None = None
    username: StrictStr | None = None


class Chat(Shape):
    id: StrictInt
    type: StrictStr | None = None  # private, group, supergroup, channel; anything else is skipped
    title: StrictStr | None = None
    username: StrictStr | None = None
    first_name: StrictStr | None = None
    last_name: StrictStr | None = None


class MessageEntity(Shape):
    type: StrictStr
    offset: StrictInt  # in UTF-16 code units
    length: StrictInt
    user: User | None = None  # for ``text_mention``


class PhotoSize(Shape):
    file_id: StrictStr


class File(Shape):
    """Document, Video, Voice and Audio share what we read: the bot-scoped ``file_id``."""

    file_id: StrictStr


class RepliedMessage(Shape):
    """``reply_to_message``: a Message without further ``reply_to_message`` (Bot API, Message)."""

    message_id: StrictInt
    sender: User | None = Field(default=None, alias="from")


class Message(Shape):
    message_id: StrictInt
    date: StrictInt
    chat: Chat
    sender: User | None = Field(default=None, alias="from")
    sender_chat: Chat | None = None  # anonymous group admins and channels speak as a chat
    message_thread_id: StrictInt | None = None
    reply_to_message: RepliedMessage | None = None
    edit_date: StrictInt | None = None
    text: StrictStr | None = None
    entities: list[MessageEntity] | None = None
    caption: StrictStr | None = None
    caption_entities: list[MessageEntity] | None = None
    photo: list[PhotoSize] | None = None  # sizes ascend: the last is the largest
    document: File | None = None
    video: File | None = None
    voice: File | None = None
    audio: File | None = None


class Update(Shape):
    """An Update carries ``update_id`` and at most one of its optional fields."""

    update_id: StrictInt
    message: Message | None = None
    edited_message: Message | None = None


class SentMessage(Shape):
    """The Message sendMessage answers with: only what the reply's id and link need.

    Kept smaller than ``Message`` on purpose: the text is already sent when this is read, so nothing
    we do not need may make it fail."""

    message_id: StrictInt
    chat: Chat


class UpdateId(Shape):
    """Just the ``update_id`` of an Update: enough to move the getUpdates cursor past it."""

    update_id: StrictInt


class UpdatesAnswer(Shape):
    """The getUpdates answer: ``{"ok": true, "result": [Update, ...]}``.

    The Updates stay raw here so that one unreadable Update can be told apart from the others.
    """

    ok: Literal[True]
    result: list[Any]


class FileAnswer(Shape):
    """getFile's ``result`` (File): ``file_path`` is absent when the file cannot be downloaded."""

    file_path: StrictStr | None = None


M = TypeVar("M", bound=Shape)


def parse(model: type[M], value: Any, where: str) -> M:
    """``model`` from ``value``, or BadInput ``telegram: <where>.<path>: <why>``."""
    return parse_shape("telegram", model, value, where)
