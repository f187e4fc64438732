"""pydantic models of the Bluesky lexicon shapes the parser reads (https://docs.bsky.app/docs/api).

- ``app.bsky.notification.listNotifications#notification`` and ``app.bsky.feed.defs#postView`` (both
  carry uri, cid, author, record, indexedAt), ``app.bsky.feed.getPostThread`` output;
- ``app.bsky.actor.defs#profileViewBasic`` (the author), the ``app.bsky.feed.post`` record with its
  ``#replyRef`` of ``com.atproto.repo.strongRef``s;
- embeds: ``app.bsky.embed.images`` (record: blobs) and ``#view`` (hydrated: URLs),
  ``recordWithMedia`` and ``video#view``;
- ``chat.bsky.convo.defs#convoView`` / ``#messageView`` / ``#deletedMessageView``.

Why not atproto's generated models: the parser reads plain JSON (``horseshoe parse``, and the poll,
which hands it ``get_model_as_dict`` of the SDK's answer); atproto's models keep a ``record`` they
cannot validate as a plain dict without saying where it failed, and require fields we never read.
These declare only what we read, with lexicon names as aliases, so a refusal names the JSON path
(``bluesky: notification.record.reply.parent.uri: Field required``). Unknown keys are ignored.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, Field, StrictStr

from connectors.shapes import Shape, parse_shape


class StrongRef(Shape):
    uri: StrictStr
    cid: StrictStr | None = None


class ReplyRef(Shape):
    root: StrongRef | None = None
    parent: StrongRef | None = None


class BlobLink(Shape):
    link: StrictStr = Field(alias="$link")


class Blob(Shape):
    """A blob: ``{"$type": "blob", "ref": {"$link": cid}, "mimeType"}``; pre-2023 records: ``{"cid"}``."""

    ref: BlobLink | None = None
    cid: StrictStr | None = None


class EmbedImage(Shape):
    image: Blob | None = None  # in a record
    fullsize: StrictStr | None = None  # in a hydrated #view


class Embed(Shape):
    """Any embed; only the images, the media of a recordWithMedia and a video's playlist are read."""

    type: StrictStr | None = Field(default=None, alias="$type")
    images: list[EmbedImage] | None = None
    media: Embed | None = None
    playlist: StrictStr | None = None


class PostRecord(Shape):
    """``app.bsky.feed.post``."""

    text: StrictStr = ""
    created_at: StrictStr | None = Field(default=None, alias="createdAt")
    reply: ReplyRef | None = None
    langs: list[StrictStr] | None = None
    embed: Embed | None = None


class Profile(Shape):
    """``app.bsky.actor.defs#profileViewBasic``."""

    did: StrictStr = Field(min_length=1)
    handle: StrictStr | None = None
    display_name: StrictStr | None = Field(default=None, alias="displayName")
    avatar: StrictStr | None = None


class Post(Shape):
    """A notification or a postView: what becomes a public mention."""

    uri: StrictStr = Field(pattern=r"^at://")
    cid: StrictStr | None = None
    author: Profile
    record: PostRecord
    indexed_at: StrictStr | None = Field(default=None, alias="indexedAt")
    embed: Embed | None = None  # postView only: the hydrated embed


class NotificationReason(Shape):
    """Just enough of a notification to tell whether it is someone writing to us."""

    reason: StrictStr
    uri: Any = None  # only named in a skip


class ThreadView(Shape):
    post: Any = None  # a postView, absent for notFoundPost / blockedPost


class Thread(Shape):
    thread: ThreadView


class NotificationsPage(Shape):
    notifications: list[Any]  # each read on its own, so a skipped reason needs no readable post


class ConvoMember(Shape):
    did: StrictStr | None = None
    handle: StrictStr | None = None
    display_name: StrictStr | None = Field(default=None, alias="displayName")
    avatar: StrictStr | None = None


class Convo(Shape):
    """``chat.bsky.convo.defs#convoView``."""

    id: StrictStr
    members: list[ConvoMember] | None = None
    last_message: Any = Field(default=None, alias="lastMessage")  # read with the message models


class Sender(Shape):
    did: StrictStr = Field(pattern=r"^did:")


class ChatMessage(Shape):
    """``#messageView`` or ``#deletedMessageView`` (which has no ``text``)."""

    type: StrictStr | None = Field(default=None, alias="$type")
    id: StrictStr
    rev: StrictStr | None = None
    sender: Sender
    text: StrictStr | None = None
    sent_at: StrictStr | None = Field(default=None, alias="sentAt")


class Convos(Shape):
    """``chat.bsky.convo.listConvos`` output."""

    convos: list[Any]  # each read on its own (an empty conversation is skipped, not refused)


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], value: Any, where: str) -> M:
    """``model`` from ``value``, or BadInput ``bluesky: <where>.<path>: <why>``."""
    return parse_shape("bluesky", model, value, where)
