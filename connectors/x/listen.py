"""Listening on X: recent search (``GET /2/tweets/search/recent``, the last 7 days) for posts that
name the brand without tagging it.

One query per call: the terms OR-ed together (a hashtag as ``#tag``, a phrase quoted), without retweets
and without the brand's own posts: ``(acme OR #acmehelp OR "acme bank") -is:retweet -from:acme``.
Posts that @mention the account are left out (the mentions timeline delivers them, not marked as
listening). The cursor is the newest post id seen (``since_id``); the first call only records it.
X caps a query at 512 characters: terms that do not fit are refused with the limit named.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from plugin.connector import AccountContext, PollPage
from plugin.errors import FatalError
from plugin.models import Mention

from . import parse as x_parse

EP_SEARCH = "GET /2/tweets/search/recent"
MAX_QUERY = 512


def query_for(terms: list[str], handle: str | None) -> str:
    quoted = [f'"{t}"' if " " in t else t for t in (term.replace('"', "") for term in terms) if t]
    query = f"({' OR '.join(quoted)}) -is:retweet"
    if handle:
        query += f" -from:{handle.lstrip('@')}"
    if len(query) > MAX_QUERY:
        raise FatalError(
            f"the listening terms make an X query of {len(query)} characters; X allows {MAX_QUERY}",
            code="too_long",
        )
    return query


def _tags_us(mention: Mention, handle: str | None) -> bool:
    return bool(handle) and f"@{(handle or '').lstrip('@').lower()}" in mention.text.lower()


def listen(
    account: AccountContext,
    terms: list[str],
    cursor: str | None,
    call: Callable[[dict[str, str]], dict[str, Any]],
    base_params: dict[str, str],
) -> PollPage:
    """One search request through ``call`` (the connector's authenticated GET of EP_SEARCH)."""
    params = {**base_params, "query": query_for(terms, account.handle)}
    if cursor is None:
        params["max_results"] = "10"
        page = call(params)
        newest = (page.get("meta") or {}).get("newest_id")
        return PollPage(mentions=[], cursor=str(newest or "0"))
    if cursor != "0":
        params["since_id"] = cursor
    page = call(params)
    newest = (page.get("meta") or {}).get("newest_id") or cursor
    found = x_parse.parse(page, account.external_id) if "data" in page else []
    mentions = [m for m in found if not _tags_us(m, account.handle) and m.author.external_id != account.external_id]
    return PollPage(mentions=mentions, cursor=str(newest))
