"""Listening on Mastodon: hashtag timelines (``GET /api/v1/timelines/tag/:hashtag``).

Mastodon's full-text search only covers posts that opted in, so listening follows the account's
hashtag terms (``#acmehelp``); plain words are not searchable there and are left to the networks that
can. One hashtag per call, in turn. The first call for a hashtag reads only its newest status id (the
start), so nothing older than the moment listening began becomes a ticket. Statuses by the brand or
that @mention it (they arrive as notifications) are left out.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from plugin.connector import AccountContext, PollPage
from plugin.errors import FatalError
from plugin.models import Mention

LIMIT = 40  # the documented maximum of a timeline page


def hashtags(terms: list[str]) -> list[str]:
    return [t.lstrip("#") for t in terms if t.startswith("#") and len(t) > 1]


def listen(
    account: AccountContext,
    terms: list[str],
    cursor: str | None,
    timeline: Callable[[str, str | None, int], list[dict[str, Any]]],
    to_mention: Callable[[dict[str, Any]], Mention],
) -> PollPage:
    tags = hashtags(terms)
    try:
        state: dict[str, Any] = json.loads(cursor) if cursor else {"next": 0, "since": {}}
    except ValueError as exc:
        raise FatalError(f"unreadable Mastodon listening cursor: {exc}", code="bad_cursor") from exc
    if not tags:
        return PollPage(mentions=[], cursor=json.dumps(state, sort_keys=True))
    tag = tags[int(state.get("next") or 0) % len(tags)]
    since = state["since"].get(tag)
    statuses = timeline(tag, None if since in (None, "0") else since, 1 if since is None else LIMIT)
    # An empty timeline at the start: everything later is new ("0" is below every status id).
    newest = max((str(s["id"]) for s in statuses), key=lambda i: (len(i), i), default=since or "0")
    state["since"][tag] = newest
    state["next"] = (int(state.get("next") or 0) + 1) % len(tags)
    if since is None:
        return PollPage(mentions=[], cursor=json.dumps(state, sort_keys=True))
    mentions = []
    for status in statuses:
        author = (status.get("account") or {}).get("id")
        mentioned = {str(m.get("id")) for m in status.get("mentions") or []}
        if str(author) == account.external_id or account.external_id in mentioned:
            continue
        mentions.append(to_mention(status))
    return PollPage(mentions=mentions, cursor=json.dumps(state, sort_keys=True))
