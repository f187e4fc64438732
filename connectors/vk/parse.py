"""Callback API / Bots Long Poll events -> Mention (see the package docstring for what counts).

Anything of the wrong shape is BadInput with a reason, never a KeyError/TypeError.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from plugin.connector import Skipped
from plugin.errors import BadInput
from plugin.models import Attachment, Author, Kind, Mention, Visibility

from .models import (
    Event,
    LongPollAnswer,
    MediaAttachment,
    Message,
    MessageNew,
    WallComment,
    WallCommentDeleted,
    WallPost,
    parse,
)

CHAT_PEER_BASE = 2_000_000_000  # peer ids of multi-user chats start here
# Account setting ``group_messages``: which messages in community chats become mentions.
ADDRESSED = "addressed"  # mentions of the community, replies to it, keyboard-button commands
ALL = "all"


def _when(value: int, what: str) -> datetime:
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise BadInput(f"vk: {what} is not a valid unix time") from None


def _author(from_id: int) -> Author:
    if from_id < 0:
        return Author(external_id=str(from_id), profile_url=f"https://vk.com/club{-from_id}")
    return Author(external_id=str(from_id), profile_url=f"https://vk.com/id{from_id}")


def _attachments(items: list[MediaAttachment] | None) -> list[Attachment]:
    out: list[Attachment] = []
    for item in items or ():
        kind, url = item.type, None
        if kind == "photo":
            sizes = item.photo.sizes if item.photo is not None else None
            if sizes:
                url = max(sizes, key=lambda s: (s.width or 0) * (s.height or 0)).url
            kind = "image"
        elif kind in ("doc", "link", "audio_message"):
            body = getattr(item, kind)  # the body sits under the key its type names
            url = (body.url or body.link_mp3) if body is not None else None
        if url:
            out.append(Attachment(url=url, type=kind))
    return out


def mentions_group(text: str, group_id: int) -> bool:
    """``[club123|Name]``, ``[public123|Name]``, ``@club123`` / ``*club123`` are VK's mention markups."""
    pattern = rf"(\[(?:club|public){group_id}\|)|([@*](?:club|public){group_id}\b)"
    return re.search(pattern, text) is not None


class _Ctx:
    """What one event is parsed against, and where its skips are noted."""

    def __init__(self, group_id: int, account: str, event: Event, group_messages: str, skipped: list[Skipped]):
        self.group_id = group_id
        self.account = account
        self.event_id = event.event_id
        self.type = event.type
        self.group_messages = group_messages
        self.skipped = skipped

    def skip(self, reason: str) -> list[Mention]:
        self.skipped.append(Skipped(f"{self.type} {self.event_id or ''}".strip(), reason))
        return []

    def extra(self, **values: Any) -> dict[str, Any]:
        return {"event_type": self.type, "event_id": self.event_id, **values}


def _wall_comment(obj: WallComment, ctx: _Ctx, event: str) -> list[Mention]:
    owner_id = obj.post_owner_id if obj.post_owner_id is not None else obj.owner_id
    if owner_id is None:
        raise BadInput("vk: object.post_owner_id: the wall comment names no wall (nor owner_id)")
    if obj.from_id == -ctx.group_id:
        return ctx.skip("our own comment coming back")
    parent_id = f"{owner_id}_{obj.reply_to_comment}" if obj.reply_to_comment else None
    thread = f"{owner_id}_{obj.post_id}"
    thread_root = obj.parents_stack[0] if obj.parents_stack else None
    url = f"https://vk.com/wall{owner_id}_{obj.post_id}?reply={obj.id}"
    if thread_root:
        url += f"&thread={thread_root}"
    return [
        Mention(
            network="vk",
            external_id=f"{owner_id}_{obj.id}",
            thread_id=thread,
            parent_id=parent_id or thread,
            kind=Kind.REPLY if parent_id else Kind.COMMENT,
            visibility=Visibility.PUBLIC,
            author=_author(obj.from_id),
            text=obj.text or "",
            created_at=_when(obj.date, "object.date"),
            url=url,
            attachments=_attachments(obj.attachments),
            account=ctx.account,
            event=event,  # type: ignore[arg-type]
            extra=ctx.extra(owner_id=owner_id, post_id=obj.post_id, comment_id=obj.id),
        )
    ]


def _wall_comment_deleted(obj: WallCommentDeleted, ctx: _Ctx) -> list[Mention]:
    deleter = obj.deleter_id if obj.deleter_id is not None else obj.user_id
    deleter_id = deleter if deleter is not None else -ctx.group_id
    # The event carries no date; the moment we learn about the deletion is the best we have.
    return [
        Mention(
            network="vk",
            external_id=f"{obj.owner_id}_{obj.id}",
            thread_id=f"{obj.owner_id}_{obj.post_id}",
            kind=Kind.COMMENT,
            author=_author(deleter_id),
            created_at=datetime.now(UTC),
            account=ctx.account,
            event="deleted",
            extra=ctx.extra(owner_id=obj.owner_id, post_id=obj.post_id, comment_id=obj.id, deleter_id=deleter_id),
        )
    ]


def _wall_post(obj: WallPost, ctx: _Ctx) -> list[Mention]:
    text = obj.text or ""
    if obj.from_id == -ctx.group_id:
        return ctx.skip("the community's own post")
    on_our_wall = obj.owner_id == -ctx.group_id
    if not (on_our_wall or mentions_group(text, ctx.group_id)):
        return ctx.skip("a post on another wall that does not mention the community")
    external_id = f"{obj.owner_id}_{obj.id}"
    return [
        Mention(
            network="vk",
            external_id=external_id,
            thread_id=external_id,
            kind=Kind.POST,
            visibility=Visibility.PUBLIC,
            author=_author(obj.from_id),
            text=text,
            created_at=_when(obj.date, "object.date"),
            url=f"https://vk.com/wall{external_id}",
            attachments=_attachments(obj.attachments),
            account=ctx.account,
            extra=ctx.extra(owner_id=obj.owner_id, post_id=obj.id, post_type=obj.post_type),
        )
    ]


def _message(msg: Message, ctx: _Ctx, event: str) -> list[Mention]:
    peer_id, cmid = msg.peer_id, msg.conversation_message_id
    if msg.from_id == -ctx.group_id or msg.out == 1:
        return ctx.skip("our own outgoing message (echo)")
    text = msg.text or ""
    reply = msg.reply_message
    parent_id = None
    replies_to_us = False
    if reply is not None and reply.conversation_message_id is not None:
        parent_id = f"{peer_id}_{reply.conversation_message_id}"
        replies_to_us = reply.from_id == -ctx.group_id
    in_chat = peer_id >= CHAT_PEER_BASE
    # A keyboard button press carries a ``payload``: a command to the bot, addressed by definition.
    addressed = replies_to_us or mentions_group(text, ctx.group_id) or bool(msg.payload)
    if in_chat and not addressed and ctx.group_messages != ALL:
        return ctx.skip(
            "community chat message not addressed to the community (no mention, reply or button command); "
            f"account setting group_messages={ADDRESSED}"
        )
    kind = Kind.DIRECT
    if in_chat:
        kind = Kind.REPLY if replies_to_us else Kind.COMMENT
    return [
        Mention(
            network="vk",
            external_id=f"{peer_id}_{cmid}",
            thread_id=str(peer_id),
            parent_id=parent_id,
            kind=kind,
            visibility=Visibility.PRIVATE,
            author=_author(msg.from_id),
            text=text,
            created_at=_when(msg.date, "message.date"),
            url=f"https://vk.com/gim{ctx.group_id}?sel={peer_id}" if not in_chat else None,
            attachments=_attachments(msg.attachments),
            account=ctx.account,
            event=event,  # type: ignore[arg-type]
            extra=ctx.extra(peer_id=peer_id, conversation_message_id=cmid, message_id=msg.id, addressed=addressed),
        )
    ]


def parse_event(
    event: Any,
    account: str | None = None,
    *,
    group_messages: str = ADDRESSED,
    skipped: list[Skipped] | None = None,
) -> list[Mention]:
    """One Callback API / Bots Long Poll event -> mentions (0 or 1). Raises only BadInput.

    ``group_messages``: ``addressed`` keeps only community-chat messages addressed to us, ``all`` every
    one. What is left out is appended to ``skipped`` with the reason.
    """
    notes: list[Skipped] = [] if skipped is None else skipped
    ev = parse(Event, event, "event")
    ev_type = ev.type
    if ev_type == "confirmation":
        notes.append(Skipped("confirmation", "a Callback API handshake, answered with the confirmation code"))
        return []
    group_id = ev.group_id
    if group_id is None:
        if account is None or not account.lstrip("-").isdigit():
            raise BadInput("vk: event has no group_id and no account was given")
        group_id = abs(int(account))
    ctx = _Ctx(abs(group_id), account or str(abs(group_id)), ev, group_messages, notes)
    obj = ev.object
    try:
        if ev_type in ("wall_reply_new", "wall_reply_edit", "wall_reply_restore"):
            edited = "edited" if ev_type == "wall_reply_edit" else "created"
            return _wall_comment(parse(WallComment, obj, "object"), ctx, edited)
        if ev_type == "wall_reply_delete":
            return _wall_comment_deleted(parse(WallCommentDeleted, obj, "object"), ctx)
        if ev_type == "wall_post_new":
            return _wall_post(parse(WallPost, obj, "object"), ctx)
        if ev_type == "message_new":
            # API >= 5.103 wraps the message: {"message": {...}, "client_info": {...}}; older ones do not.
            wrapped = isinstance(obj, dict) and "message" in obj
            msg = parse(MessageNew, obj, "object").message if wrapped else parse(Message, obj, "object")
            return _message(msg, ctx, "created")
        if ev_type == "message_edit":
            return _message(parse(Message, obj, "object"), ctx, "edited")
    except ValueError as exc:  # pydantic ValidationError from Mention: a value the models refuse
        raise BadInput(f"vk: cannot normalize {ev_type}: {exc}") from None
    return ctx.skip(f"event type {ev_type!r} is not something a customer wrote to us")


def events_of(payload: Any) -> list[Any]:
    """The events of a payload: one event, a list of them, or a Bots Long Poll answer."""
    if isinstance(payload, list):
        return payload
    if isinstance(payload, dict) and "updates" in payload:  # a Bots Long Poll answer
        return parse(LongPollAnswer, payload, "long poll answer").updates
    if isinstance(payload, dict):
        return [payload]
    raise BadInput("vk: payload must be an event, a list of events or a long poll answer")
