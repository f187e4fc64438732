"""The app view's read shapes (``app.bsky.actor.defs``, ``app.bsky.feed.defs``) built from the fake's records.

Kept apart from models.py: they only read the state, and the lexicon's view types change independently
of how the PDS stores records.
"""

from __future__ import annotations

import threading
from typing import Any


class Views:
    """Mixin of ``BlueskyState``: profile, post and thread views."""

    lock: threading.RLock
    actors: dict[str, dict[str, Any]]
    records: dict[str, dict[str, Any]]

    def profile_view(self, did: str, *, detailed: bool = False) -> dict[str, Any]:
        actor = self.actors[did]
        view: dict[str, Any] = {
            "$type": "app.bsky.actor.defs#profileView" if not detailed else "app.bsky.actor.defs#profileViewDetailed",
            "did": did,
            "handle": actor["handle"],
            "displayName": actor["displayName"],
            "avatar": actor["avatar"],
            "createdAt": actor["createdAt"],
            "indexedAt": actor["indexedAt"],
            "labels": [],
        }
        if detailed:
            view.update(
                {
                    "description": actor["description"],
                    "followersCount": 0,
                    "followsCount": 0,
                    "postsCount": sum(1 for r in self.records.values() if r["did"] == did),
                }
            )
        else:
            view["description"] = actor["description"]
        return view

    def basic_view(self, did: str) -> dict[str, Any]:
        actor = self.actors[did]
        return {
            "did": did,
            "handle": actor["handle"],
            "displayName": actor["displayName"],
            "avatar": actor["avatar"],
            "labels": [],
        }

    def post_view(self, uri: str) -> dict[str, Any]:
        with self.lock:
            rec = self.records[uri]
            replies = sum(
                1 for r in self.records.values() if (r["value"].get("reply") or {}).get("parent", {}).get("uri") == uri
            )
            return {
                "$type": "app.bsky.feed.defs#postView",
                "uri": uri,
                "cid": rec["cid"],
                "author": self.basic_view(rec["did"]),
                "record": rec["value"],
                "replyCount": replies,
                "repostCount": 0,
                "likeCount": 0,
                "quoteCount": 0,
                "indexedAt": rec["indexedAt"],
                "labels": [],
            }

    def thread_view(self, uri: str, parent_height: int) -> dict[str, Any]:
        with self.lock:
            view: dict[str, Any] = {
                "$type": "app.bsky.feed.defs#threadViewPost",
                "post": self.post_view(uri),
                "replies": [],
            }
            parent_uri = (self.records[uri]["value"].get("reply") or {}).get("parent", {}).get("uri")
            if parent_uri and parent_height > 0:
                if parent_uri in self.records:
                    view["parent"] = self.thread_view(parent_uri, parent_height - 1)
                    view["parent"].pop("replies", None)
                else:
                    view["parent"] = {"$type": "app.bsky.feed.defs#notFoundPost", "uri": parent_uri, "notFound": True}
            return view
