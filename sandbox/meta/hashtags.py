"""Instagram Hashtag Search in the Graph fake ("Instagram API with Facebook Login > Hashtag Search").

* ``GET /ig_hashtag_search?user_id={ig-user-id}&q={name}`` -> ``{"data": [{"id": hashtag-id}]}``. Ids
  are static and global. Querying a hashtag counts against the account's limit of **30 unique hashtags
  within a rolling 7-day period**; querying the same hashtag again in that time does not count and does
  not restart its 7 days. Emoji hashtags are not supported.
* ``GET /{ig-hashtag-id}/recent_media?user_id={ig-user-id}&fields=...`` -> public photos and videos
  tagged with it, published in the **last 24 hours**, newest first, cursor-paginated. Fields: ``id,
  caption, media_type, media_url, permalink, timestamp, comments_count, like_count, children``. No owner
  or username: Meta withholds who posted it.
* ``GET /{ig-user-id}/recently_searched_hashtags`` -> the hashtags counted this week (``data: [{id}]``).
* "You cannot comment on hashtagged media objects discovered through the API": a comment on one is
  refused as on any media the account does not own.

Meta documents no error code for a 31st hashtag; this fake answers it with a Graph parameter error
(code 100) whose message names the limit. Every call of the two search endpoints is counted
(``state.hashtag_calls``) so a test can hold a connector to its budget.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .exceptions import GraphError, invalid_param, missing_object
from .models import graph_time, now

UNIQUE_LIMIT = 30
WINDOW = timedelta(days=7)
RECENT = timedelta(hours=24)
RECENT_FIELDS = {
    "id", "caption", "media_type", "media_url", "permalink", "timestamp", "comments_count", "like_count", "children",
}  # fmt: skip
TAG = re.compile(r"#(\w+)", re.UNICODE)


@dataclass
class HashtagMedia:
    id: str
    caption: str
    created: datetime
    media_type: str = "IMAGE"


@dataclass
class Hashtags:
    ids: dict[str, str] = field(default_factory=dict)  # name (lower) -> static id
    media: list[HashtagMedia] = field(default_factory=list)
    searched: dict[str, dict[str, datetime]] = field(default_factory=dict)  # ig user -> hashtag id -> first query
    calls: int = 0

    def id_for(self, name: str) -> str:
        return self.ids.setdefault(name.lower(), str(17843000000000000 + len(self.ids) + 1))

    def name_of(self, hashtag_id: str) -> str | None:
        return next((n for n, i in self.ids.items() if i == hashtag_id), None)


def post_tagged(state: Any, caption: str, created: datetime | None = None) -> str:
    """Someone (not the brand) publishes public media with hashtags in its caption."""
    with state.lock:
        media = HashtagMedia(id=f"1790{state._next():012d}", caption=caption, created=created or now())
        state.hashtags.media.append(media)
        return media.id


def search(state: Any, args: Any) -> dict[str, Any]:
    user_id, name = str(args.get("user_id") or ""), str(args.get("q") or "").lstrip("#")
    if not user_id or user_id not in {p.ig_id for p in state.pages.values()}:
        raise invalid_param("param user_id must be the IG user id of an Instagram Business or Creator account")
    if not name or not re.fullmatch(r"\w+", name):
        raise invalid_param("param q must be a hashtag name (emoji hashtags are not supported)")
    tags: Hashtags = state.hashtags
    tags.calls += 1
    hashtag_id = tags.id_for(name)
    seen = tags.searched.setdefault(user_id, {})
    current = {h: t for h, t in seen.items() if now() - t < WINDOW}
    if hashtag_id not in current and len(current) >= UNIQUE_LIMIT:
        raise GraphError(
            f"(#100) This account has queried {UNIQUE_LIMIT} unique hashtags within the last 7 days, the "
            "maximum; it can query them again, or a new one once the oldest is 7 days old",
            code=100,
            type="OAuthException",
        )
    seen.setdefault(hashtag_id, now())  # a repeat neither counts again nor restarts its 7 days
    return {"data": [{"id": hashtag_id}]}


def recent_media(state: Any, hashtag_id: str, args: Any) -> list[dict[str, Any]]:
    tags: Hashtags = state.hashtags
    name = tags.name_of(hashtag_id)
    if name is None:
        raise missing_object(hashtag_id)
    user_id = str(args.get("user_id") or "")
    if not user_id or hashtag_id not in tags.searched.get(user_id, {}):
        raise invalid_param("param user_id is required and must have searched this hashtag")
    tags.calls += 1
    since = now() - RECENT
    found = [
        m for m in tags.media if m.created >= since and name in {t.lower() for t in TAG.findall(m.caption)}
    ]  # fmt: skip
    found.sort(key=lambda m: m.created, reverse=True)
    return [
        {
            "id": m.id,
            "caption": m.caption,
            "media_type": m.media_type,
            "permalink": f"https://www.instagram.com/p/{m.id}/",
            "timestamp": graph_time(m.created),
            "comments_count": 0,
            "like_count": 0,
        }
        for m in found
    ]


def recently_searched(state: Any, ig_id: str) -> list[dict[str, Any]]:
    seen = state.hashtags.searched.get(ig_id, {})
    return [{"id": h} for h, t in seen.items() if now() - t < WINDOW]
