"""State of the X fake: users, tokens, posts, DM events, media and per-token rate-limit windows.

Everything is guarded by one lock because the server is threaded. Ids are snowflakes built from the
creation time (so they sort like X's and ``since_id`` works), made strictly increasing.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sandbox.base import FakeBackend

from .developer import DeveloperApp

SNOWFLAKE_EPOCH_MS = 1288834974657
MAX_POST_LENGTH = 280
MAX_DM_LENGTH = 10_000
WINDOW_SECONDS = 900
_MENTION_RE = re.compile(r"(?<![\w@])@(\w{1,15})")

# Documented per-15-minute limits ("X API Rate Limits"): (per app-only token, per user token).
DEFAULT_LIMITS: dict[str, tuple[int, int]] = {
    "GET /2/users/:id/mentions": (450, 300),
    "GET /2/users/:id": (300, 900),
    "GET /2/users/me": (0, 75),
    "GET /2/users/by/username/:username": (300, 900),
    "GET /2/tweets/:id": (450, 900),
    "GET /2/tweets/search/recent": (450, 300),
    "POST /2/tweets": (0, 100),
    "GET /2/dm_events": (0, 15),
    "POST /2/dm_conversations/with/:participant_id/messages": (0, 15),
}
# Endpoints that only accept user context; X refuses app-only tokens before counting the request.
USER_CONTEXT_ONLY = {endpoint for endpoint, (app, _) in DEFAULT_LIMITS.items() if app == 0}


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(ts * 1000) % 1000:03d}Z"


@dataclass
class XUser:
    id: str
    username: str
    name: str
    created_at: float
    profile_image_url: str
    url: str = ""
    description: str = ""
    protected: bool = False

    def to_json(self, fields: set[str]) -> dict[str, Any]:
        full: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "username": self.username,
            "created_at": iso(self.created_at),
            "profile_image_url": self.profile_image_url,
            "url": self.url,
            "description": self.description,
            "protected": self.protected,
        }
        return {k: v for k, v in full.items() if k in fields | {"id", "name", "username"}}


@dataclass
class Media:
    media_key: str
    type: str
    url: str | None = None
    preview_image_url: str | None = None

    def to_json(self, fields: set[str]) -> dict[str, Any]:
        full = {
            "media_key": self.media_key,
            "type": self.type,
            "url": self.url,
            "preview_image_url": self.preview_image_url,
        }
        return {k: v for k, v in full.items() if v is not None and k in fields | {"media_key", "type"}}


@dataclass
class Post:
    id: str
    text: str
    author_id: str
    created_at: float
    conversation_id: str
    lang: str
    in_reply_to_user_id: str | None = None
    referenced: list[tuple[str, str]] = field(default_factory=list)
    media_keys: list[str] = field(default_factory=list)
    mentions: list[tuple[int, int, str, str]] = field(default_factory=list)  # start, end, username, id

    def to_json(self, fields: set[str]) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "text": self.text, "edit_history_tweet_ids": [self.id]}
        optional: dict[str, Any] = {
            "author_id": self.author_id,
            "created_at": iso(self.created_at),
            "conversation_id": self.conversation_id,
            "lang": self.lang,
            "in_reply_to_user_id": self.in_reply_to_user_id,
            "referenced_tweets": [{"type": t, "id": i} for t, i in self.referenced] or None,
            "attachments": {"media_keys": list(self.media_keys)} if self.media_keys else None,
            "entities": {"mentions": [{"start": s, "end": e, "username": u, "id": i} for s, e, u, i in self.mentions]}
            if self.mentions
            else None,
        }
        out.update({k: v for k, v in optional.items() if k in fields and v is not None})
        return out


@dataclass
class DMEvent:
    id: str
    text: str
    sender_id: str
    dm_conversation_id: str
    participant_ids: list[str]
    created_at: float
    media_keys: list[str] = field(default_factory=list)
    event_type: str = "MessageCreate"

    def to_json(self, fields: set[str]) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "event_type": self.event_type, "text": self.text}
        optional: dict[str, Any] = {
            "sender_id": self.sender_id,
            "dm_conversation_id": self.dm_conversation_id,
            "created_at": iso(self.created_at),
            "participant_ids": list(self.participant_ids),
            "attachments": {"media_keys": list(self.media_keys)} if self.media_keys else None,
        }
        out.update({k: v for k, v in optional.items() if k in fields and v is not None})
        return out


@dataclass(frozen=True)
class Principal:
    """Who a request authenticates as: an app (user_id None) or a user."""

    user_id: str | None
    method: str  # "OAuth 2.0 Application-Only", "OAuth 2.0 User Context", "OAuth 1.0a User Context"
    token: str


@dataclass
class Window:
    limit: int
    remaining: int
    reset: int


def conversation_of(a: str, b: str) -> str:
    lo, hi = sorted((a, b), key=lambda s: (len(s), s))
    return f"{lo}-{hi}"


class XState(FakeBackend):
    """The fake's whole world. Public methods are the Python control surface."""

    def __init__(self, clock: Callable[[], float] = time.time):
        super().__init__()
        self.clock = clock
        self.users: dict[str, XUser] = {}
        self.bearer_tokens: dict[str, str | None] = {}  # token -> user id (None = app-only)
        self.token_expiry: dict[str, float] = {}  # OAuth 2.0 user token -> when it stops working (clock)
        self.oauth1_consumers: dict[str, str] = {}  # consumer key -> consumer secret
        self.oauth1_tokens: dict[str, tuple[str, str]] = {}  # access token -> (secret, user id)
        self.posts: dict[str, Post] = {}
        self.dms: list[DMEvent] = []
        self.media: dict[str, Media] = {}
        self.uploads: dict[str, dict[str, Any]] = {}  # POST /2/media/upload, see uploads.py
        self.posted: list[dict[str, Any]] = []
        self.requests: Counter[str] = Counter()
        self.limit_overrides: dict[str, int] = {}
        self.windows: dict[tuple[str, str], Window] = {}
        self._last_id = 0
        self.developer = DeveloperApp()  # the app's keys, OAuth 2.0 codes, webhooks (oauth2.py)

    # ------------------------------------------------------------ ids

    def next_id(self, when: float) -> str:
        with self.lock:
            candidate = (int(when * 1000) - SNOWFLAKE_EPOCH_MS) << 22
            self._last_id = max(candidate, self._last_id + 1)
            return str(self._last_id)

    # ------------------------------------------------------------ users and tokens

    def add_user(
        self,
        username: str,
        *,
        name: str | None = None,
        user_id: str | None = None,
        token: str | None = None,
        profile_image_url: str | None = None,
        url: str = "",
        description: str = "",
    ) -> XUser:
        """Create a user and register a user-context Bearer token for it (default ``token-<username>``)."""
        with self.lock:
            if self.user_by_username(username) is not None:
                raise ValueError(f"username {username!r} is taken")
            now = self.clock()
            uid = user_id or self.next_id(now)
            user = XUser(
                id=uid,
                username=username,
                name=name or username,
                created_at=now,
                profile_image_url=profile_image_url or f"https://pbs.twimg.com/profile_images/{uid}/avatar_normal.jpg",
                url=url,
                description=description,
            )
            self.users[uid] = user
            self.bearer_tokens[token or f"token-{username}"] = uid
            return user

    def add_app_token(self, token: str) -> None:
        """Register an app-only Bearer token (reads public data, cannot post)."""
        with self.lock:
            self.bearer_tokens[token] = None

    def add_oauth1(self, user: str, consumer_key: str, consumer_secret: str, token: str, token_secret: str) -> None:
        """Register OAuth 1.0a keys: the app's consumer key/secret and ``user``'s access token/secret."""
        with self.lock:
            self.oauth1_consumers[consumer_key] = consumer_secret
            self.oauth1_tokens[token] = (token_secret, self.resolve_user(user).id)

    def user_by_username(self, username: str) -> XUser | None:
        wanted = username.lower()
        return next((u for u in self.users.values() if u.username.lower() == wanted), None)

    def resolve_user(self, ref: str) -> XUser:
        """A user by id, username or @username."""
        with self.lock:
            user = self.users.get(ref) or self.user_by_username(ref.lstrip("@"))
            if user is None:
                raise KeyError(f"no such user {ref!r}")
            return user

    # ------------------------------------------------------------ media

    def add_media(self, items: list[dict[str, Any]] | None) -> list[str]:
        keys: list[str] = []
        for item in items or []:
            key = f"3_{self.next_id(self.clock())}"
            kind = str(item.get("type", "photo"))
            self.media[key] = Media(key, kind, item.get("url"), item.get("preview_image_url"))
            keys.append(key)
        return keys

    # ------------------------------------------------------------ posts

    def create_post(
        self,
        author: str,
        text: str,
        *,
        in_reply_to: str | None = None,
        quote_of: str | None = None,
        lang: str = "en",
        media: list[dict[str, Any]] | None = None,
    ) -> Post:
        with self.lock:
            user = self.resolve_user(author)
            now = self.clock()
            referenced: list[tuple[str, str]] = []
            reply_to_user = None
            conversation = None
            if in_reply_to is not None:
                target = self.posts.get(in_reply_to)
                if target is None:
                    raise KeyError(f"no such post {in_reply_to!r}")
                referenced.append(("replied_to", target.id))
                reply_to_user = target.author_id
                conversation = target.conversation_id
                # X puts the leading @mention of the replied-to author into the text.
                target_name = self.users[target.author_id].username
                if f"@{target_name.lower()}" not in text.lower():
                    text = f"@{target_name} {text}"
            if quote_of is not None:
                if quote_of not in self.posts:
                    raise KeyError(f"no such post {quote_of!r}")
                referenced.append(("quoted", quote_of))
            post_id = self.next_id(now)
            mentions = []
            for match in _MENTION_RE.finditer(text):
                mentioned = self.user_by_username(match.group(1))
                if mentioned is not None:
                    mentions.append((match.start(), match.end(), mentioned.username, mentioned.id))
            post = Post(
                id=post_id,
                text=text,
                author_id=user.id,
                created_at=now,
                conversation_id=conversation or post_id,
                lang=lang,
                in_reply_to_user_id=reply_to_user,
                referenced=referenced,
                media_keys=self.add_media(media),
                mentions=mentions,
            )
            self.posts[post_id] = post
            return post

    def inject_mention(
        self,
        from_user: str,
        text: str,
        in_reply_to: str | None = None,
        quote_of: str | None = None,
        lang: str = "en",
        *,
        to_user: str | None = None,
        media: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """A customer post; ``to_user`` prefixes ``@username`` so it shows in that user's mentions."""
        if to_user is not None:
            target = self.resolve_user(to_user)
            if f"@{target.username.lower()}" not in text.lower():
                text = f"@{target.username} {text}"
        post = self.create_post(from_user, text, in_reply_to=in_reply_to, quote_of=quote_of, lang=lang, media=media)
        return post.to_json(ALL_TWEET_FIELDS)

    def inject_post(self, from_user: str, text: str, lang: str = "en") -> dict[str, Any]:
        """A public post that tags nobody (a customer talking *about* a brand, or about anything)."""
        return self.create_post(from_user, text, lang=lang).to_json(ALL_TWEET_FIELDS)

    def search_recent(self, test: Any) -> list[Post]:
        """Posts matching a compiled query (sandbox.x.search), newest first."""
        with self.lock:
            found = [p for p in self.posts.values() if test(p)]
        return sorted(found, key=lambda p: int(p.id), reverse=True)

    def username_of(self, user_id: str) -> str | None:
        user = self.users.get(user_id)
        return user.username if user is not None else None

    def mentions_of(self, user_id: str) -> list[Post]:
        """Posts that @mention the user, newest first (the user's own posts excluded)."""
        with self.lock:
            found = [
                p for p in self.posts.values() if p.author_id != user_id and any(m[3] == user_id for m in p.mentions)
            ]
        return sorted(found, key=lambda p: int(p.id), reverse=True)

    def delete_post(self, post_id: str) -> dict[str, Any]:
        """The author deletes a post: gone from every lookup (a reply to it is refused with X's 403),
        and the Account Activity ``tweet_delete_events`` body X sends the subscribed brand is returned."""
        with self.lock:
            post = self.posts.pop(post_id)
            mentioned = [m[3] for m in post.mentions]
        return {
            "for_user_id": mentioned[0] if mentioned else post.author_id,
            "tweet_delete_events": [
                {
                    "status": {"id": post_id, "user_id": post.author_id},
                    "timestamp_ms": str(int(self.clock() * 1000)),
                }
            ],
        }

    # ------------------------------------------------------------ direct messages

    def create_dm(self, sender: str, recipient: str, text: str, media: list[dict[str, Any]] | None = None) -> DMEvent:
        with self.lock:
            a = self.resolve_user(sender)
            b = self.resolve_user(recipient)
            event = DMEvent(
                id=self.next_id(self.clock()),
                text=text,
                sender_id=a.id,
                dm_conversation_id=conversation_of(a.id, b.id),
                participant_ids=[a.id, b.id],
                created_at=self.clock(),
                media_keys=self.add_media(media),
            )
            self.dms.append(event)
            return event

    def inject_dm(
        self, from_user: str, to_user: str, text: str, media: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """A customer's direct message to ``to_user``."""
        return self.create_dm(from_user, to_user, text, media).to_json(ALL_DM_FIELDS)

    def dm_events_of(self, user_id: str) -> list[DMEvent]:
        with self.lock:
            found = [e for e in self.dms if user_id in e.participant_ids]
        return sorted(found, key=lambda e: int(e.id), reverse=True)

    # ------------------------------------------------------------ what the brand did

    def record_posted(self, user_id: str, kind: str, payload: dict[str, Any]) -> None:
        with self.lock:
            self.posted.append({"user_id": user_id, "kind": kind, **payload})

    def posted_by(self, user_id: str) -> list[dict[str, Any]]:
        """Everything created through the API by this user (id or username): posts and DMs, in order."""
        uid = self.resolve_user(user_id).id
        with self.lock:
            return [dict(p) for p in self.posted if p["user_id"] == uid]

    # ------------------------------------------------------------ rate limits

    def set_limit(self, endpoint: str, limit: int) -> None:
        """Override an endpoint's per-token limit (e.g. ``set_limit("GET /2/dm_events", 2)``)."""
        with self.lock:
            self.limit_overrides[endpoint] = limit
            for key in [k for k in self.windows if k[0] == endpoint]:
                del self.windows[key]

    def take(self, endpoint: str, principal: Principal) -> tuple[bool, Window]:
        """Spend one request from the token's window; False when nothing was left."""
        with self.lock:
            now = self.clock()
            key = (endpoint, principal.token)
            window = self.windows.get(key)
            if window is None or now >= window.reset:
                app_limit, user_limit = DEFAULT_LIMITS.get(endpoint, (300, 900))
                limit = self.limit_overrides.get(endpoint, user_limit if principal.user_id else app_limit)
                window = Window(limit=limit, remaining=limit, reset=int(now) + WINDOW_SECONDS)
                self.windows[key] = window
            if window.remaining <= 0:
                return False, window
            window.remaining -= 1
            return True, window

    # ------------------------------------------------------------ housekeeping

    def reset(self, *, keep_users: bool = True) -> None:
        """Forget traffic (posts, DMs, media, what was posted, counters, rate windows)."""
        with self.lock:
            self.posts.clear()
            self.dms.clear()
            self.media.clear()
            self.uploads.clear()
            self.posted.clear()
            self.requests.clear()
            self.windows.clear()
            self.limit_overrides.clear()
            if not keep_users:
                self.users.clear()
                self.bearer_tokens.clear()
                self.token_expiry.clear()
                self.oauth1_consumers.clear()
                self.oauth1_tokens.clear()
                self.developer = DeveloperApp()


ALL_TWEET_FIELDS = {
    "attachments",
    "author_id",
    "context_annotations",
    "conversation_id",
    "created_at",
    "edit_controls",
    "entities",
    "geo",
    "id",
    "in_reply_to_user_id",
    "lang",
    "non_public_metrics",
    "note_tweet",
    "organic_metrics",
    "possibly_sensitive",
    "promoted_metrics",
    "public_metrics",
    "referenced_tweets",
    "reply_settings",
    "source",
    "text",
    "withheld",
    "edit_history_tweet_ids",
}
ALL_USER_FIELDS = {
    "created_at",
    "description",
    "entities",
    "id",
    "location",
    "name",
    "pinned_tweet_id",
    "profile_image_url",
    "protected",
    "public_metrics",
    "url",
    "username",
    "verified",
    "verified_type",
    "withheld",
    "most_recent_tweet_id",
}
ALL_MEDIA_FIELDS = {
    "duration_ms",
    "height",
    "media_key",
    "non_public_metrics",
    "organic_metrics",
    "preview_image_url",
    "promoted_metrics",
    "public_metrics",
    "type",
    "url",
    "width",
    "alt_text",
    "variants",
}
ALL_DM_FIELDS = {
    "id",
    "text",
    "event_type",
    "created_at",
    "sender_id",
    "dm_conversation_id",
    "attachments",
    "participant_ids",
    "referenced_tweets",
}
