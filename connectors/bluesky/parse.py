"""Bluesky notifications and feed items -> Mention."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from plugin.errors import BadInput
from plugin.models import Author, Kind, Mention, Visibility

from .text import post_url

NETWORK = "bluesky"
DEFAULT_PDS = "https://bsky.social"
MAX_GRAPHEMES = 300  # app.bsky.feed.post#text maxGraphemes
REASONS = ("mention", "reply", "quote")
# ---- payload normalization -----------------------------------------------------------------------------


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def ref(value: Any) -> dict[str, str] | None:
    if isinstance(value, Mapping) and _str(value.get("uri")):
        return {"uri": str(value["uri"]), "cid": str(value.get("cid") or "")}
    return None


def _datetime(value: Any, fallback: Any = None) -> datetime:
    for candidate in (value, fallback):
        if isinstance(candidate, str) and candidate:
            try:
                return datetime.fromisoformat(candidate.replace("Z", "+00:00"))
            except ValueError:
                continue
    raise BadInput("createdAt/indexedAt is missing or not a datetime")


def _item_to_mention(item: Mapping[str, Any], account: str, reason: str) -> Mention:
    """A notification or a postView (both carry uri, cid, author, record, indexedAt)."""
    uri = _str(item.get("uri"))
    if not uri or not uri.startswith("at://"):
        raise BadInput("item.uri must be an at:// URI")
    author = item.get("author")
    if not isinstance(author, Mapping) or not _str(author.get("did")):
        raise BadInput("item.author.did is missing")
    record = item.get("record")
    if not isinstance(record, Mapping):
        raise BadInput("item.record is missing")
    text = record.get("text", "")
    if not isinstance(text, str):
        raise BadInput("record.text is not a string")
    reply = record.get("reply") if isinstance(record.get("reply"), Mapping) else None
    root = ref(reply.get("root")) if reply else None
    parent = ref(reply.get("parent")) if reply else None
    if reason == "quote":
        kind = Kind.QUOTE
    elif parent:
        kind = Kind.REPLY
    else:
        kind = Kind.POST
    did = str(author["did"])
    handle = _str(author.get("handle"))
    langs = record.get("langs")
    lang = langs[0] if isinstance(langs, list) and langs and isinstance(langs[0], str) else None
    try:
        return Mention(
            network=NETWORK,
            external_id=uri,
            thread_id=root["uri"] if root else uri,
            parent_id=parent["uri"] if parent else None,
            kind=kind,
            visibility=Visibility.PUBLIC,
            author=Author(
                external_id=did,
                handle=handle,
                name=_str(author.get("displayName")),
                avatar_url=_str(author.get("avatar")),
                profile_url=f"https://bsky.app/profile/{handle or did}",
            ),
            text=text,
            created_at=_datetime(record.get("createdAt"), item.get("indexedAt")),
            url=post_url(handle, did, uri),
            lang=lang,
            account=account,
            extra={
                "cid": str(item.get("cid") or ""),
                "root": root,
                "parent": parent,
                "reason": reason,
                "indexed_at": _str(item.get("indexedAt")),
            },
        )
    except ValidationError as exc:
        raise BadInput(f"item does not normalize: {exc.errors()[0].get('msg')}") from exc


def notification_to_mention(notification: Mapping[str, Any], account: str) -> Mention | None:
    """A listNotifications item; None for reasons that are not a customer writing (like, follow...)."""
    if not isinstance(notification, Mapping):
        raise BadInput("notification must be an object")
    reason = notification.get("reason")
    if not isinstance(reason, str):
        raise BadInput("notification.reason is missing")
    if reason not in REASONS:
        return None
    return _item_to_mention(notification, account, reason)


def parse_bluesky_payload(payload: Any, account: str | None = None) -> list[Mention]:
    """listNotifications output, a list of notifications, one notification, a postView or a thread."""
    brand = account or "unknown"
    if isinstance(payload, list):
        listed = [notification_to_mention(n, brand) for n in payload]
        return [m for m in listed if m is not None]
    if not isinstance(payload, Mapping):
        raise BadInput("expected a JSON object or array")
    if "notifications" in payload:
        items = payload["notifications"]
        if not isinstance(items, list):
            raise BadInput("notifications must be an array")
        return parse_bluesky_payload(items, account)
    if "thread" in payload:
        thread = payload["thread"]
        post = thread.get("post") if isinstance(thread, Mapping) else None
        if not isinstance(post, Mapping):
            raise BadInput("thread.post is missing (not found or blocked)")
        return [_item_to_mention(post, brand, "mention")]
    if "reason" in payload:
        single = notification_to_mention(payload, brand)
        return [single] if single else []
    if "uri" in payload and "record" in payload:
        return [_item_to_mention(payload, brand, "mention")]
    raise BadInput("not a Bluesky notification, post or thread")

