"""Listening on VK: ``newsfeed.search`` for public posts that name the brand without tagging it.

VK's reference: ``newsfeed.search`` is callable with a **user** access token or the app's **service**
token (VK app settings > "Service token"), never with the community token the rest of this connector
uses (error 27 "Group authorization failed: method is unavailable with group auth"), so listening needs
the ``search_token`` credential. Limits: ``count`` at most 200 per call, only the first 1000 results of
a query are reachable, ``start_time`` defaults to 24 hours ago; the token's method limits (error 29
"Rate limit reached") pause listening for the account like any 429. One term per call, in turn; the
cursor keeps, per term, the newest post time seen (``start_time`` of its next search; inclusive, so the
newest post is seen again and deduplicated by the inbox). The first call makes no request: it records
"now" as every term's start, so nothing older than the moment listening began becomes a ticket. The
community's own posts, posts on its own wall (they arrive through the Callback API / Long Poll) are
left out.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from plugin.connector import AccountContext, ParseResult, PollPage, Skipped, item_boundary
from plugin.errors import BadInput, FatalError
from plugin.models import Kind, Mention, Visibility

from .models import WallPost, parse
from .parse import _attachments, _author, _when

COUNT = 200  # newsfeed.search's documented maximum per call
WALL = "wall"  # prefix of a post on a person's wall (see post_mention)


def _state(cursor: str) -> dict[str, Any]:
    try:
        state = json.loads(cursor)
    except ValueError as exc:
        raise FatalError(f"unreadable VK listening cursor: {exc}", code="bad_cursor") from exc
    if not isinstance(state, dict) or not isinstance(state.get("since"), dict):
        raise FatalError("unreadable VK listening cursor", code="bad_cursor")
    return state


def post_mention(raw: Any, account: str, where: str) -> Mention:
    post = parse(WallPost, raw, where)
    # A post on a person's wall would read "{user}_{id}", the shape of a private message's id
    # ("{peer_id}_{conversation_message_id}"): VK's own "wall" prefix keeps the two apart.
    external_id = f"{post.owner_id}_{post.id}" if post.owner_id < 0 else f"{WALL}{post.owner_id}_{post.id}"
    return Mention(
        network="vk",
        external_id=external_id,
        thread_id=external_id,
        kind=Kind.POST,
        visibility=Visibility.PUBLIC,
        author=_author(post.from_id),
        text=post.text or "",
        created_at=_when(post.date, f"{where}.date"),
        url=f"https://vk.com/wall{post.owner_id}_{post.id}",
        attachments=_attachments(post.attachments),
        account=account,
        extra={"owner_id": post.owner_id, "post_id": post.id, "post_type": post.post_type},
    )


def explain_search(payload: dict[str, Any], account: str | None) -> ParseResult:
    """A ``newsfeed.search`` answer (``horseshoe parse vk``): its posts, the community's own left out."""
    result = ParseResult()
    group = abs(int(account)) if account and account.lstrip("-").isdigit() else None
    for index, raw in enumerate(payload["items"]):
        where = f"newsfeed.search.items[{index}]"
        with item_boundary(where, raw):
            mention = post_mention(raw, account or "", where)
            if group is not None and -group in (mention.extra["owner_id"], int(mention.author.external_id)):
                result.skipped.append(Skipped(where, "the community's own post or one on its wall (Callback API)"))
            else:
                result.mentions.append(mention)
    return result


def listen(
    account: AccountContext, terms: list[str], cursor: str | None, group_id: int,
    search: Callable[[dict[str, Any]], Any],
) -> PollPage:  # fmt: skip
    now = int(time.time())
    if cursor is None:
        return PollPage(mentions=[], cursor=json.dumps({"start": now, "next": 0, "since": {}}, sort_keys=True))
    state = _state(cursor)
    turn = int(state.get("next") or 0) % len(terms)
    term = terms[turn]
    since = int(state["since"].get(term) or state.get("start") or now)
    found = search({"q": term, "start_time": since, "count": COUNT})
    items = found.get("items") if isinstance(found, dict) else None
    if not isinstance(items, list):
        raise BadInput("vk newsfeed.search: the answer has no items list")
    mentions = []
    for index, raw in enumerate(items):
        mention = post_mention(raw, account.external_id, f"newsfeed.search.items[{index}]")
        owner, author = mention.extra["owner_id"], int(mention.author.external_id)
        if author == -group_id or owner == -group_id:
            continue  # our own post, or one on our wall: the Callback API brings those
        mentions.append(mention)
    dates = [int(r["date"]) for r in items if isinstance(r, dict) and isinstance(r.get("date"), int)]
    if dates:
        state["since"][term] = max(dates)
    state["next"] = (turn + 1) % len(terms)
    return PollPage(mentions=mentions, cursor=json.dumps(state, sort_keys=True))
