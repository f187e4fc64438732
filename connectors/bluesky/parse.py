"""Bluesky notifications and feed items -> Mention."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from plugin.connector import ParseResult, Skipped, item_boundary
from plugin.errors import BadInput
from plugin.models import Author, Kind, Mention, Visibility

from .chat import parse_convos
from .embeds import attachments
from .models import NotificationReason, NotificationsPage, Post, StrongRef, Thread, parse
from .text import post_url
from .values import NETWORK, as_datetime

DEFAULT_PDS = "https://bsky.social"
MAX_GRAPHEMES = 300  # app.bsky.feed.post#text maxGraphemes
REASONS = ("mention", "reply", "quote")
# ---- payload normalization -----------------------------------------------------------------------------


def ref(value: StrongRef | None) -> dict[str, str] | None:
    return {"uri": value.uri, "cid": value.cid or ""} if value is not None and value.uri else None


def _item_to_mention(raw: Any, account: str, reason: str, where: str) -> Mention:
    """A notification or a postView (both carry uri, cid, author, record, indexedAt)."""
    item = parse(Post, raw, where)
    record = item.record
    reply = record.reply
    root = ref(reply.root) if reply else None
    parent = ref(reply.parent) if reply else None
    if reason == "quote":
        kind = Kind.QUOTE
    elif parent:
        kind = Kind.REPLY
    else:
        kind = Kind.POST
    did = item.author.did
    handle = item.author.handle or None
    try:
        return Mention(
            network=NETWORK,
            external_id=item.uri,
            thread_id=root["uri"] if root else item.uri,
            parent_id=parent["uri"] if parent else None,
            kind=kind,
            visibility=Visibility.PUBLIC,
            author=Author(
                external_id=did,
                handle=handle,
                name=item.author.display_name or None,
                avatar_url=item.author.avatar or None,
                profile_url=f"https://bsky.app/profile/{handle or did}",
            ),
            text=record.text,
            created_at=as_datetime(record.created_at, item.indexed_at),
            url=post_url(handle, did, item.uri),
            lang=record.langs[0] if record.langs else None,
            attachments=attachments(item.embed, record.embed, did),
            account=account,
            extra={
                "cid": item.cid or "",
                "root": root,
                "parent": parent,
                "reason": reason,
                "indexed_at": item.indexed_at or None,
            },
        )
    except ValidationError as exc:
        raise BadInput(f"bluesky: {where} does not normalize: {exc.errors()[0].get('msg')}") from exc


def notification_to_mention(
    notification: Any, account: str, skipped: list[Skipped] | None = None, where: str = "notification"
) -> Mention | None:
    """A listNotifications item; None for reasons that are not a customer writing (like, follow...).

    ``where`` names it in a refusal (``notifications[3]``)."""
    found = parse(NotificationReason, notification, where)
    if found.reason not in REASONS:
        if skipped is not None:
            wanted = ", ".join(REASONS)
            reason = f"reason {found.reason!r} is not someone writing to us (only {wanted})"
            skipped.append(Skipped(f"notification {found.uri}", reason))
        return None
    return _item_to_mention(notification, account, found.reason, where)


def _jetstream_delete(event: Mapping[str, Any], account: str) -> Mention | None:
    """A Jetstream commit event ``{did, time_us, kind: "commit", commit: {operation, collection, rkey}}``:
    the deletion of ``at://{did}/app.bsky.feed.post/{rkey}`` by its author, else None."""
    commit = event["commit"]
    if commit.get("operation") != "delete" or commit.get("collection") != "app.bsky.feed.post":
        return None
    did, rkey, micros = event.get("did"), commit.get("rkey"), event.get("time_us")
    if not (isinstance(did, str) and did.startswith("did:") and isinstance(rkey, str) and rkey):
        raise BadInput("bluesky: commit event needs did and commit.rkey")
    if not isinstance(micros, int):
        raise BadInput("bluesky: commit event needs time_us (microseconds)")
    uri = f"at://{did}/app.bsky.feed.post/{rkey}"
    return Mention(
        network=NETWORK,
        external_id=uri,
        thread_id=uri,
        author=Author(external_id=did),
        created_at=datetime.fromtimestamp(micros / 1_000_000, tz=UTC),
        account=account,
        event="deleted",
    )


def explain_bluesky_payload(payload: Any, account: str | None = None) -> ParseResult:
    """listNotifications output, a list of notifications, one notification, a postView, a thread, or
    chat.bsky.convo.listConvos output (each conversation's last message)."""
    brand = account or "unknown"
    result = ParseResult()
    if isinstance(payload, list):
        for index, item in enumerate(payload):
            where = f"notifications[{index}]"
            with item_boundary(where, {"notifications": [item]}):
                found = notification_to_mention(item, brand, result.skipped, where)
                if found is not None:
                    result.mentions.append(found)
        return result
    if not isinstance(payload, Mapping):
        raise BadInput("bluesky: expected a JSON object or array")
    # Which output a payload is, is told by its keys: the lexicons' outputs carry no $type.
    if "notifications" in payload:
        return explain_bluesky_payload(parse(NotificationsPage, payload, "listNotifications").notifications, account)
    if "convos" in payload:
        if account is None:
            raise BadInput(
                "bluesky: chat conversations need --account (the brand's DID) to tell its own messages apart"
            )
        result.mentions.extend(parse_convos(payload, account, result.skipped))
        return result
    if "messages" in payload:
        raise BadInput(
            "bluesky: chat.bsky.convo.getMessages output names no conversation, so its messages cannot get their "
            "'{convoId}:{messageId}' ids; parse the listConvos output instead"
        )
    if payload.get("kind") == "commit" and isinstance(payload.get("commit"), Mapping):
        found = _jetstream_delete(payload, brand)
        if found is None:
            result.skipped.append(Skipped("commit", "not the deletion of a post (only those change a mention)"))
        else:
            result.mentions.append(found)
        return result
    if "thread" in payload:
        post = parse(Thread, payload, "getPostThread").thread.post
        if post is None:
            raise BadInput("bluesky: getPostThread.thread.post is missing (not found or blocked)")
        result.mentions.append(_item_to_mention(post, brand, "mention", "getPostThread.thread.post"))
        return result
    if "reason" in payload:
        single = notification_to_mention(payload, brand, result.skipped)
        result.mentions.extend([single] if single else [])
        return result
    if "uri" in payload and "record" in payload:
        result.mentions.append(_item_to_mention(payload, brand, "mention", "post"))
        return result
    raise BadInput("bluesky: not a Bluesky notification, post, thread or conversation list")


def parse_bluesky_payload(payload: Any, account: str | None = None) -> list[Mention]:
    return explain_bluesky_payload(payload, account).mentions


def post_view_to_mention(raw: Any, account: str, where: str) -> Mention:
    """A postView (getPosts, searchPosts) as a mention of ``account``."""
    return _item_to_mention(raw, account, "mention", where)
