"""Handlers for the X API v2 endpoints the connector uses, and for the ``/_sandbox`` control surface.

API handlers take ``(request, principal, **path_args)`` and return ``(status, body)``; they raise
``XProblem`` for X's documented error answers. Query validation, paging, field selection and expansions
follow the endpoint reference pages.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from werkzeug.wrappers import Request

from . import uploads
from .auth import APP_ONLY
from .exceptions import XProblem, forbidden, invalid_request, not_found, unsupported_authentication
from .models import (
    ALL_DM_FIELDS,
    ALL_MEDIA_FIELDS,
    ALL_TWEET_FIELDS,
    ALL_USER_FIELDS,
    MAX_DM_LENGTH,
    MAX_POST_LENGTH,
    DMEvent,
    Post,
    Principal,
    XState,
)
from .search import QueryError, compile_query

TWEET_EXPANSIONS = {
    "attachments.poll_ids",
    "attachments.media_keys",
    "author_id",
    "edit_history_tweet_ids",
    "entities.mentions.username",
    "geo.place_id",
    "in_reply_to_user_id",
    "referenced_tweets.id",
    "referenced_tweets.id.author_id",
}
DM_EXPANSIONS = {"attachments.media_keys", "referenced_tweets.id", "sender_id", "participant_ids"}
DM_EVENT_TYPES = {"MessageCreate", "ParticipantsJoin", "ParticipantsLeave"}
_TOKEN_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"

Result = tuple[int, dict[str, Any]]


# ---------------------------------------------------------------- query helpers


def _csv(request: Request, name: str, allowed: set[str]) -> set[str]:
    raw = request.args.get(name)
    if raw is None:
        return set()
    values = raw.split(",")
    for value in values:
        if value not in allowed:
            raise invalid_request(
                name,
                value,
                f"The `{name}` query parameter value [{value}] is not one of [{','.join(sorted(allowed))}]",
            )
    return set(values)


def _int(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise invalid_request(name, raw, f"The `{name}` query parameter value [{raw}] is not between {low} and {high}")
    return int(raw)


def _snowflake(request: Request, name: str) -> int | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 19:
        raise invalid_request(name, raw, f"The `{name}` query parameter value [{raw}] does not match ^[0-9]{{1,19}}$")
    return int(raw)


def encode_token(below_id: str) -> str:
    """Opaque next_token: base36 of the id the next page continues below."""
    n, digits = int(below_id), []
    while n:
        n, r = divmod(n, 36)
        digits.append(_TOKEN_ALPHABET[r])
    return "7" + "".join(reversed(digits or ["0"]))


def _decode_token(request: Request) -> int | None:
    raw = request.args.get("pagination_token")
    if raw is None:
        return None
    if len(raw) < 2 or raw[0] != "7" or any(c not in _TOKEN_ALPHABET for c in raw[1:]):
        raise invalid_request(
            "pagination_token", raw, f"The `pagination_token` query parameter value [{raw}] is not valid"
        )
    return int(raw[1:], 36)


def _require_user(principal: Principal) -> str:
    if principal.user_id is None:
        raise unsupported_authentication(APP_ONLY)
    return principal.user_id


def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(request.get_data(as_text=True) or "null")
    except ValueError as exc:
        raise XProblem(400, "Invalid Request", "Request body is not valid JSON.", "about:blank") from exc
    if not isinstance(body, dict):
        raise XProblem(400, "Invalid Request", "Request body must be a JSON object.", "about:blank")
    return body


def _body_error(message: str) -> XProblem:
    return XProblem(
        400,
        "Invalid Request",
        "One or more parameters to your request was invalid.",
        "https://api.x.com/2/problems/invalid-request",
        extra={"errors": [{"message": message}]},
    )


class XResponses:
    def __init__(self, state: XState):
        self.state = state

    # ------------------------------------------------------------ rendering

    def _tweet_fields(self, request: Request, expansions: set[str]) -> set[str]:
        fields = _csv(request, "tweet.fields", ALL_TWEET_FIELDS)
        implied = {
            "author_id": "author_id",
            "referenced_tweets.id": "referenced_tweets",
            "attachments.media_keys": "attachments",
            "in_reply_to_user_id": "in_reply_to_user_id",
            "entities.mentions.username": "entities",
        }
        return fields | {implied[e] for e in expansions if e in implied}

    def _post_query(self, request: Request) -> tuple[set[str], set[str], set[str], set[str]]:
        """(expansions, tweet.fields, user.fields, media.fields), validated as X does before any lookup."""
        expansions = _csv(request, "expansions", TWEET_EXPANSIONS)
        return (
            expansions,
            self._tweet_fields(request, expansions),
            _csv(request, "user.fields", ALL_USER_FIELDS),
            _csv(request, "media.fields", ALL_MEDIA_FIELDS),
        )

    def _posts_body(self, request: Request, posts: list[Post]) -> dict[str, Any]:
        expansions, tweet_fields, user_fields, media_fields = self._post_query(request)
        body: dict[str, Any] = {}
        if posts:
            body["data"] = [p.to_json(tweet_fields) for p in posts]
        user_ids: list[str] = []
        referenced: list[Post] = []
        media_keys: list[str] = []
        for post in posts:
            if "author_id" in expansions:
                user_ids.append(post.author_id)
            if "in_reply_to_user_id" in expansions and post.in_reply_to_user_id:
                user_ids.append(post.in_reply_to_user_id)
            if "entities.mentions.username" in expansions:
                user_ids.extend(m[3] for m in post.mentions)
            for _, ref_id in post.referenced:
                ref = self.state.posts.get(ref_id)
                if ref is None:
                    continue
                if "referenced_tweets.id" in expansions:
                    referenced.append(ref)
                if "referenced_tweets.id.author_id" in expansions:
                    user_ids.append(ref.author_id)
            if "attachments.media_keys" in expansions:
                media_keys.extend(post.media_keys)
        includes: dict[str, Any] = {}
        users = self._users(user_ids, user_fields)
        if users:
            includes["users"] = users
        if referenced:
            unique = {r.id: r for r in referenced}
            includes["tweets"] = [r.to_json(tweet_fields) for r in unique.values()]
        media = [self.state.media[k].to_json(media_fields) for k in dict.fromkeys(media_keys) if k in self.state.media]
        if media:
            includes["media"] = media
        if includes:
            body["includes"] = includes
        return body

    def _users(self, ids: Iterable[str], fields: set[str]) -> list[dict[str, Any]]:
        out = []
        for uid in dict.fromkeys(ids):
            user = self.state.users.get(uid)
            if user is not None:
                out.append(user.to_json(fields))
        return out

    # ------------------------------------------------------------ posts

    def mentions(self, request: Request, principal: Principal, id: str) -> Result:
        max_results = _int(request, "max_results", 10, 5, 100)
        since = _snowflake(request, "since_id")
        until = _snowflake(request, "until_id")
        below = _decode_token(request)
        self._post_query(request)
        if id not in self.state.users:
            return 200, {"errors": [not_found("user", "id", id)]}
        posts = [
            p
            for p in self.state.mentions_of(id)
            if (since is None or int(p.id) > since)
            and (until is None or int(p.id) < until)
            and (below is None or int(p.id) < below)
        ]
        page, rest = posts[:max_results], posts[max_results:]
        body = self._posts_body(request, page)
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta["newest_id"] = page[0].id
            meta["oldest_id"] = page[-1].id
        if rest:
            meta["next_token"] = encode_token(page[-1].id)
        body["meta"] = meta
        return 200, body

    def search_recent(self, request: Request, principal: Principal) -> Result:
        """``GET /2/tweets/search/recent``: the last 7 days, ``query`` in X's operator language."""
        query = request.args.get("query")
        if query is None:
            raise invalid_request("query", "", "The `query` query parameter can not be empty")
        try:
            test = compile_query(query, self.state.username_of)
        except QueryError as exc:
            raise invalid_request("query", query, str(exc)) from None
        max_results = _int(request, "max_results", 10, 10, 100)
        since = _snowflake(request, "since_id")
        below = _decode_token(request)
        self._post_query(request)
        posts = [
            p
            for p in self.state.search_recent(test)
            if (since is None or int(p.id) > since) and (below is None or int(p.id) < below)
        ]
        page, rest = posts[:max_results], posts[max_results:]
        body = self._posts_body(request, page)
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta["newest_id"] = page[0].id
            meta["oldest_id"] = page[-1].id
        if rest:
            meta["next_token"] = encode_token(page[-1].id)
        body["meta"] = meta
        return 200, body

    def tweet(self, request: Request, principal: Principal, id: str) -> Result:
        post = self.state.posts.get(id)
        if post is None:
            self._post_query(request)
            return 200, {"errors": [not_found("tweet", "id", id)]}
        body = self._posts_body(request, [post])
        body["data"] = body["data"][0]
        return 200, body

    def create_tweet(self, request: Request, principal: Principal) -> Result:
        user_id = _require_user(principal)
        body = _json_body(request)
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise _body_error("$.text: must be a non-empty string")
        if len(text) > MAX_POST_LENGTH:
            raise forbidden("Tweet needs to be a bit shorter.")
        reply = body.get("reply")
        in_reply_to = None
        if reply is not None:
            if not isinstance(reply, dict) or not isinstance(reply.get("in_reply_to_tweet_id"), str):
                raise _body_error("$.reply.in_reply_to_tweet_id: is missing but it is required")
            in_reply_to = reply["in_reply_to_tweet_id"]
            if in_reply_to not in self.state.posts:
                raise forbidden("You attempted to reply to a Tweet that is deleted or not visible to you.")
        media_ids = uploads.attached(self.state, body, user_id)
        with self.state.lock:
            if any(
                p["kind"] == "post" and p["user_id"] == user_id and p["sent_text"] == text for p in self.state.posted
            ):
                raise forbidden("You are not allowed to create a Tweet with duplicate content.")
            post = self.state.create_post(user_id, text, in_reply_to=in_reply_to)
            self.state.record_posted(
                user_id,
                "post",
                {
                    "id": post.id,
                    "text": post.text,
                    "sent_text": text,
                    "in_reply_to_tweet_id": in_reply_to,
                    "media_ids": media_ids,
                },
            )
        return 201, {"data": {"id": post.id, "text": post.text, "edit_history_tweet_ids": [post.id]}}

    def upload_media(self, request: Request, principal: Principal) -> Result:
        return uploads.upload(self.state, request, _require_user(principal))

    # ------------------------------------------------------------ users

    def user(self, request: Request, principal: Principal, id: str) -> Result:
        fields = _csv(request, "user.fields", ALL_USER_FIELDS)
        user = self.state.users.get(id)
        if user is None:
            return 200, {"errors": [not_found("user", "id", id)]}
        return 200, {"data": user.to_json(fields)}

    def me(self, request: Request, principal: Principal) -> Result:
        return self.user(request, principal, _require_user(principal))

    def user_by_username(self, request: Request, principal: Principal, username: str) -> Result:
        fields = _csv(request, "user.fields", ALL_USER_FIELDS)
        user = self.state.user_by_username(username)
        if user is None:
            return 200, {"errors": [not_found("user", "username", username)]}
        return 200, {"data": user.to_json(fields)}

    # ------------------------------------------------------------ direct messages

    def dm_events(self, request: Request, principal: Principal) -> Result:
        user_id = _require_user(principal)
        max_results = _int(request, "max_results", 100, 1, 100)
        types = _csv(request, "event_types", DM_EVENT_TYPES) or DM_EVENT_TYPES
        fields = _csv(request, "dm_event.fields", ALL_DM_FIELDS)
        expansions = _csv(request, "expansions", DM_EXPANSIONS)
        user_fields = _csv(request, "user.fields", ALL_USER_FIELDS)
        media_fields = _csv(request, "media.fields", ALL_MEDIA_FIELDS)
        below = _decode_token(request)
        events = [
            e
            for e in self.state.dm_events_of(user_id)
            if e.event_type in types and (below is None or int(e.id) < below)
        ]
        page, rest = events[:max_results], events[max_results:]
        implied = {
            "sender_id": "sender_id",
            "participant_ids": "participant_ids",
            "attachments.media_keys": "attachments",
        }
        fields |= {implied[e] for e in expansions if e in implied}
        body: dict[str, Any] = {}
        if page:
            body["data"] = [e.to_json(fields) for e in page]
        includes = self._dm_includes(page, expansions, user_fields, media_fields)
        if includes:
            body["includes"] = includes
        meta: dict[str, Any] = {"result_count": len(page)}
        if rest:
            meta["next_token"] = encode_token(page[-1].id)
        body["meta"] = meta
        return 200, body

    def _dm_includes(
        self, page: list[DMEvent], expansions: set[str], user_fields: set[str], media_fields: set[str]
    ) -> dict[str, Any]:
        ids: list[str] = []
        keys: list[str] = []
        for event in page:
            if "sender_id" in expansions:
                ids.append(event.sender_id)
            if "participant_ids" in expansions:
                ids.extend(event.participant_ids)
            if "attachments.media_keys" in expansions:
                keys.extend(event.media_keys)
        includes: dict[str, Any] = {}
        users = self._users(ids, user_fields)
        if users:
            includes["users"] = users
        media = [self.state.media[k].to_json(media_fields) for k in dict.fromkeys(keys) if k in self.state.media]
        if media:
            includes["media"] = media
        return includes

    def send_dm(self, request: Request, principal: Principal, participant_id: str) -> Result:
        user_id = _require_user(principal)
        body = _json_body(request)
        text = body.get("text")
        if not isinstance(text, str) or not text:
            raise _body_error("$.text: must be a non-empty string")
        if len(text) > MAX_DM_LENGTH:
            raise _body_error(f"$.text: must be at most {MAX_DM_LENGTH} characters")
        if participant_id not in self.state.users or participant_id == user_id:
            raise invalid_request(
                "participant_id",
                participant_id,
                f"The `participant_id` value [{participant_id}] is not valid",
            )
        event = self.state.create_dm(user_id, participant_id, text)
        self.state.record_posted(
            user_id,
            "dm",
            {
                "dm_event_id": event.id,
                "dm_conversation_id": event.dm_conversation_id,
                "participant_id": participant_id,
                "text": text,
            },
        )
        return 201, {"data": {"dm_conversation_id": event.dm_conversation_id, "dm_event_id": event.id}}


class ControlResponses:
    """``/_sandbox/...``: inject traffic, inspect what the brand posted, reset. No auth (harness only)."""

    def __init__(self, state: XState):
        self.state = state

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        body = request.get_json(force=True, silent=True)
        if not isinstance(body, dict):
            raise ValueError("body must be a JSON object")
        return body

    def list_users(self, request: Request) -> Result:
        with self.state.lock:
            tokens: dict[str, list[str]] = {}
            for token, uid in self.state.bearer_tokens.items():
                tokens.setdefault(uid or "", []).append(token)
            users = [{**u.to_json(ALL_USER_FIELDS), "tokens": tokens.get(u.id, [])} for u in self.state.users.values()]
        return 200, {"users": users, "app_tokens": tokens.get("", [])}

    def add_user(self, request: Request) -> Result:
        body = self._body(request)
        user = self.state.add_user(
            str(body["username"]),
            name=body.get("name"),
            user_id=body.get("user_id"),
            token=body.get("token"),
            profile_image_url=body.get("profile_image_url"),
        )
        token = body.get("token") or f"token-{user.username}"
        return 201, {**user.to_json(ALL_USER_FIELDS), "tokens": [token]}

    def add_app_token(self, request: Request) -> Result:
        self.state.add_app_token(str(self._body(request)["token"]))
        return 201, {}

    def inject_mention(self, request: Request) -> Result:
        body = self._body(request)
        post = self.state.inject_mention(
            str(body["from_user"]),
            str(body["text"]),
            in_reply_to=body.get("in_reply_to"),
            quote_of=body.get("quote_of"),
            lang=str(body.get("lang", "en")),
            to_user=body.get("to_user"),
            media=body.get("media"),
        )
        return 201, {"data": post}

    def inject_dm(self, request: Request) -> Result:
        body = self._body(request)
        event = self.state.inject_dm(str(body["from_user"]), str(body["to_user"]), str(body["text"]), body.get("media"))
        return 201, {"data": event}

    def posted(self, request: Request) -> Result:
        user = request.args.get("user_id") or request.args.get("user")
        if user:
            return 200, {"posted": self.state.posted_by(user)}
        with self.state.lock:
            return 200, {"posted": [dict(p) for p in self.state.posted]}

    def set_limit(self, request: Request) -> Result:
        body = self._body(request)
        self.state.set_limit(str(body["endpoint"]), int(body["limit"]))
        return 200, {}

    def requests_seen(self, request: Request) -> Result:
        with self.state.lock:
            return 200, {"requests": dict(self.state.requests)}
