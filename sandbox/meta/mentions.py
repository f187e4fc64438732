"""Instagram @mentions of the brand in someone else's caption or comment (a mixin of ``MetaState``).

Documented behaviour (Instagram Platform > Mentions; IG User > mentioned_comment / mentioned_media;
Webhooks reference, Instagram ``mentions`` field):

* Instagram sends the brand's IG account a ``mentions`` change whose value is ``{"media_id",
  "comment_id"}`` for a comment, ``{"media_id"}`` for a caption — no author, no text;
* the brand reads it with ``GET /{ig-user-id}?fields=mentioned_comment.comment_id({id}){fields}``
  (comment fields ``id, like_count, media, text, timestamp``) or ``mentioned_media.media_id({id}){fields}``
  (media fields ``caption, comments_count, id, like_count, media_type, media_url, permalink, timestamp,
  username``). The comment's author is not among the fields; the media's owner is its ``username``.
* reading an object that does not mention the user is an error (code 100).
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

MENTIONED_COMMENT_FIELDS = {"id", "like_count", "media", "text", "timestamp"}
MENTIONED_MEDIA_FIELDS = {
    "caption",
    "comments_count",
    "id",
    "like_count",
    "media_type",
    "media_url",
    "permalink",
    "timestamp",
    "username",
}


class IgMentions:
    """What was written about (not to) the brand on others' media, keyed by the brand's IG id."""

    lock: threading.RLock
    ig_mentions: dict[str, dict[str, dict[str, Any]]]  # brand ig id -> object id -> rendered object

    def _next(self) -> int:
        raise NotImplementedError  # MetaState's id counter

    def _queue_change(self, obj: str, entry_id: str, field_name: str, value: dict[str, Any]) -> None:
        raise NotImplementedError  # MetaState's webhook queue

    def inject_ig_caption_mention(self, brand_ig_id: str, owner_username: str, caption: str, when: datetime) -> str:
        """Someone posts media whose caption @mentions the brand; returns the media id."""
        with self.lock:
            media_id = f"1790{self._next():012d}"
            self.ig_mentions.setdefault(brand_ig_id, {})[media_id] = {
                "id": media_id,
                "caption": caption,
                "comments_count": 0,
                "like_count": 0,
                "media_type": "IMAGE",
                "media_url": f"https://scontent.cdninstagram.invalid/{media_id}.jpg",
                "permalink": f"https://www.instagram.com/p/{media_id}/",
                "timestamp": when.strftime("%Y-%m-%dT%H:%M:%S+0000"),
                "username": owner_username,
            }
            self._queue_change("instagram", brand_ig_id, "mentions", {"media_id": media_id})
            return media_id

    def inject_ig_comment_mention(self, brand_ig_id: str, media_id: str, text: str, when: datetime) -> str:
        """Someone comments ``text`` (with @brand) on media ``media_id`` (not the brand's); returns its id."""
        with self.lock:
            comment_id = f"1789{self._next():012d}"
            self.ig_mentions.setdefault(brand_ig_id, {})[comment_id] = {
                "id": comment_id,
                "like_count": 0,
                "media": {"id": media_id, "permalink": f"https://www.instagram.com/p/{media_id}/"},
                "text": text,
                "timestamp": when.strftime("%Y-%m-%dT%H:%M:%S+0000"),
            }
            self._queue_change("instagram", brand_ig_id, "mentions", {"media_id": media_id, "comment_id": comment_id})
            return comment_id

    def mentioned(self, brand_ig_id: str, object_id: str) -> dict[str, Any] | None:
        with self.lock:
            found = self.ig_mentions.get(brand_ig_id, {}).get(object_id)
            return dict(found) if found is not None else None
