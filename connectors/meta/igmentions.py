"""Instagram ``mentions``: the brand @-tagged in someone else's caption or comment.

The webhook change (object ``instagram``, field ``mentions``) carries only ``{"media_id", "comment_id"}``
(no ``comment_id`` for a caption). Meta documents reading the object through the brand's own node,
since the comment or media belongs to someone else (Instagram Platform > Mentions):

* ``GET /{ig-user-id}?fields=mentioned_comment.comment_id({comment-id}){id,text,timestamp,media{...}}``
* ``GET /{ig-user-id}?fields=mentioned_media.media_id({media-id}){id,caption,timestamp,permalink,username,...}``

Neither names the author's Instagram id (a comment's author is not among the fields at all; a media's
owner only as ``username``), so the mention's ``author.external_id`` is ``"unknown:{object id}"``: unique,
so that identity resolution never merges two strangers, and never a handle. An object Graph no longer
serves (deleted, comments turned off: code 100) is skipped with a logged reason.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from plugin.connector import Skipped, item_boundary
from plugin.errors import FatalError
from plugin.models import Attachment, Author, Kind, Mention

from .fields import as_dict, build_mention, id_str, opt_str, to_datetime
from .graph import GraphClient
from .webhook import changes, entries

log = logging.getLogger(__name__)
NETWORK = "instagram"
COMMENT_FIELDS = "id,text,timestamp,like_count,media{id,permalink}"
MEDIA_FIELDS = "id,caption,timestamp,permalink,username,media_type,media_url"
MEDIA_TYPES = {"IMAGE": "image", "VIDEO": "video", "CAROUSEL_ALBUM": "image"}


@dataclass(frozen=True)
class MentionRef:
    """One ``mentions`` change: what to look up, and where it was in the body."""

    ig_id: str
    media_id: str
    comment_id: str | None
    where: str


def mention_refs(payload: Any, account: str | None) -> list[MentionRef]:
    refs: list[MentionRef] = []
    for entry in entries(payload, "instagram", account):
        for raw, where, body in changes(entry, ("mentions",), refuse=False):  # parse_webhook refused those
            with item_boundary(where, body):
                value = as_dict(raw, where)
                comment = value.get("comment_id")
                refs.append(
                    MentionRef(
                        ig_id=entry.id,
                        media_id=id_str(value.get("media_id"), f"{where}.media_id"),
                        comment_id=id_str(comment, f"{where}.comment_id") if comment is not None else None,
                        where=where,
                    )
                )
    return refs


def _unknown_author(object_id: str, username: str | None) -> Author:
    return Author(
        external_id=f"unknown:{object_id}",
        handle=username,
        profile_url=f"https://www.instagram.com/{username}" if username else None,
    )


def comment_mention(
    ig_id: str, raw: Mapping[str, Any], media_id: str | None = None, where: str = "mentioned_comment"
) -> Mention:
    """A ``mentioned_comment`` node -> a public comment mention on someone else's media.

    ``media`` is not a default field: without it (and without the webhook's ``media_id``) the comment
    is its own thread."""
    comment_id = id_str(raw.get("id"), f"{where}.id")
    media = as_dict(raw.get("media") or {}, f"{where}.media")
    if media.get("id") is not None:
        media_id = id_str(media.get("id"), f"{where}.media.id")
    permalink = media.get("permalink") if isinstance(media.get("permalink"), str) else None
    return build_mention(
        network=NETWORK,
        external_id=comment_id,
        thread_id=media_id or comment_id,
        parent_id=media_id,
        kind=Kind.COMMENT,
        author=_unknown_author(comment_id, None),
        text=opt_str(raw.get("text"), f"{where}.text") or "",
        created_at=to_datetime(raw.get("timestamp"), f"{where}.timestamp"),
        url=permalink,
        account=ig_id,
        extra={"media_id": media_id, "mentioned_in": "comment"},
    )


def media_mention(ig_id: str, raw: Mapping[str, Any], where: str = "mentioned_media") -> Mention:
    """A ``mentioned_media`` node -> a public post mention (the brand tagged in the caption)."""
    media_id = id_str(raw.get("id"), f"{where}.id")
    url = raw.get("media_url")
    kind = MEDIA_TYPES.get(str(raw.get("media_type")), "file")
    return build_mention(
        network=NETWORK,
        external_id=media_id,
        thread_id=media_id,
        kind=Kind.POST,
        author=_unknown_author(media_id, opt_str(raw.get("username"), f"{where}.username")),
        text=opt_str(raw.get("caption"), f"{where}.caption") or "",
        created_at=to_datetime(raw.get("timestamp"), f"{where}.timestamp"),
        url=raw.get("permalink") if isinstance(raw.get("permalink"), str) else None,
        attachments=[Attachment(url=url, type=kind)] if isinstance(url, str) and url.startswith("https://") else [],
        account=ig_id,
        extra={"media_id": media_id, "mentioned_in": "caption"},
    )


def resolve(client: GraphClient, ref: MentionRef, skipped: list[Skipped]) -> Mention | None:
    """Look one ``mentions`` change up in Graph; None (noted and logged) when Graph no longer has it."""
    if ref.comment_id is not None:
        field, target = "mentioned_comment", f"mentioned_comment.comment_id({ref.comment_id}){{{COMMENT_FIELDS}}}"
    else:
        field, target = "mentioned_media", f"mentioned_media.media_id({ref.media_id}){{{MEDIA_FIELDS}}}"
    try:
        data = client.get(ref.ig_id, {"fields": target})
    except FatalError as exc:
        if exc.code != "100":
            raise
        reason = f"Graph no longer serves the {field} (deleted, private or comments off): {exc}"
        log.warning("instagram %s: %s", ref.where, reason)
        skipped.append(Skipped(ref.where, reason))
        return None
    node = as_dict(as_dict(data, "mention lookup").get(field), field)
    if ref.comment_id is not None:
        return comment_mention(ref.ig_id, node, ref.media_id)
    return media_mention(ref.ig_id, node)


def parse_lookup(payload: Mapping[str, Any]) -> list[Mention]:
    """A lookup answer ``{"id": ig-user-id, "mentioned_comment"|"mentioned_media": {...}}`` (for parse)."""
    ig_id = id_str(payload.get("id"), "id")
    found: list[Mention] = []
    if "mentioned_comment" in payload:
        found.append(comment_mention(ig_id, as_dict(payload["mentioned_comment"], "mentioned_comment")))
    if "mentioned_media" in payload:
        found.append(media_mention(ig_id, as_dict(payload["mentioned_media"], "mentioned_media")))
    return found
