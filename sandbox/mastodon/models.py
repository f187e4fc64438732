"""State of the fake Mastodon instance: accounts, tokens, statuses, notifications, rate limits.

Shapes follow the entity pages at docs.joinmastodon.org (Account, Status, Notification). Ids are
strings cast from growing integers, as Mastodon's are ("cast from an integer, but not guaranteed to be
a number"), so ordering by id is ordering by time, which the min_id/max_id pagination relies on.
"""

from __future__ import annotations

import html
import itertools
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sandbox.base import FakeBackend, Window, current_window

# Idempotency keys are stored for up to 1 hour (docs: methods/statuses, Idempotency-Key header).
IDEMPOTENCY_TTL_SECONDS = 3600
# Default limits (docs: api/rate-limits): 300 requests per 5 minutes per account.
DEFAULT_RATE_LIMIT = 300
DEFAULT_RATE_WINDOW = 300
DEFAULT_MAX_CHARACTERS = 500
VISIBILITIES = ("public", "unlisted", "private", "direct")


def _now_iso() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def id_key(value: str) -> tuple[int, str]:
    """Sort key for Mastodon ids: numeric when they are, else by length then text (like snowflakes)."""
    return (len(value), value)


def text_to_html(text: str, mentions: list[dict[str, Any]]) -> str:
    """Render plain text the way Mastodon renders a status: paragraphs, <br />, h-card mentions."""
    escaped = html.escape(text, quote=False)
    for mention in mentions:
        token = "@" + html.escape(mention["acct"], quote=False)
        link = (
            f'<span class="h-card" translate="no"><a href="{mention["url"]}" class="u-url mention">'
            f"@<span>{html.escape(mention['username'], quote=False)}</span></a></span>"
        )
        escaped = escaped.replace(token, link)
    paragraphs = [p.replace("\n", "<br />") for p in escaped.split("\n\n")]
    return "".join(f"<p>{p}</p>" for p in paragraphs)


@dataclass
class MastodonState(FakeBackend):
    """Everything the fake instance knows. All mutation goes through methods holding ``lock``."""

    domain: str = "mastodon.example"
    max_characters: int = DEFAULT_MAX_CHARACTERS
    rate_limit: int = DEFAULT_RATE_LIMIT
    rate_window: int = DEFAULT_RATE_WINDOW
    version: str = "4.3.0"
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    statuses: dict[str, dict[str, Any]] = field(default_factory=dict)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    idempotency: dict[tuple[str, str], tuple[str, float]] = field(default_factory=dict)
    windows: dict[str, Window] = field(default_factory=dict)
    requests_seen: list[tuple[str, str]] = field(default_factory=list)
    media: dict[str, dict[str, Any]] = field(default_factory=dict)  # POST /api/v2/media, see media.py
    oauth_apps: dict[str, dict[str, Any]] = field(default_factory=dict)  # POST /api/v1/apps, see oauth.py
    oauth_codes: dict[str, dict[str, Any]] = field(default_factory=dict)  # authorization codes, single-use

    def __post_init__(self) -> None:
        super().__init__()
        self._ids = itertools.count(110_000_000_000_000_001)
        self._account_ids = itertools.count(1001)
        self._notification_ids = itertools.count(5_000_001)

    # ---- control surface -------------------------------------------------------------------------

    def delete_status(self, status_id: str) -> dict[str, Any]:
        """The author deletes a status: gone (404) from every lookup, and the streaming API's ``delete``
        event (its payload is only the id) is returned."""
        with self.lock:
            self.statuses.pop(status_id)
        return {"event": "delete", "payload": status_id}

    def reset(self) -> None:
        with self.lock:
            self.accounts.clear()
            self.tokens.clear()
            self.statuses.clear()
            self.notifications.clear()
            self.idempotency.clear()
            self.windows.clear()
            self.requests_seen.clear()
            self.media.clear()
            self.oauth_apps.clear()
            self.oauth_codes.clear()

    def add_account(
        self,
        username: str,
        *,
        display_name: str | None = None,
        domain: str | None = None,
        token: str | None = None,
        note: str = "",
    ) -> dict[str, Any]:
        """Create a local (``domain`` None) or remote account; ``token`` makes it able to call the API."""
        with self.lock:
            account_id = str(next(self._account_ids))
            host = domain or self.domain
            acct = username if domain is None or domain == self.domain else f"{username}@{domain}"
            account = {
                "id": account_id,
                "username": username,
                "acct": acct,
                "display_name": display_name if display_name is not None else username,
                "locked": False,
                "bot": False,
                "discoverable": True,
                "group": False,
                "created_at": _now_iso(),
                "note": f"<p>{html.escape(note)}</p>" if note else "",
                "url": f"https://{host}/@{username}",
                "uri": f"https://{host}/users/{username}",
                "avatar": f"https://{self.domain}/avatars/{account_id}.png",
                "avatar_static": f"https://{self.domain}/avatars/{account_id}.png",
                "header": f"https://{self.domain}/headers/missing.png",
                "header_static": f"https://{self.domain}/headers/missing.png",
                "followers_count": 0,
                "following_count": 0,
                "statuses_count": 0,
                "last_status_at": None,
                "emojis": [],
                "fields": [],
            }
            self.accounts[account_id] = account
            if token:
                self.tokens[token] = account_id
            return dict(account)

    def issue_token(self, account_id: str) -> str:
        with self.lock:
            if account_id not in self.accounts:
                raise KeyError(account_id)
            token = secrets.token_urlsafe(24)
            self.tokens[token] = account_id
            return token

    def revoke_token(self, token: str) -> None:
        with self.lock:
            self.tokens.pop(token, None)

    def inject_mention(
        self,
        to_account: str,
        from_account: str,
        text: str | None = None,
        *,
        visibility: str = "public",
        in_reply_to_id: str | None = None,
        language: str | None = "en",
    ) -> dict[str, Any]:
        """A customer (``from_account``) writes a status mentioning the brand (``to_account``).

        The text is prefixed with ``@brand`` when it does not already mention it. Returns the
        Notification entity the brand will see.
        """
        with self.lock:
            brand = self.accounts[to_account]
            body = text if text is not None else "hello"
            if f"@{brand['acct']}" not in body:
                body = f"@{brand['acct']} {body}"
            status = self._create_status(
                from_account, body, visibility=visibility, in_reply_to_id=in_reply_to_id, language=language
            )
            return self._notify(to_account, "mention", from_account, status["id"])

    def inject_status(self, from_account: str, text: str, *, language: str | None = "en") -> dict[str, Any]:
        """A public status that mentions nobody (a customer talking about a brand, or about anything)."""
        with self.lock:
            status = self._create_status(
                from_account, text, visibility="public", in_reply_to_id=None, language=language
            )
            return self.render_status(status["id"])

    def tag_timeline(self, hashtag: str, *, since_id: str | None, limit: int) -> list[dict[str, Any]]:
        """``GET /api/v1/timelines/tag/:hashtag``: public statuses carrying #hashtag, newest first."""
        wanted = hashtag.lstrip("#").lower()
        with self.lock:
            found = [
                s["id"]
                for s in self.statuses.values()
                if s["visibility"] == "public"
                and wanted in {t.lower() for t in re.findall(r"#(\w+)", str(s.get("text") or ""))}
                and (since_id is None or (len(s["id"]), s["id"]) > (len(since_id), since_id))
            ]
            found.sort(key=lambda i: (len(i), i), reverse=True)
            return [self.render_status(i) for i in found[:limit]]

    def edit_status(self, status_id: str, text: str) -> dict[str, Any]:
        """The author edits a status; the brand gets an ``update`` notification (docs: Notification)."""
        with self.lock:
            status = self.statuses[status_id]
            status["text"] = text
            status["edited_at"] = _now_iso()
            status["content"] = text_to_html(text, status["mentions"])
            targets = {m["id"] for m in status["mentions"]}
            last: dict[str, Any] = {}
            for target in sorted(targets):
                last = self._notify(target, "update", status["account_id"], status_id)
            return last

    def posted_by(self, account_id: str) -> list[dict[str, Any]]:
        """Statuses the account (the brand) published, oldest first, as Status entities."""
        with self.lock:
            own = [s for s in self.statuses.values() if s["account_id"] == account_id]
            own.sort(key=lambda s: id_key(s["id"]))
            return [self.render_status(s["id"]) for s in own]

    # ---- behaviour used by the handlers ---------------------------------------------------------

    def account_for_token(self, token: str | None) -> str | None:
        with self.lock:
            return self.tokens.get(token or "")

    def consume_rate(self, key: str) -> tuple[bool, dict[str, str]]:
        """Count one request for ``key``; return (allowed, X-RateLimit-* headers)."""
        with self.lock:
            # Windows are aligned to the clock like Mastodon's (period boundaries).
            window = current_window(self.windows, key, time.time(), self.rate_window, aligned=True)
            window.count += 1
            remaining = max(self.rate_limit - window.count, 0)
            reset = datetime.fromtimestamp(window.started + self.rate_window, UTC)
            headers = {
                "X-RateLimit-Limit": str(self.rate_limit),
                "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            }
            return window.count <= self.rate_limit, headers

    def create_status(
        self,
        account_id: str,
        text: str,
        *,
        visibility: str | None,
        in_reply_to_id: str | None,
        language: str | None,
        idempotency_key: str | None,
    ) -> tuple[dict[str, Any], bool]:
        """POST /api/v1/statuses semantics; returns (status, created). Same key → same status."""
        with self.lock:
            now = time.monotonic()
            if idempotency_key:
                previous = self.idempotency.get((account_id, idempotency_key))
                if previous and now - previous[1] < IDEMPOTENCY_TTL_SECONDS and previous[0] in self.statuses:
                    return self.render_status(previous[0]), False
            status = self._create_status(
                account_id,
                text,
                visibility=visibility or "public",
                in_reply_to_id=in_reply_to_id,
                language=language,
            )
            if idempotency_key:
                self.idempotency[(account_id, idempotency_key)] = (status["id"], now)
            # Mentioned local accounts get a notification, as on a real instance.
            for mention in status["mentions"]:
                if mention["id"] != account_id:
                    self._notify(mention["id"], "mention", account_id, status["id"])
            return self.render_status(status["id"]), True

    def render_status(self, status_id: str) -> dict[str, Any]:
        with self.lock:
            raw = self.statuses[status_id]
            public = {k: v for k, v in raw.items() if k not in ("account_id", "text")}
            public["account"] = dict(self.accounts[raw["account_id"]])
            public["mentions"] = [dict(m) for m in raw["mentions"]]
            return public

    def visible_to(self, status_id: str, viewer: str | None) -> bool:
        raw = self.statuses.get(status_id)
        if raw is None:
            return False
        if raw["visibility"] in ("public", "unlisted"):
            return True
        return viewer is not None and (viewer == raw["account_id"] or any(m["id"] == viewer for m in raw["mentions"]))

    def context(self, status_id: str) -> dict[str, list[dict[str, Any]]]:
        with self.lock:
            ancestors: list[dict[str, Any]] = []
            parent = self.statuses[status_id]["in_reply_to_id"]
            while parent and parent in self.statuses:
                ancestors.insert(0, self.render_status(parent))
                parent = self.statuses[parent]["in_reply_to_id"]
            descendants: list[dict[str, Any]] = []
            frontier = [status_id]
            while frontier:
                current = frontier.pop(0)
                children = sorted(
                    (s["id"] for s in self.statuses.values() if s["in_reply_to_id"] == current), key=id_key
                )
                descendants.extend(self.render_status(c) for c in children)
                frontier.extend(children)
            return {"ancestors": ancestors, "descendants": descendants}

    def list_notifications(
        self,
        account_id: str,
        *,
        types: list[str],
        exclude_types: list[str],
        from_account: str | None,
        max_id: str | None,
        since_id: str | None,
        min_id: str | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        """Newest first. With ``min_id`` the page is the ``limit`` oldest items newer than it."""
        with self.lock:
            items = [n for n in self.notifications if n["recipient_id"] == account_id]
            if types:
                items = [n for n in items if n["type"] in types]
            if exclude_types:
                items = [n for n in items if n["type"] not in exclude_types]
            if from_account:
                items = [n for n in items if n["account_id"] == from_account]
            if max_id:
                items = [n for n in items if id_key(n["id"]) < id_key(max_id)]
            if since_id:
                items = [n for n in items if id_key(n["id"]) > id_key(since_id)]
            if min_id:
                items = [n for n in items if id_key(n["id"]) > id_key(min_id)]
                items.sort(key=lambda n: id_key(n["id"]))
                items = items[:limit]
                items.reverse()
            else:
                items.sort(key=lambda n: id_key(n["id"]), reverse=True)
                items = items[:limit]
            return [self.render_notification(n) for n in items]

    def render_notification(self, raw: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": raw["id"],
            "type": raw["type"],
            "group_key": f"ungrouped-{raw['id']}",
            "created_at": raw["created_at"],
            "account": dict(self.accounts[raw["account_id"]]),
            "status": self.render_status(raw["status_id"]) if raw["status_id"] else None,
        }

    def find_notification(self, account_id: str, notification_id: str) -> dict[str, Any] | None:
        with self.lock:
            for raw in self.notifications:
                if raw["id"] == notification_id and raw["recipient_id"] == account_id:
                    return self.render_notification(raw)
            return None

    # ---- internals ------------------------------------------------------------------------------

    def _resolve_mentions(self, text: str) -> list[dict[str, Any]]:
        mentions = []
        for account in self.accounts.values():
            if f"@{account['acct']}" in text:
                mentions.append(
                    {
                        "id": account["id"],
                        "username": account["username"],
                        "url": account["url"],
                        "acct": account["acct"],
                    }
                )
        # Longer handles first so "@ann@x" is not replaced as "@ann" when rendering.
        mentions.sort(key=lambda m: len(m["acct"]), reverse=True)
        return mentions

    def _create_status(
        self,
        account_id: str,
        text: str,
        *,
        visibility: str,
        in_reply_to_id: str | None,
        language: str | None,
    ) -> dict[str, Any]:
        account = self.accounts[account_id]
        status_id = str(next(self._ids))
        mentions = self._resolve_mentions(text)
        parent = self.statuses.get(in_reply_to_id) if in_reply_to_id else None
        host = account["url"].split("/")[2]
        created_at = _now_iso()
        status: dict[str, Any] = {
            "id": status_id,
            "created_at": created_at,
            "edited_at": None,
            "in_reply_to_id": in_reply_to_id,
            "in_reply_to_account_id": parent["account_id"] if parent else None,
            "sensitive": False,
            "spoiler_text": "",
            "visibility": visibility,
            "language": language,
            "uri": f"https://{host}/users/{account['username']}/statuses/{status_id}",
            "url": f"https://{host}/@{account['username']}/{status_id}",
            "replies_count": 0,
            "reblogs_count": 0,
            "favourites_count": 0,
            "favourited": False,
            "reblogged": False,
            "muted": False,
            "bookmarked": False,
            "content": text_to_html(text, mentions),
            "reblog": None,
            "application": {"name": "Web", "website": None},
            "media_attachments": [],
            "mentions": mentions,
            "tags": [],
            "emojis": [],
            "card": None,
            "poll": None,
            "account_id": account_id,
            "text": text,
        }
        self.statuses[status_id] = status
        if parent:
            parent["replies_count"] += 1
        account["statuses_count"] += 1
        account["last_status_at"] = created_at[:10]
        return status

    def _notify(self, recipient: str, kind: str, from_account: str, status_id: str | None) -> dict[str, Any]:
        raw = {
            "id": str(next(self._notification_ids)),
            "type": kind,
            "created_at": _now_iso(),
            "recipient_id": recipient,
            "account_id": from_account,
            "status_id": status_id,
        }
        self.notifications.append(raw)
        return self.render_notification(raw)
