"""Listening on Bluesky: ``app.bsky.feed.searchPosts`` for posts that name the brand without tagging it.

Bluesky's search takes one query string (its words AND-ed), so each call searches one term, in turn;
the cursor remembers, per term, the newest ``indexedAt`` seen (``since`` on the next search of that
term) and whose turn is next. The first call makes no request: it records "now" as every term's start.
Posts by the brand and posts that @mention it (they arrive as notifications) are left out.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from plugin.connector import AccountContext, PollPage
from plugin.errors import FatalError

from .parse import post_view_to_mention

PAGE = 100


def _state(cursor: str | None) -> dict[str, Any]:
    try:
        state = json.loads(cursor or "")
    except ValueError as exc:
        raise FatalError(f"unreadable Bluesky listening cursor: {exc}", code="bad_cursor") from exc
    if not isinstance(state, dict) or not isinstance(state.get("since"), dict):
        raise FatalError("unreadable Bluesky listening cursor", code="bad_cursor")
    return state


def listen(
    account: AccountContext, terms: list[str], cursor: str | None, search: Callable[[dict[str, Any]], dict[str, Any]]
) -> PollPage:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    if cursor is None:
        return PollPage(mentions=[], cursor=json.dumps({"start": now, "next": 0, "since": {}}))
    state = _state(cursor)
    term = terms[int(state.get("next") or 0) % len(terms)]
    since = str(state["since"].get(term) or state.get("start") or now)
    found = search({"q": term, "since": since, "sort": "latest", "limit": PAGE})
    posts = found.get("posts") or []
    handle = (account.handle or "").lstrip("@").lower()
    mentions = []
    for index, post in enumerate(posts):
        mention = post_view_to_mention(post, account.external_id, f"searchPosts.posts[{index}]")
        if mention.author.external_id == account.external_id:
            continue
        if handle and f"@{handle}" in mention.text.lower():
            continue  # a notification brings it, addressed to us: not a listening hit
        mentions.append(mention)
    newest = max((str(p.get("indexedAt") or "") for p in posts), default="")
    if newest:
        # ``since`` is inclusive: the newest post is seen again next time and deduplicated by the inbox.
        state["since"][term] = newest
    state["next"] = (int(state.get("next") or 0) + 1) % len(terms)
    return PollPage(mentions=mentions, cursor=json.dumps(state, sort_keys=True))
