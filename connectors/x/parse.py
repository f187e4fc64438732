"""Normalize X payloads to ``Mention``: v2 Post responses, v2 DM event responses, Account Activity bodies.

Payloads are validated against pydantic models of the documented shapes (``models.py``), so a payload
of the wrong shape ends in ``BadInput`` naming the path at fault, never in a KeyError/TypeError.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from plugin.connector import Skipped, item_boundary
from plugin.errors import BadInput
from plugin.models import Attachment, Author, Kind, Mention, Visibility

from .includes import Expansions, read_includes
from .models import (
    AccountActivity,
    DMEvent,
    DMEventV1,
    Media,
    MediaKeys,
    Tweet,
    TweetDeleteEventV1,
    TweetV1,
    User,
    UserV1,
    parse_model,
)

NETWORK = "x"
WEB = "https://x.com"
# X ids are snowflakes: milliseconds since this epoch live in the bits above 22 ("Twitter IDs" docs).
SNOWFLAKE_EPOCH_MS = 1288834974657


# ---------------------------------------------------------------- time


def _from_ms(ms: int) -> datetime | None:
    try:
        return datetime.fromtimestamp(ms / 1000, tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None


def snowflake_time(ident: str) -> datetime | None:
    if not ident.isascii() or not ident.isdigit() or len(ident) > 20:
        return None
    return _from_ms((int(ident) >> 22) + SNOWFLAKE_EPOCH_MS)


def parse_time(value: str | None, ident: str, what: str) -> datetime:
    """ISO 8601 (v2), RFC 2822-ish ``Wed Oct 10 20:19:24 +0000 2018`` (v1.1/AAA), or the id's snowflake."""
    if value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
        except (ValueError, OverflowError):
            pass
        try:
            return datetime.strptime(value, "%a %b %d %H:%M:%S %z %Y").astimezone(UTC)
        except (ValueError, OverflowError) as exc:
            raise BadInput(f"{what}.created_at {value!r} is not a date X uses") from exc
    when = snowflake_time(ident)
    if when is None:
        raise BadInput(f"{what} has no created_at and its id is not a snowflake")
    return when


def _epoch_ms(value: str | None, ident: str, what: str) -> datetime:
    if value is None:
        return parse_time(None, ident, what)
    when = _from_ms(int(value)) if value.isascii() and value.isdigit() and len(value) <= 16 else None
    if when is None:
        raise BadInput(f"{what}.created_timestamp {value!r} is not epoch milliseconds")
    return when


# ---------------------------------------------------------------- shared pieces


def status_url(tweet_id: str, username: str | None) -> str:
    # Without a username X's own username-less permalink form is used.
    return f"{WEB}/{username}/status/{tweet_id}" if username else f"{WEB}/i/web/status/{tweet_id}"


def author_from_v2(user_id: str, users: Mapping[str, User]) -> Author:
    user = users.get(user_id)
    if user is None:
        return Author(external_id=user_id)
    return Author(
        external_id=user_id,
        handle=user.username,
        name=user.name,
        avatar_url=user.profile_image_url,
        profile_url=f"{WEB}/{user.username}" if user.username else None,
    )


def media_attachments(keys: MediaKeys | None, media: Mapping[str, Media]) -> list[Attachment]:
    out: list[Attachment] = []
    for key in (keys.media_keys or []) if keys is not None else []:
        item = media.get(key)
        if item is None:
            continue  # media not expanded: nothing to link to
        url = item.url or item.preview_image_url
        if url:
            out.append(Attachment(url=url, type=item.type or "file"))
    return out


def dm_conversation_id(a: str, b: str) -> str:
    """One-to-one DM conversations are named ``<lower id>-<higher id>`` in v2 (dm_conversation_id)."""
    lo, hi = sorted((a, b), key=lambda s: (len(s), s))
    return f"{lo}-{hi}"


def _degraded(expansions: Expansions, user_id: str, keys: MediaKeys | None) -> dict[str, Any]:
    """``{"degraded": why}`` when an expansion this item points at could not be read (its author's
    profile fields or an attachment are missing), else nothing."""
    problems = [p for p in [expansions.author_problem(user_id)] if p]
    for key in (keys.media_keys or []) if keys is not None else []:
        if key not in expansions.media:
            problem = expansions.broken_media.get(key) or expansions.broken_media.get("*")
            problems += [problem] if problem else []
    return {"degraded": "; ".join(dict.fromkeys(problems))[:500]} if problems else {}


def _items(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadInput(f"{where} must be a JSON array, got {type(value).__name__}")
    return value


# ---------------------------------------------------------------- v2 Posts


def _kind_and_parent(tweet: Tweet) -> tuple[Kind, str | None, dict[str, Any]]:
    refs = {ref.type: ref.id for ref in tweet.referenced_tweets or []}
    extra: dict[str, Any] = {}
    if "retweeted" in refs:
        extra["retweeted_id"] = refs["retweeted"]
        return Kind.REPOST, None, extra
    if "quoted" in refs:
        extra["quoted_id"] = refs["quoted"]
    if "replied_to" in refs:
        return Kind.REPLY, refs["replied_to"], extra
    if "quoted" in refs:
        return Kind.QUOTE, None, extra
    return Kind.POST, None, extra


def tweet_v2(tweet: Tweet, where: str, account: str, expansions: Expansions) -> Mention:
    if not tweet.author_id:
        raise BadInput(f"{where} has no author_id (request tweet.fields=author_id or expansions=author_id)")
    author = author_from_v2(tweet.author_id, expansions.users)
    kind, parent, extra = _kind_and_parent(tweet)
    extra.update(_degraded(expansions, tweet.author_id, tweet.attachments))
    text = (tweet.note_tweet.text if tweet.note_tweet else None) or tweet.text or ""
    return Mention(
        network=NETWORK,
        external_id=tweet.id,
        # X's conversation_id of a root post is its own id; without the field, the parent is the
        # nearest thread we know.
        thread_id=tweet.conversation_id or parent or tweet.id,
        parent_id=parent,
        kind=kind,
        visibility=Visibility.PUBLIC,
        author=author,
        text=text,
        created_at=parse_time(tweet.created_at, tweet.id, where),
        url=status_url(tweet.id, author.handle),
        lang=tweet.lang,
        attachments=media_attachments(tweet.attachments, expansions.media),
        account=account,
        extra=extra,
    )


def posts_response(payload: Mapping[str, Any], account: str) -> list[Mention]:
    data = payload.get("data")
    items = [data] if isinstance(data, Mapping) else _items(data, "data")
    expansions = read_includes(payload)
    out: list[Mention] = []
    for n, item in enumerate(items):
        where = f"data[{n}]"
        with item_boundary(where, _one_item(payload, item)):
            mention = tweet_v2(parse_model(Tweet, item, where), where, account, expansions)
            if mention.author.external_id != account:  # our own posts are never tickets
                out.append(mention)
    return out


def _one_item(payload: Mapping[str, Any], item: Any) -> dict[str, Any]:
    """A v2 response holding just ``item`` (with the page's expansions), for the quarantine."""
    return {"data": [item], "includes": payload.get("includes") or {}}


# ---------------------------------------------------------------- v2 DM events


def dm_events_response(payload: Mapping[str, Any], account: str, skipped: list[Skipped] | None = None) -> list[Mention]:
    notes: list[Skipped] = [] if skipped is None else skipped
    expansions = read_includes(payload)
    out: list[Mention] = []
    for n, item in enumerate(_items(payload.get("data"), "data")):
        where = f"data[{n}]"
        with item_boundary(where, _one_item(payload, item)):
            mention = _dm_event(parse_model(DMEvent, item, where), where, account, expansions, notes)
            if mention is not None:
                out.append(mention)
    return out


def _dm_event(
    event: DMEvent,
    where: str,
    account: str,
    expansions: Expansions,
    notes: list[Skipped],
) -> Mention | None:
    if (event.event_type or "MessageCreate") != "MessageCreate":
        notes.append(Skipped(where, f"event_type {event.event_type} carries no message"))
        return None
    if not event.id:
        raise BadInput(f"{where} has no 'id'")
    sender = event.sender_id
    if not sender:
        raise BadInput(f"{where} has no sender_id (request dm_event.fields=sender_id)")
    if sender == account:
        notes.append(Skipped(where, "sent by the brand account itself"))
        return None
    return Mention(
        network=NETWORK,
        external_id=event.id,
        thread_id=event.dm_conversation_id or dm_conversation_id(sender, account),
        kind=Kind.DIRECT,
        visibility=Visibility.PRIVATE,
        author=author_from_v2(sender, expansions.users),
        text=event.text or "",
        created_at=parse_time(event.created_at, event.id, where),
        attachments=media_attachments(event.attachments, expansions.media),
        account=account,
        extra=_degraded(expansions, sender, event.attachments),
    )


# ---------------------------------------------------------------- Account Activity (v1.1 objects)


def _author_v1(user: UserV1, where: str) -> Author:
    user_id = user.id_str or user.id
    if not user_id:
        raise BadInput(f"{where} has no 'id'")
    return Author(
        external_id=user_id,
        handle=user.screen_name,
        name=user.name,
        avatar_url=user.profile_image_url_https,
        profile_url=f"{WEB}/{user.screen_name}" if user.screen_name else None,
    )


def _tweet_v1(tweet: TweetV1, where: str, account: str) -> Mention:
    tweet_id = tweet.id_str or tweet.id
    if not tweet_id:
        raise BadInput(f"{where} has no 'id'")
    author = _author_v1(tweet.user, f"{where}.user")
    text = (tweet.extended_tweet.full_text if tweet.extended_tweet else None) or tweet.full_text or tweet.text or ""
    parent = tweet.in_reply_to_status_id_str
    extra: dict[str, Any] = {}
    if tweet.retweeted_status is not None:
        extra["retweeted_id"] = tweet.retweeted_status.id_str
        kind, parent = Kind.REPOST, None
    elif parent:
        kind = Kind.REPLY
    elif tweet.is_quote_status is True or tweet.quoted_status_id_str is not None:
        kind = Kind.QUOTE
    else:
        kind = Kind.POST
    if tweet.quoted_status_id_str is not None:
        extra["quoted_id"] = tweet.quoted_status_id_str
    media_list = []
    for entities in (tweet.extended_entities, tweet.entities):
        if entities is not None and entities.media:
            media_list = entities.media
            break
    attachments = [Attachment(url=m.media_url_https, type=m.type or "file") for m in media_list if m.media_url_https]
    return Mention(
        network=NETWORK,
        external_id=tweet_id,
        thread_id=parent or tweet_id,  # v1.1 objects carry no conversation id: nearest known root
        parent_id=parent,
        kind=kind,
        author=author,
        text=text,
        created_at=parse_time(tweet.created_at, tweet_id, where),
        url=status_url(tweet_id, author.handle),
        lang=tweet.lang,
        attachments=attachments,
        account=account,
        extra=extra,
    )


def _dm_v1(event: DMEventV1, where: str, account: str, users: Mapping[str, Any]) -> Mention | None:
    if event.type != "message_create":
        return None
    if not event.id:
        raise BadInput(f"{where} has no 'id'")
    create = event.message_create
    if create is None:
        raise BadInput(f"{where}.message_create must be a JSON object")
    if create.sender_id == account:
        return None
    recipient = (create.target.recipient_id if create.target else None) or account
    data = create.message_data
    attachments = []
    media = data.attachment.media if data and data.attachment else None
    if media is not None and media.media_url_https:
        attachments.append(Attachment(url=media.media_url_https, type=media.type or "file"))
    raw_user = users.get(create.sender_id)
    # The sender's profile expansion is validated with the event: a malformed one quarantines this DM.
    user = parse_model(UserV1, raw_user, f"users[{create.sender_id}]") if raw_user else None
    author = _author_v1(user, f"users[{create.sender_id}]") if user else Author(external_id=create.sender_id)
    return Mention(
        network=NETWORK,
        external_id=event.id,
        thread_id=dm_conversation_id(create.sender_id, recipient),
        kind=Kind.DIRECT,
        visibility=Visibility.PRIVATE,
        author=author,
        text=(data.text if data else None) or "",
        created_at=_epoch_ms(event.created_timestamp, event.id, where),
        attachments=attachments,
        account=account,
    )


def _deleted_v1(event: TweetDeleteEventV1, where: str, brand: str) -> Mention:
    """A customer deleted a post: ``event="deleted"`` for the stored mention (no text: it is gone)."""
    status = event.status
    return Mention(
        network=NETWORK,
        external_id=status.id,
        thread_id=status.id,
        author=Author(external_id=status.user_id),
        created_at=_epoch_ms(event.timestamp_ms, status.id, where),
        account=brand,
        event="deleted",
    )


def account_activity(payload: Mapping[str, Any], account: str | None) -> list[Mention]:
    body = parse_model(AccountActivity, payload, "webhook body")
    for_user = body.for_user_id
    brand = account or for_user
    out: list[Mention] = []
    # Each event is validated on its own, so one malformed event is quarantined, not the whole body.
    for n, raw in enumerate(body.tweet_create_events or []):
        where = f"tweet_create_events[{n}]"
        with item_boundary(where, {"for_user_id": for_user, "tweet_create_events": [raw]}):
            mention = _tweet_v1(parse_model(TweetV1, raw, where), where, brand)
            if mention.author.external_id != for_user:  # our own posts (and our replies) echo back here
                out.append(mention)
    for n, raw in enumerate(body.tweet_delete_events or []):
        where = f"tweet_delete_events[{n}]"
        with item_boundary(where, {"for_user_id": for_user, "tweet_delete_events": [raw]}):
            out.append(_deleted_v1(parse_model(TweetDeleteEventV1, raw, where), where, brand))
    users = body.users or {}
    for n, raw in enumerate(body.direct_message_events or []):
        where = f"direct_message_events[{n}]"
        with item_boundary(where, {"for_user_id": for_user, "direct_message_events": [raw], "users": users}):
            dm = _dm_v1(parse_model(DMEventV1, raw, where), where, for_user, users)
            if dm is not None:
                out.append(dm if account is None else dm.model_copy(update={"account": brand}))
    return out


# ---------------------------------------------------------------- dispatch


def _obj(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise BadInput(f"{what} must be a JSON object, got {type(value).__name__}")
    return value


def _looks_like_dm_events(payload: Mapping[str, Any]) -> bool:
    data = payload.get("data")
    return isinstance(data, list) and any(isinstance(d, Mapping) and "event_type" in d for d in data)


def parse(payload: Any, account: str | None, skipped: list[Skipped] | None = None) -> list[Mention]:
    """Recognize the payload by its documented shape and normalize it; skips are noted in ``skipped``."""
    body = _obj(payload, "payload")
    try:
        if "for_user_id" in body:
            return account_activity(body, account)
        if "data" not in body:
            if "meta" in body:  # an empty page: {"meta": {"result_count": 0}}
                return []
            if "errors" in body:
                raise BadInput(f"payload is an error response: {first_error(body)}")
            raise BadInput("payload is neither an X v2 response (data/meta) nor an Account Activity body")
        if not account and _looks_like_dm_events(body):
            raise BadInput(
                "X DM events name each message's sender, not which participant is the brand: pass --account "
                "(the brand's numeric X user id) so its own messages are not taken for a customer's"
            )
        if not account:
            account = _mentioned_in_every_post(body)
        if not account:
            raise BadInput(
                "the brand account id is needed to parse this X v2 response (pass --account): no single "
                "account is @mentioned by every post"
            )
        if _looks_like_dm_events(body):
            return dm_events_response(body, account, skipped)
        return posts_response(body, account)
    except ValidationError as exc:
        raise BadInput(f"payload does not make a valid mention: {exc.errors()[0].get('msg')}") from exc


def _mentioned_in_every_post(body: Mapping[str, Any]) -> str | None:
    """The mentions timeline holds posts that @mention one account: ours. When exactly one user id
    is mentioned by every post, that is the brand; otherwise it cannot be told from the payload."""
    data = body.get("data")
    if not isinstance(data, list) or not data:
        return None
    common: set[str] | None = None
    handles: set[str] | None = None
    for post in data:
        entities = post.get("entities") if isinstance(post, Mapping) else None
        mentions = entities.get("mentions") if isinstance(entities, Mapping) else None
        ids = {str(m["id"]) for m in mentions or [] if isinstance(m, Mapping) and m.get("id")}
        common = ids if common is None else common & ids
        text = post.get("text") if isinstance(post, Mapping) else None
        named = {h.lower() for h in _HANDLE.findall(text)} if isinstance(text, str) else set()
        handles = named if handles is None else handles & named
    if common and len(common) == 1:
        return next(iter(common))
    # Without entities (e.g. the documented quickstart response), the one @handle every post names
    # identifies the brand; it stands in for the id, which this payload does not carry.
    if handles and len(handles) == 1:
        wanted = next(iter(handles))
        first = data[0].get("text", "") if isinstance(data[0], Mapping) else ""
        spelled = next((h for h in _HANDLE.findall(first) if h.lower() == wanted), wanted)
        return f"@{spelled}"
    return None


_HANDLE = re.compile(r"(?<![\w@])@(\w{1,15})")


def first_error(body: Mapping[str, Any]) -> str:
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], Mapping):
        first = errors[0]
        return str(first.get("detail") or first.get("message") or first.get("title") or "unknown error")
    return "unknown error"
