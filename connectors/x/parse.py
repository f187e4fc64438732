"""Normalize X payloads to ``Mention``: v2 Post responses, v2 DM event responses, Account Activity bodies.

Every access to outside data goes through the small checked accessors below, so a payload of the wrong
shape ends in ``BadInput`` with a reason, never in a KeyError/TypeError.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from plugin.errors import BadInput
from plugin.models import Attachment, Author, Kind, Mention, Visibility

NETWORK = "x"
WEB = "https://x.com"
# X ids are snowflakes: milliseconds since this epoch live in the bits above 22 ("Twitter IDs" docs).
SNOWFLAKE_EPOCH_MS = 1288834974657


# ---------------------------------------------------------------- checked accessors


def _obj(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise BadInput(f"{what} must be a JSON object, got {type(value).__name__}")
    return value


def _list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadInput(f"{what} must be a JSON array, got {type(value).__name__}")
    return value


def _str(obj: Mapping[str, Any], key: str, what: str, *, required: bool = False) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise BadInput(f"{what} has no {key!r}")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadInput(f"{what}.{key} must be a string, got {type(value).__name__}")
    text = str(value)
    if required and not text:
        raise BadInput(f"{what}.{key} is empty")
    return text


def _req(obj: Mapping[str, Any], key: str, what: str) -> str:
    value = _str(obj, key, what, required=True)
    assert value is not None  # _str(required=True) raises instead of returning None
    return value


def _index(items: Any, key: str, what: str) -> dict[str, Mapping[str, Any]]:
    out: dict[str, Mapping[str, Any]] = {}
    for n, item in enumerate(_list(items, what)):
        obj = _obj(item, f"{what}[{n}]")
        ident = _str(obj, key, f"{what}[{n}]")
        if ident:
            out[ident] = obj
    return out


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


def author_from_v2(user_id: str, users: Mapping[str, Mapping[str, Any]]) -> Author:
    user = users.get(user_id)
    if user is None:
        return Author(external_id=user_id)
    what = f"includes.users[{user_id}]"
    username = _str(user, "username", what)
    return Author(
        external_id=user_id,
        handle=username,
        name=_str(user, "name", what),
        avatar_url=_str(user, "profile_image_url", what),
        profile_url=f"{WEB}/{username}" if username else None,
    )


def media_attachments(keys: list[Any], media: Mapping[str, Mapping[str, Any]], what: str) -> list[Attachment]:
    out: list[Attachment] = []
    for n, key in enumerate(keys):
        if not isinstance(key, str):
            raise BadInput(f"{what}.media_keys[{n}] must be a string")
        item = media.get(key)
        if item is None:
            continue  # media not expanded: nothing to link to
        url = _str(item, "url", f"includes.media[{key}]") or _str(item, "preview_image_url", key)
        if url:
            out.append(Attachment(url=url, type=_str(item, "type", f"includes.media[{key}]") or "file"))
    return out


def dm_conversation_id(a: str, b: str) -> str:
    """One-to-one DM conversations are named ``<lower id>-<higher id>`` in v2 (dm_conversation_id)."""
    lo, hi = sorted((a, b), key=lambda s: (len(s), s))
    return f"{lo}-{hi}"


# ---------------------------------------------------------------- v2 Posts


def _kind_and_parent(tweet: Mapping[str, Any], what: str) -> tuple[Kind, str | None, dict[str, Any]]:
    refs: dict[str, str] = {}
    for n, ref in enumerate(_list(tweet.get("referenced_tweets"), f"{what}.referenced_tweets")):
        ref_obj = _obj(ref, f"{what}.referenced_tweets[{n}]")
        kind = _req(ref_obj, "type", f"{what}.referenced_tweets[{n}]")
        refs[kind] = _req(ref_obj, "id", f"{what}.referenced_tweets[{n}]")
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


def tweet_v2(
    tweet: Mapping[str, Any],
    what: str,
    account: str,
    users: Mapping[str, Mapping[str, Any]],
    media: Mapping[str, Mapping[str, Any]],
) -> Mention:
    tweet_id = _req(tweet, "id", what)
    author_id = _str(tweet, "author_id", what)
    if not author_id:
        raise BadInput(f"{what} has no author_id (request tweet.fields=author_id or expansions=author_id)")
    author = author_from_v2(author_id, users)
    kind, parent, extra = _kind_and_parent(tweet, what)
    text = _str(tweet, "text", what) or ""
    note = tweet.get("note_tweet")
    if note is not None:  # long posts carry the full text here
        text = _str(_obj(note, f"{what}.note_tweet"), "text", f"{what}.note_tweet") or text
    attachments_obj = tweet.get("attachments")
    keys = []
    if attachments_obj is not None:
        keys = _list(_obj(attachments_obj, f"{what}.attachments").get("media_keys"), f"{what}.media_keys")
    return Mention(
        network=NETWORK,
        external_id=tweet_id,
        # X's conversation_id of a root post is its own id; without the field, the parent is the
        # nearest thread we know.
        thread_id=_str(tweet, "conversation_id", what) or parent or tweet_id,
        parent_id=parent,
        kind=kind,
        visibility=Visibility.PUBLIC,
        author=author,
        text=text,
        created_at=parse_time(_str(tweet, "created_at", what), tweet_id, what),
        url=status_url(tweet_id, author.handle),
        lang=_str(tweet, "lang", what),
        attachments=media_attachments(keys, media, f"{what}.attachments"),
        account=account,
        extra=extra,
    )


def _includes(payload: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    includes = _obj(payload.get("includes") or {}, "includes")
    users = _index(includes.get("users"), "id", "includes.users")
    media = _index(includes.get("media"), "media_key", "includes.media")
    return users, media


def posts_response(payload: Mapping[str, Any], account: str) -> list[Mention]:
    data = payload.get("data")
    items = [data] if isinstance(data, Mapping) else _list(data, "data")
    users, media = _includes(payload)
    out: list[Mention] = []
    for n, item in enumerate(items):
        tweet = _obj(item, f"data[{n}]")
        mention = tweet_v2(tweet, f"data[{n}]", account, users, media)
        if mention.author.external_id != account:  # our own posts are never tickets
            out.append(mention)
    return out


# ---------------------------------------------------------------- v2 DM events


def dm_events_response(payload: Mapping[str, Any], account: str) -> list[Mention]:
    users, media = _includes(payload)
    out: list[Mention] = []
    for n, item in enumerate(_list(payload.get("data"), "data")):
        what = f"data[{n}]"
        event = _obj(item, what)
        if (_str(event, "event_type", what) or "MessageCreate") != "MessageCreate":
            continue  # ParticipantsJoin/Leave carry no message
        event_id = _req(event, "id", what)
        sender = _str(event, "sender_id", what)
        if not sender:
            raise BadInput(f"{what} has no sender_id (request dm_event.fields=sender_id)")
        if sender == account:
            continue  # what we sent ourselves
        attachments_obj = event.get("attachments")
        keys = []
        if attachments_obj is not None:
            keys = _list(_obj(attachments_obj, f"{what}.attachments").get("media_keys"), f"{what}.media_keys")
        out.append(
            Mention(
                network=NETWORK,
                external_id=event_id,
                thread_id=_str(event, "dm_conversation_id", what) or dm_conversation_id(sender, account),
                kind=Kind.DIRECT,
                visibility=Visibility.PRIVATE,
                author=author_from_v2(sender, users),
                text=_str(event, "text", what) or "",
                created_at=parse_time(_str(event, "created_at", what), event_id, what),
                attachments=media_attachments(keys, media, f"{what}.attachments"),
                account=account,
            )
        )
    return out


# ---------------------------------------------------------------- Account Activity (v1.1 objects)


def _author_v1(user: Mapping[str, Any], what: str) -> Author:
    user_id = _str(user, "id_str", what) or _req(user, "id", what)
    screen_name = _str(user, "screen_name", what)
    return Author(
        external_id=user_id,
        handle=screen_name,
        name=_str(user, "name", what),
        avatar_url=_str(user, "profile_image_url_https", what),
        profile_url=f"{WEB}/{screen_name}" if screen_name else None,
    )


def _tweet_v1(tweet: Mapping[str, Any], what: str, account: str) -> Mention:
    tweet_id = _str(tweet, "id_str", what) or _req(tweet, "id", what)
    author = _author_v1(_obj(tweet.get("user"), f"{what}.user"), f"{what}.user")
    text = _str(tweet, "full_text", what) or _str(tweet, "text", what) or ""
    extended = tweet.get("extended_tweet")
    if extended is not None:  # truncated long posts: the full text is in extended_tweet
        text = _str(_obj(extended, f"{what}.extended_tweet"), "full_text", f"{what}.extended_tweet") or text
    parent = _str(tweet, "in_reply_to_status_id_str", what)
    extra: dict[str, Any] = {}
    if tweet.get("retweeted_status") is not None:
        retweeted = _obj(tweet["retweeted_status"], f"{what}.retweeted_status")
        extra["retweeted_id"] = _str(retweeted, "id_str", f"{what}.retweeted_status")
        kind, parent = Kind.REPOST, None
    elif parent:
        kind = Kind.REPLY
    elif tweet.get("is_quote_status") is True or tweet.get("quoted_status_id_str") is not None:
        kind = Kind.QUOTE
    else:
        kind = Kind.POST
    if tweet.get("quoted_status_id_str") is not None:
        extra["quoted_id"] = _str(tweet, "quoted_status_id_str", what)
    media_list = []
    for key in ("extended_entities", "entities"):
        entities = tweet.get(key)
        if entities is not None:
            media_list = _list(_obj(entities, f"{what}.{key}").get("media"), f"{what}.{key}.media")
            if media_list:
                break
    attachments = []
    for n, item in enumerate(media_list):
        media = _obj(item, f"{what}.media[{n}]")
        url = _str(media, "media_url_https", f"{what}.media[{n}]")
        if url:
            attachments.append(Attachment(url=url, type=_str(media, "type", f"{what}.media[{n}]") or "file"))
    return Mention(
        network=NETWORK,
        external_id=tweet_id,
        thread_id=parent or tweet_id,  # v1.1 objects carry no conversation id: nearest known root
        parent_id=parent,
        kind=kind,
        author=author,
        text=text,
        created_at=parse_time(_str(tweet, "created_at", what), tweet_id, what),
        url=status_url(tweet_id, author.handle),
        lang=_str(tweet, "lang", what),
        attachments=attachments,
        account=account,
        extra=extra,
    )


def _dm_v1(event: Mapping[str, Any], what: str, account: str, users: Mapping[str, Any]) -> Mention | None:
    if _str(event, "type", what) != "message_create":
        return None
    event_id = _req(event, "id", what)
    create = _obj(event.get("message_create"), f"{what}.message_create")
    sender = _req(create, "sender_id", f"{what}.message_create")
    if sender == account:
        return None
    target = _obj(create.get("target") or {}, f"{what}.message_create.target")
    recipient = _str(target, "recipient_id", f"{what}.message_create.target") or account
    data = _obj(create.get("message_data") or {}, f"{what}.message_data")
    attachments = []
    attachment = data.get("attachment")
    if attachment is not None:
        holder = _obj(attachment, f"{what}.attachment")
        media_obj = _obj(holder.get("media") or {}, f"{what}.attachment.media")
        url = _str(media_obj, "media_url_https", f"{what}.attachment.media")
        if url:
            attachments.append(Attachment(url=url, type=_str(media_obj, "type", what) or "file"))
    user = users.get(sender)
    author = Author(external_id=sender)
    if user is not None:
        author = _author_v1(_obj(user, f"users[{sender}]"), f"users[{sender}]")
    return Mention(
        network=NETWORK,
        external_id=event_id,
        thread_id=dm_conversation_id(sender, recipient),
        kind=Kind.DIRECT,
        visibility=Visibility.PRIVATE,
        author=author,
        text=_str(data, "text", f"{what}.message_data") or "",
        created_at=_epoch_ms(_str(event, "created_timestamp", what), event_id, what),
        attachments=attachments,
        account=account,
    )


def account_activity(payload: Mapping[str, Any], account: str | None) -> list[Mention]:
    for_user = _req(payload, "for_user_id", "webhook body")
    brand = account or for_user
    out: list[Mention] = []
    for n, item in enumerate(_list(payload.get("tweet_create_events"), "tweet_create_events")):
        mention = _tweet_v1(_obj(item, f"tweet_create_events[{n}]"), f"tweet_create_events[{n}]", brand)
        if mention.author.external_id != for_user:  # our own posts (and our replies) echo back here
            out.append(mention)
    users = _obj(payload.get("users") or {}, "users")
    for n, item in enumerate(_list(payload.get("direct_message_events"), "direct_message_events")):
        what = f"direct_message_events[{n}]"
        dm = _dm_v1(_obj(item, what), what, for_user, users)
        if dm is not None:
            out.append(dm if account is None else dm.model_copy(update={"account": brand}))
    return out


# ---------------------------------------------------------------- dispatch


def _looks_like_dm_events(payload: Mapping[str, Any]) -> bool:
    data = payload.get("data")
    return isinstance(data, list) and any(isinstance(d, Mapping) and "event_type" in d for d in data)


def parse(payload: Any, account: str | None) -> list[Mention]:
    """Recognize the payload by its documented shape and normalize it."""
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
        if not account and not _looks_like_dm_events(body):
            account = _mentioned_in_every_post(body)
        if not account:
            raise BadInput("the brand account id is needed to parse this X v2 response (pass --account)")
        if _looks_like_dm_events(body):
            return dm_events_response(body, account)
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
