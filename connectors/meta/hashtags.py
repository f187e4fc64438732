"""Listening on Instagram: Hashtag Search ("Instagram API with Facebook Login > Hashtag Search").

``GET /ig_hashtag_search?user_id={ig-user-id}&q={name}`` gives a hashtag's (static, global) id;
``GET /{hashtag-id}/recent_media?user_id=...`` the public media tagged with it in the last 24 hours,
newest first. Needs the ``instagram_basic`` permission and the "Instagram Public Content Access"
feature (App Review). Documented limits, all enforced here:

* **30 unique hashtags per account within a rolling 7-day period.** A hashtag counts from its first
  ``ig_hashtag_search``; its id is kept in the cursor, so it is never searched again (a repeat would not
  count, but costs a call). A hashtag beyond the 30 waits until the oldest one is 7 days old: the call is
  spent on the next hashtag that fits, and when none fits the account's listening is refused with the
  date it frees up (logged, retried later). The settings form refuses more than 30 hashtags outright.
* Only hashtags: plain words cannot be searched on Instagram (the settings form says so).
* Media found this way cannot be commented on ("You cannot comment on hashtagged media objects
  discovered through the API") and carries no owner: its mention's thread is ``hashtag:{media id}``, and
  a reply to it is refused with that reason instead of failing at Meta. Its author is the media itself
  (``media:{id}``), so unrelated posters never merge into one customer.

One Graph request per call (the host's budget): the first call per hashtag looks its id up, the later
ones read its recent media after the newest ``timestamp`` seen. The very first call makes no request and
records "now", so nothing older than the moment listening began becomes a ticket.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from plugin.connector import AccountContext, ParseResult, PollPage, item_boundary
from plugin.errors import BadInput, FatalError
from plugin.models import Attachment, Author, Kind, Mention, Visibility

from .credentials import HASHTAG_LIMIT
from .fields import to_datetime
from .graph import GraphClient, page_of

WINDOW = timedelta(days=7)
HASHTAG_THREAD = "hashtag:"
MEDIA_FIELDS = "id,caption,media_type,media_url,permalink,timestamp"
PAGE = 50
NO_COMMENTS = (
    "Instagram does not allow comments or private replies on media found by hashtag search (Hashtag Search "
    "limitations); the customer did not tag you, so answer them another way or close the ticket"
)


def hashtags(terms: list[str]) -> list[str]:
    found: list[str] = []
    for term in terms:
        name = term.lstrip("#").lower()
        if term.startswith("#") and name and name not in found:
            found.append(name)
    return found


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _state(cursor: str) -> dict[str, Any]:
    try:
        state = json.loads(cursor)
    except ValueError as exc:
        raise FatalError(f"unreadable Instagram listening cursor: {exc}", code="bad_cursor") from exc
    if not isinstance(state, dict) or not all(isinstance(state.get(k), dict) for k in ("ids", "first", "since")):
        raise FatalError("unreadable Instagram listening cursor", code="bad_cursor")
    return state


def usable(state: dict[str, Any], tag: str, now: datetime) -> bool:
    """Whether ``tag`` can be searched now within the 30-per-7-days limit."""
    if tag in state["ids"]:
        return True
    recent = [t for t in state["first"].values() if now - to_datetime(t, "first") < WINDOW]
    return len(recent) < HASHTAG_LIMIT


def frees_up(state: dict[str, Any]) -> datetime:
    return min(to_datetime(t, "first") for t in state["first"].values()) + WINDOW


def media_mention(raw: dict[str, Any], ig_id: str, tag: str, where: str) -> Mention:
    media_id = raw.get("id")
    if not isinstance(media_id, str) or not media_id:
        raise BadInput(f"{where}: media without an id")
    url = raw.get("media_url")
    attachments = [Attachment(url=url, type=str(raw.get("media_type") or "IMAGE").lower())] if url else []
    return Mention(
        network="instagram",
        external_id=media_id,
        thread_id=HASHTAG_THREAD + media_id,
        kind=Kind.POST,
        visibility=Visibility.PUBLIC,
        # Meta does not say who posted hashtagged media: the media stands for its author.
        author=Author(external_id=f"media:{media_id}", name=f"Instagram user (#{tag})"),
        text=str(raw.get("caption") or ""),
        created_at=to_datetime(raw.get("timestamp"), f"{where}.timestamp"),
        url=raw.get("permalink") if isinstance(raw.get("permalink"), str) else None,
        attachments=attachments,
        account=ig_id,
        extra={"hashtag": tag, "no_comments": NO_COMMENTS},
    )


# horseshoe's envelope for a hashtag's ``recent_media`` answer in ``horseshoe parse instagram``: Graph's
# media nodes do not name the hashtag they were found by, so it is given beside them.
HASHTAG_OF = "horseshoe_hashtag"


def explain_recent_media(payload: dict[str, Any], account: str | None) -> ParseResult:
    tag = str(payload.get(HASHTAG_OF) or "").lstrip("#").lower()
    items = payload.get("data")
    if not tag or not isinstance(items, list):
        raise BadInput(f'a recent_media answer goes as {{"{HASHTAG_OF}": "name", "data": [...]}}')
    result = ParseResult()
    for index, raw in enumerate(items):
        where = f"recent_media.data[{index}]"
        with item_boundary(where, {HASHTAG_OF: tag, "data": [raw]}):
            if not isinstance(raw, dict):
                raise BadInput(f"{where}: not an object")
            result.mentions.append(media_mention(raw, account or "", tag, where))
    return result


def listen(account: AccountContext, terms: list[str], cursor: str | None, client: GraphClient, ig_id: str) -> PollPage:
    now = datetime.now(UTC)
    tags = hashtags(terms)
    if cursor is None or not tags:
        start = {"start": _iso(now), "next": 0, "ids": {}, "first": {}, "since": {}}
        return PollPage(mentions=[], cursor=cursor or json.dumps(start, sort_keys=True))
    state = _state(cursor)
    turn = int(state.get("next") or 0)
    order = [tags[(turn + i) % len(tags)] for i in range(len(tags))]
    tag = next((t for t in order if usable(state, t, now)), None)
    if tag is None:
        raise FatalError(
            f"Instagram allows {HASHTAG_LIMIT} unique hashtags per account within 7 days and this account has "
            f"used them; the next one can be searched from {frees_up(state):%Y-%m-%d %H:%M} UTC",
            code="hashtag_limit",
        )
    state["next"] = (tags.index(tag) + 1) % len(tags)
    if tag not in state["ids"]:
        found = client.get("ig_hashtag_search", {"user_id": ig_id, "q": tag})
        data = found.get("data") if isinstance(found, dict) else None
        hashtag_id = data[0].get("id") if isinstance(data, list) and data and isinstance(data[0], dict) else None
        if not isinstance(hashtag_id, str):
            raise BadInput(f"ig_hashtag_search answered no id for #{tag}")
        state["ids"][tag] = hashtag_id
        state["first"][tag] = _iso(now)
        return PollPage(mentions=[], cursor=json.dumps(state, sort_keys=True))
    since = to_datetime(state["since"].get(tag) or state["start"], "since")
    answer = client.get(f"{state['ids'][tag]}/recent_media", {"user_id": ig_id, "fields": MEDIA_FIELDS, "limit": PAGE})
    rows, _after = page_of(answer, "recent_media")
    mentions = []
    for index, raw in enumerate(rows):
        mention = media_mention(raw, ig_id, tag, f"recent_media.data[{index}]")
        if mention.created_at >= since:  # inclusive: a repeat is deduplicated by the inbox
            mentions.append(mention)
    if mentions:
        state["since"][tag] = _iso(max(m.created_at for m in mentions))
    return PollPage(mentions=mentions, cursor=json.dumps(state, sort_keys=True))
