"""``newsfeed.search`` in the VK fake: public posts anywhere on VK that contain a query.

From VK's reference (dev.vk.com/ru/method/newsfeed.search): callable with a **user** access token or the
app's **service** token, not a community token (error 27 "Group authorization failed: method is
unavailable with group auth"); ``q`` is the query (words, ``#hashtags``); posts come newest first;
``start_time`` defaults to 24 hours ago, ``end_time`` to now; ``count`` at most 200; ``start_from`` is
the ``next_from`` of the previous page; only the first 1000 results of a query are reachable. The answer
is ``{"items": [post...], "count", "total_count", "next_from"?}``; ``extended=1`` adds ``profiles`` and
``groups``. Every call is counted (``state.search_calls``) so tests can hold a connector to its budget.
"""

from __future__ import annotations

import copy
import hmac
import re
import time
from typing import Any

from .exceptions import VKApiError, auth_failed, bad_param

SERVICE_TOKEN = "vk-sandbox-service-token"  # the app's service key (app settings > Service token)
MAX_COUNT = 200
REACHABLE = 1000
WORD = re.compile(r"#?\w+", re.UNICODE)


def group_auth_refused() -> VKApiError:
    return VKApiError(27, "Group authorization failed: method is unavailable with group auth.")


def user_posts_publicly(state: Any, user_id: int, text: str, *, date: int | None = None) -> dict[str, Any]:
    """A user posts on their own wall (public): newsfeed.search finds it; our community is not told."""
    with state.lock:
        post = {
            "id": state._wall_id(user_id),
            "owner_id": user_id,
            "from_id": user_id,
            "date": int(date if date is not None else time.time()),
            "text": text,
            "post_type": "post",
            "comments": {"count": 0, "can_post": 1, "groups_can_post": True},
            "likes": {"count": 0},
            "reposts": {"count": 0},
        }
        state.public_posts.append(post)
        return copy.deepcopy(post)


def _matches(query: str, text: str) -> bool:
    """Every word of the query occurs in the text (case-insensitive; ``#tag`` only as that hashtag)."""
    words = {w.lower() for w in WORD.findall(text)}
    plain = {w.lstrip("#") for w in words}
    for token in WORD.findall(query.lower()):
        if token.startswith("#") and token not in words:
            return False
        if not token.startswith("#") and token not in plain:
            return False
    return bool(WORD.findall(query))


def _int(params: dict[str, Any], name: str, default: int) -> int:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise bad_param(f"{name} is not a number") from None


def newsfeed_search(state: Any, token: str, params: dict[str, Any]) -> dict[str, Any]:
    if hmac.compare_digest(token.encode(), state.access_token.encode()):
        raise group_auth_refused()
    if not hmac.compare_digest(token.encode(), state.search_token.encode()):
        raise auth_failed()
    with state.lock:
        state.search_calls += 1
        query = str(params.get("q") or "")
        now = int(time.time())
        start = _int(params, "start_time", now - 86400)
        end = _int(params, "end_time", now)
        count = min(max(_int(params, "count", 30), 0), MAX_COUNT)
        offset = _int(params, "start_from", 0)
        posts = [*state.public_posts, *state.posts.values()]
        found = [p for p in posts if start <= int(p["date"]) <= end and _matches(query, str(p.get("text") or ""))]
        found.sort(key=lambda p: (int(p["date"]), int(p["id"])), reverse=True)
        found = found[:REACHABLE]
        page = [copy.deepcopy(p) for p in found[offset : offset + count]]
        answer: dict[str, Any] = {"items": page, "count": len(page), "total_count": len(found)}
        if offset + count < len(found):
            answer["next_from"] = str(offset + count)
        if str(params.get("extended") or "0") == "1":
            ids = {p["from_id"] for p in page if p["from_id"] > 0}
            answer["profiles"] = [copy.deepcopy(state.users[i]) for i in sorted(ids) if i in state.users]
            answer["groups"] = []
        return answer
