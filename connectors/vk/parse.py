"""Callback API / Bots Long Poll events -> Mention (see the package docstring for what counts).

Anything of the wrong shape is BadInput with a reason, never a KeyError/TypeError.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from plugin.errors import BadInput
from plugin.models import Attachment, Author, Kind, Mention, Visibility

CHAT_PEER_BASE = 2_000_000_000  # peer ids of multi-user chats start here


def _obj(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadInput(f"vk: {what} must be an object")
    return value


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadInput(f"vk: {what} must be an integer")
    return value


def _when(value: Any, what: str) -> datetime:
    try:
        return datetime.fromtimestamp(_int(value, what), UTC)
    except (OverflowError, OSError, ValueError):
        raise BadInput(f"vk: {what} is not a valid unix time") from None


def _author(from_id: int) -> Author:
    if from_id < 0:
        return Author(external_id=str(from_id), profile_url=f"https://vk.com/club{-from_id}")
    return Author(external_id=str(from_id), profile_url=f"https://vk.com/id{from_id}")


def _attachments(obj: dict[str, Any]) -> list[Attachment]:
    out: list[Attachment] = []
    items = obj.get("attachments")
    if not isinstance(items, list):
        return out
    for item in items:
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        body = item.get(kind) if isinstance(kind, str) else None
        if not isinstance(body, dict):
            continue
        url = None
        if kind == "photo" and isinstance(body.get("sizes"), list):
            sizes = [s for s in body["sizes"] if isinstance(s, dict) and isinstance(s.get("url"), str)]
            if sizes:
                best = max(sizes, key=lambda s: (s.get("width") or 0) * (s.get("height") or 0))
                url = best["url"]
            kind = "image"
        elif kind in ("doc", "link", "audio_message"):
            url = body.get("url") or body.get("link_mp3")
        if isinstance(url, str) and url:
            out.append(Attachment(url=url, type=str(kind)))
    return out


def mentions_group(text: str, group_id: int) -> bool:
    """``[club123|Name]``, ``[public123|Name]``, ``@club123`` / ``*club123`` are VK's mention markups."""
    pattern = rf"(\[(?:club|public){group_id}\|)|([@*](?:club|public){group_id}\b)"
    return re.search(pattern, text) is not None


class _Ctx:
    """What one event is parsed against."""

    def __init__(self, group_id: int, account: str, event: dict[str, Any]):
        self.group_id = group_id
        self.account = account
        self.event_id = event.get("event_id") if isinstance(event.get("event_id"), str) else None
        self.type = str(event.get("type"))

    def extra(self, **values: Any) -> dict[str, Any]:
        return {"event_type": self.type, "event_id": self.event_id, **values}


def _wall_comment(obj: dict[str, Any], ctx: _Ctx, event: str) -> list[Mention]:
    comment_id = _int(obj.get("id"), "comment.id")
    post_id = _int(obj.get("post_id"), "comment.post_id")
    owner_id = _int(obj.get("post_owner_id", obj.get("owner_id")), "comment.post_owner_id")
    from_id = _int(obj.get("from_id"), "comment.from_id")
    if from_id == -ctx.group_id:
        return []  # our own comment coming back
    reply_to = obj.get("reply_to_comment")
    parent_id = f"{owner_id}_{reply_to}" if isinstance(reply_to, int) and reply_to else None
    thread = f"{owner_id}_{post_id}"
    stack = obj.get("parents_stack")
    thread_root = stack[0] if isinstance(stack, list) and stack and isinstance(stack[0], int) else None
    url = f"https://vk.com/wall{owner_id}_{post_id}?reply={comment_id}"
    if thread_root:
        url += f"&thread={thread_root}"
    text = obj.get("text")
    return [
        Mention(
            network="vk",
            external_id=f"{owner_id}_{comment_id}",
            thread_id=thread,
            parent_id=parent_id or thread,
            kind=Kind.REPLY if parent_id else Kind.COMMENT,
            visibility=Visibility.PUBLIC,
            author=_author(from_id),
            text=text if isinstance(text, str) else "",
            created_at=_when(obj.get("date"), "comment.date"),
            url=url,
            attachments=_attachments(obj),
            account=ctx.account,
            event=event,  # type: ignore[arg-type]
            extra=ctx.extra(owner_id=owner_id, post_id=post_id, comment_id=comment_id),
        )
    ]


def _wall_comment_deleted(obj: dict[str, Any], ctx: _Ctx) -> list[Mention]:
    owner_id = _int(obj.get("owner_id"), "wall_reply_delete.owner_id")
    comment_id = _int(obj.get("id"), "wall_reply_delete.id")
    post_id = _int(obj.get("post_id"), "wall_reply_delete.post_id")
    deleter = obj.get("deleter_id", obj.get("user_id"))
    deleter_id = deleter if isinstance(deleter, int) and not isinstance(deleter, bool) else -ctx.group_id
    # The event carries no date; the moment we learn about the deletion is the best we have.
    return [
        Mention(
            network="vk",
            external_id=f"{owner_id}_{comment_id}",
            thread_id=f"{owner_id}_{post_id}",
            kind=Kind.COMMENT,
            author=_author(deleter_id),
            created_at=datetime.now(UTC),
            account=ctx.account,
            event="deleted",
            extra=ctx.extra(owner_id=owner_id, post_id=post_id, comment_id=comment_id, deleter_id=deleter_id),
        )
    ]


def _wall_post(obj: dict[str, Any], ctx: _Ctx) -> list[Mention]:
    post_id = _int(obj.get("id"), "post.id")
    owner_id = _int(obj.get("owner_id"), "post.owner_id")
    from_id = _int(obj.get("from_id"), "post.from_id")
    raw_text = obj.get("text")
    text = raw_text if isinstance(raw_text, str) else ""
    if from_id == -ctx.group_id:
        return []  # the community's own post
    on_our_wall = owner_id == -ctx.group_id
    if not (on_our_wall or mentions_group(text, ctx.group_id)):
        return []
    external_id = f"{owner_id}_{post_id}"
    return [
        Mention(
            network="vk",
            external_id=external_id,
            thread_id=external_id,
            kind=Kind.POST,
            visibility=Visibility.PUBLIC,
            author=_author(from_id),
            text=text,
            created_at=_when(obj.get("date"), "post.date"),
            url=f"https://vk.com/wall{external_id}",
            attachments=_attachments(obj),
            account=ctx.account,
            extra=ctx.extra(owner_id=owner_id, post_id=post_id, post_type=obj.get("post_type")),
        )
    ]


def _message(msg: dict[str, Any], ctx: _Ctx, event: str) -> list[Mention]:
    peer_id = _int(msg.get("peer_id"), "message.peer_id")
    from_id = _int(msg.get("from_id"), "message.from_id")
    cmid = _int(msg.get("conversation_message_id"), "message.conversation_message_id")
    if from_id == -ctx.group_id or msg.get("out") == 1:
        return []  # outgoing / echo
    raw_text = msg.get("text")
    text = raw_text if isinstance(raw_text, str) else ""
    reply = msg.get("reply_message")
    parent_id = None
    replies_to_us = False
    if isinstance(reply, dict) and isinstance(reply.get("conversation_message_id"), int):
        parent_id = f"{peer_id}_{reply['conversation_message_id']}"
        replies_to_us = reply.get("from_id") == -ctx.group_id
    in_chat = peer_id >= CHAT_PEER_BASE
    if in_chat and not (replies_to_us or mentions_group(text, ctx.group_id)):
        return []
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
            author=_author(from_id),
            text=text,
            created_at=_when(msg.get("date"), "message.date"),
            url=f"https://vk.com/gim{ctx.group_id}?sel={peer_id}" if not in_chat else None,
            attachments=_attachments(msg),
            account=ctx.account,
            event=event,  # type: ignore[arg-type]
            extra=ctx.extra(peer_id=peer_id, conversation_message_id=cmid, message_id=msg.get("id")),
        )
    ]


def parse_event(event: Any, account: str | None = None) -> list[Mention]:
    """One Callback API / Bots Long Poll event -> mentions (0 or 1). Raises only BadInput."""
    ev = _obj(event, "event")
    ev_type = ev.get("type")
    if not isinstance(ev_type, str):
        raise BadInput("vk: event has no type")
    if ev_type == "confirmation":
        return []
    group_id = _int(ev.get("group_id"), "event.group_id") if "group_id" in ev else None
    if group_id is None:
        if account is None or not account.lstrip("-").isdigit():
            raise BadInput("vk: event has no group_id and no account was given")
        group_id = abs(int(account))
    ctx = _Ctx(abs(group_id), account or str(abs(group_id)), ev)
    obj = ev.get("object")
    try:
        if ev_type in ("wall_reply_new", "wall_reply_edit", "wall_reply_restore"):
            edited = "edited" if ev_type == "wall_reply_edit" else "created"
            return _wall_comment(_obj(obj, "object"), ctx, edited)
        if ev_type == "wall_reply_delete":
            return _wall_comment_deleted(_obj(obj, "object"), ctx)
        if ev_type == "wall_post_new":
            return _wall_post(_obj(obj, "object"), ctx)
        if ev_type == "message_new":
            body = _obj(obj, "object")
            # API >= 5.103 wraps the message: {"message": {...}, "client_info": {...}}
            msg = body["message"] if "message" in body else body
            return _message(_obj(msg, "object.message"), ctx, "created")
        if ev_type == "message_edit":
            return _message(_obj(obj, "object"), ctx, "edited")
    except ValueError as exc:  # pydantic ValidationError: a value the models refuse
        raise BadInput(f"vk: cannot normalize {ev_type}: {exc}") from None
    return []  # likes, joins, typing, message_reply (our own outgoing)...


def events_of(payload: Any) -> list[Any]:
    if isinstance(payload, list):
        return payload
    if isinstance(payload, dict) and "updates" in payload:  # a Bots Long Poll answer
        if not isinstance(payload["updates"], list):
            raise BadInput("vk: long poll updates must be a list")
        return list(payload["updates"])
    if isinstance(payload, dict):
        return [payload]
    raise BadInput("vk: payload must be an event, a list of events or a long poll answer")

