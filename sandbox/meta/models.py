"""State of the Meta Graph API fake: Pages, IG accounts, people, posts, comments, conversations.

Everything the brand does through the API is recorded (``posted_by_page``); everything a customer does
through the inject helpers queues the webhook Meta would send (``pending_webhooks``), which
``deliver_webhooks`` POSTs, signed with the app secret, to a callback URL.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests

from sandbox.base import FakeBackend

from .exceptions import GraphError
from .login_state import MetaLogin
from .mentions import IgMentions

DEFAULT_APP_SECRET = "sandbox-app-secret"
DEFAULT_TOKEN = "sandbox-page-token"
DEFAULT_PAGE_ID = "1000000001"
DEFAULT_IG_ID = "17841400000000001"


def now() -> datetime:
    return datetime.now(tz=UTC)


def graph_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def sign(app_secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class Page:
    id: str
    name: str
    token: str
    ig_id: str | None = None
    ig_username: str | None = None


@dataclass
class Person:
    id: str  # one id stands for the page-scoped id, PSID and IGSID of this person in the fake
    name: str
    username: str | None = None
    deactivated: bool = False  # deleted/deactivated the account: the Send API answers (#551)


@dataclass
class Post:
    id: str
    page_id: str
    author_id: str
    message: str
    created: datetime
    updated: datetime
    comments: list[str] = field(default_factory=list)  # top-level comment ids, oldest first


@dataclass
class Comment:
    id: str
    post_id: str
    parent_id: str | None
    author_id: str
    message: str
    created: datetime
    replies: list[str] = field(default_factory=list)
    private_reply_used: bool = False
    deleted: bool = False


@dataclass
class Media:
    id: str
    ig_id: str
    caption: str
    created: datetime
    comments: list[str] = field(default_factory=list)


@dataclass
class IgComment:
    id: str
    media_id: str
    parent_id: str | None
    author_id: str
    text: str
    created: datetime
    replies: list[str] = field(default_factory=list)
    deleted: bool = False


@dataclass
class Message:
    mid: str
    from_id: str
    to_id: str
    text: str
    created: datetime
    deleted: bool = False


@dataclass
class Conversation:
    id: str
    page_id: str
    platform: str  # messenger | instagram
    user_id: str
    messages: list[Message] = field(default_factory=list)  # oldest first

    @property
    def updated(self) -> datetime:
        return self.messages[-1].created if self.messages else datetime.fromtimestamp(0, tz=UTC)


@dataclass
class Throttle:
    code: int
    minutes: int
    remaining: int  # how many more requests are refused


class MetaState(IgMentions, FakeBackend):
    """The fake's whole world. Thread-safe: the WSGI server is threaded."""

    def __init__(self, app_secret: str = DEFAULT_APP_SECRET, *, require_proof: bool = False) -> None:
        super().__init__()
        self.app_secret = app_secret
        self.require_proof = require_proof
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.pages: dict[str, Page] = {}
            self.people: dict[str, Person] = {}
            self.posts: dict[str, Post] = {}
            self.comments: dict[str, Comment] = {}
            self.media: dict[str, Media] = {}
            self.ig_comments: dict[str, IgComment] = {}
            self.conversations: dict[str, Conversation] = {}
            self.messages: dict[str, tuple[str, Message]] = {}  # mid -> (conversation id, message)
            self.posted: list[dict[str, Any]] = []
            self.pending: list[dict[str, Any]] = []
            self.calls: dict[str, int] = {}
            self.throttle: Throttle | None = None
            self.scripted_errors: list[GraphError] = []
            self.ig_mentions: dict[str, dict[str, dict[str, Any]]] = {}
            self._ids = itertools.count(1)
            self.login = MetaLogin()  # Facebook Login and app subscriptions (login.py)
            from .hashtags import Hashtags  # local: hashtags.py builds on this module

            self.hashtags = Hashtags()  # Instagram Hashtag Search (hashtags.py)

    # -- ids ----------------------------------------------------------------------------------

    def _next(self) -> int:
        return next(self._ids)

    # -- setup --------------------------------------------------------------------------------

    def add_page(
        self,
        page_id: str = DEFAULT_PAGE_ID,
        name: str = "Sandbox Brand",
        token: str = DEFAULT_TOKEN,
        ig_id: str | None = DEFAULT_IG_ID,
        ig_username: str | None = "sandbox.brand",
    ) -> Page:
        with self.lock:
            page = Page(id=page_id, name=name, token=token, ig_id=ig_id, ig_username=ig_username)
            self.pages[page_id] = page
            return page

    def add_person(self, person_id: str, name: str, username: str | None = None) -> Person:
        with self.lock:
            person = Person(id=person_id, name=name, username=username or name.lower().replace(" ", "."))
            self.people[person_id] = person
            return person

    def page_for_token(self, token: str) -> Page | None:
        with self.lock:
            return next((p for p in self.pages.values() if hmac.compare_digest(p.token, token)), None)

    def page_for_ig(self, ig_id: str) -> Page:
        with self.lock:
            for page in self.pages.values():
                if page.ig_id == ig_id:
                    return page
        raise KeyError(ig_id)

    def _person(self, person_id: str) -> Person:
        return self.people.get(person_id) or self.add_person(person_id, f"User {person_id}")

    def _author(self, author_id: str) -> dict[str, str]:
        page = self.pages.get(author_id)
        if page is not None:
            return {"id": page.id, "name": page.name}
        return {"id": author_id, "name": self._person(author_id).name}

    def _ig_author(self, author_id: str) -> dict[str, str]:
        for page in self.pages.values():
            if page.ig_id == author_id:
                return {"id": author_id, "username": page.ig_username or "brand"}
        person = self._person(author_id)
        return {"id": author_id, "username": person.username or person.id}

    # -- customers' activity (queues webhooks) -------------------------------------------------

    def inject_post(
        self, page_id: str, author_id: str, message: str, created_at: datetime | None = None, *, item: str = "status"
    ) -> str:
        """A post on the Page's feed (by a visitor, or by the Page when author_id == page_id)."""
        with self.lock:
            created = created_at or now()
            post_id = f"{page_id}_{self._next()}"
            self.posts[post_id] = Post(post_id, page_id, author_id, message, created, created)
            self._queue_feed(
                page_id,
                {
                    "from": self._author(author_id),
                    "item": item,
                    "verb": "add",
                    "post_id": post_id,
                    "message": message,
                    "published": 1,
                    "created_time": int(created.timestamp()),
                },
            )
            return post_id

    def inject_comment(
        self,
        post_id: str,
        author_id: str,
        message: str,
        parent_id: str | None = None,
        created_at: datetime | None = None,
    ) -> str:
        """A comment on a post (parent_id = a comment id for a reply). Queues the ``feed`` webhook."""
        with self.lock:
            post = self.posts[post_id]
            created = created_at or now()
            comment_id = f"{post_id.split('_')[-1]}_{self._next()}"
            comment = Comment(comment_id, post_id, parent_id, author_id, message, created)
            self.comments[comment_id] = comment
            if parent_id:
                self.comments[parent_id].replies.append(comment_id)
            else:
                post.comments.append(comment_id)
            post.updated = max(post.updated, created)
            self._queue_feed(
                post.page_id,
                {
                    "from": self._author(author_id),
                    "item": "comment",
                    "verb": "add",
                    "post_id": post_id,
                    "comment_id": comment_id,
                    "parent_id": parent_id or post_id,
                    "message": message,
                    "created_time": int(created.timestamp()),
                },
            )
            return comment_id

    def inject_message(
        self, page_id: str, user_id: str, text: str, created_at: datetime | None = None, *, platform: str = "messenger"
    ) -> str:
        """A customer's DM to the Page (messenger) or its IG account (instagram). Returns the mid."""
        with self.lock:
            page = self.pages[page_id]
            own = page.id if platform == "messenger" else str(page.ig_id)
            message = Message(f"m_{self._next():06d}", user_id, own, text, created_at or now())
            self._conversation(page_id, platform, user_id).messages.append(message)
            self.messages[message.mid] = (self._conversation(page_id, platform, user_id).id, message)
            self._queue_messaging(
                platform,
                own,
                {
                    "sender": {"id": user_id},
                    "recipient": {"id": own},
                    "timestamp": int(message.created.timestamp() * 1000),
                    "message": {"mid": message.mid, "text": text},
                },
            )
            self._person(user_id)
            return message.mid

    def inject_ig_media(self, ig_id: str, caption: str, created_at: datetime | None = None) -> str:
        """A media object published by the brand's IG account (comments hang under it)."""
        with self.lock:
            media_id = f"1790{self._next():011d}"
            self.media[media_id] = Media(media_id, ig_id, caption, created_at or now())
            return media_id

    def inject_ig_comment(
        self,
        media_id: str,
        author_id: str,
        text: str,
        parent_id: str | None = None,
        created_at: datetime | None = None,
    ) -> str:
        with self.lock:
            media = self.media[media_id]
            comment_id = f"1800{self._next():011d}"
            comment = IgComment(comment_id, media_id, parent_id, author_id, text, created_at or now())
            self.ig_comments[comment_id] = comment
            if parent_id:
                self.ig_comments[parent_id].replies.append(comment_id)
            else:
                media.comments.append(comment_id)
            value: dict[str, Any] = {
                "from": self._ig_author(author_id),
                "media": {"id": media_id, "media_product_type": "FEED"},
                "id": comment_id,
                "text": text,
            }
            if parent_id:
                value["parent_id"] = parent_id
            self._queue_change("instagram", media.ig_id, "comments", value)
            return comment_id

    def edit(self, object_id: str, text: str) -> None:
        """A customer edits a Facebook comment (feed ``edited``) or a message (``message_edit``)."""
        with self.lock:
            if object_id in self.comments:
                comment = self.comments[object_id]
                comment.message = text
                post = self.posts[comment.post_id]
                self._queue_feed(
                    post.page_id,
                    {
                        "from": self._author(comment.author_id),
                        "item": "comment",
                        "verb": "edited",
                        "post_id": post.id,
                        "comment_id": comment.id,
                        "parent_id": comment.parent_id or post.id,
                        "message": text,
                        "created_time": int(comment.created.timestamp()),
                    },
                )
                return
            if object_id in self.messages:
                conversation_id, message = self.messages[object_id]
                message.text = text
                conversation = self.conversations[conversation_id]
                self._queue_messaging(
                    conversation.platform,
                    message.to_id,
                    {
                        "sender": {"id": message.from_id},
                        "recipient": {"id": message.to_id},
                        "timestamp": int(now().timestamp() * 1000),
                        "message_edit": {"mid": message.mid, "text": text, "num_edit": 1},
                    },
                )
                return
        raise KeyError(object_id)

    def delete(self, object_id: str) -> None:
        """A customer removes a Facebook comment (feed ``remove``) or unsends an IG message."""
        with self.lock:
            if object_id in self.comments:
                comment = self.comments[object_id]
                comment.deleted = True
                post = self.posts[comment.post_id]
                self._queue_feed(
                    post.page_id,
                    {
                        "from": self._author(comment.author_id),
                        "item": "comment",
                        "verb": "remove",
                        "post_id": post.id,
                        "comment_id": comment.id,
                        "parent_id": comment.parent_id or post.id,
                        "created_time": int(now().timestamp()),
                    },
                )
                return
            if object_id in self.messages:
                conversation_id, message = self.messages[object_id]
                message.deleted = True
                conversation = self.conversations[conversation_id]
                self._queue_messaging(
                    conversation.platform,
                    message.to_id,
                    {
                        "sender": {"id": message.from_id},
                        "recipient": {"id": message.to_id},
                        "timestamp": int(now().timestamp() * 1000),
                        "message": {"mid": message.mid, "is_deleted": True},
                    },
                )
                return
            if object_id in self.ig_comments:
                # Instagram sends no webhook for a removed comment: only Graph's answers change.
                self.ig_comments[object_id].deleted = True
                return
        raise KeyError(object_id)

    def deactivate(self, person_id: str) -> None:
        """The customer deletes or deactivates their account: messages to them are refused (#551)."""
        with self.lock:
            self.people[person_id].deactivated = True

    # -- webhooks -------------------------------------------------------------------------------

    def _queue_change(self, obj: str, entry_id: str, field_name: str, value: dict[str, Any]) -> None:
        self.pending.append(
            {
                "object": obj,
                "entry": [
                    {"id": entry_id, "time": int(now().timestamp()), "changes": [{"field": field_name, "value": value}]}
                ],
            }
        )

    def _queue_feed(self, page_id: str, value: dict[str, Any]) -> None:
        self._queue_change("page", page_id, "feed", value)

    def _queue_messaging(self, platform: str, entry_id: str, event: dict[str, Any]) -> None:
        obj = "page" if platform == "messenger" else "instagram"
        self.pending.append(
            {
                "object": obj,
                "entry": [{"id": entry_id, "time": int(now().timestamp() * 1000), "messaging": [event]}],
            }
        )

    def pending_webhooks(self, *, clear: bool = False) -> list[dict[str, Any]]:
        """The webhook bodies queued so far (oldest first)."""
        with self.lock:
            bodies = list(self.pending)
            if clear:
                self.pending.clear()
            return bodies

    def deliver_webhooks(self, url: str, app_secret: str | None = None, *, timeout: float = 10.0) -> list[int]:
        """POST every queued webhook body to ``url`` signed with ``X-Hub-Signature-256``; returns statuses.

        Bodies answered with a non-2xx status stay queued (Meta retries failed deliveries).
        """
        secret = app_secret or self.app_secret
        statuses: list[int] = []
        for body in self.pending_webhooks(clear=True):
            raw = json.dumps(body, separators=(",", ":")).encode("utf-8")
            response = requests.post(
                url,
                data=raw,
                headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(secret, raw)},
                timeout=timeout,
            )
            statuses.append(response.status_code)
            if response.status_code >= 300:
                with self.lock:
                    self.pending.append(body)
        return statuses

    # -- helpers used by the handlers ----------------------------------------------------------

    def _conversation(self, page_id: str, platform: str, user_id: str) -> Conversation:
        for conversation in self.conversations.values():
            if (conversation.page_id, conversation.platform, conversation.user_id) == (page_id, platform, user_id):
                return conversation
        conversation = Conversation(f"t_{self._next()}", page_id, platform, user_id)
        self.conversations[conversation.id] = conversation
        return conversation

    def record(self, kind: str, page_id: str, **data: Any) -> dict[str, Any]:
        item = {"kind": kind, "page_id": page_id, "at": graph_time(now()), **data}
        self.posted.append(item)
        return item

    def posted_by_page(self, page_id: str | None = None) -> list[dict[str, Any]]:
        """What the brand published through the API: comments, IG replies, messages (oldest first)."""
        with self.lock:
            return [dict(p) for p in self.posted if page_id is None or p["page_id"] == page_id]

    def count_call(self, page_id: str) -> int:
        self.calls[page_id] = self.calls.get(page_id, 0) + 1
        return self.calls[page_id]

    def set_throttle(self, minutes: int, *, code: int = 80001, requests_refused: int = 1) -> None:
        """Refuse the next ``requests_refused`` API calls with a rate-limit error and BUC headers."""
        with self.lock:
            self.throttle = Throttle(code=code, minutes=minutes, remaining=requests_refused)

    def fail_next(self, error: GraphError) -> None:
        """Answer the next API call with this Graph error (scripted failure for tests)."""
        with self.lock:
            self.scripted_errors.append(error)
