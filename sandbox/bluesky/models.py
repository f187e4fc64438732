"""State of the fake Bluesky PDS + app view + chat service.

Shapes follow the lexicons (app.bsky.notification.listNotifications, app.bsky.feed.defs#postView,
app.bsky.actor.defs#profileViewDetailed, com.atproto.server.createSession, chat.bsky.convo.defs).
Record CIDs are CIDv1 / dag-cbor / sha2-256 strings computed over the record's canonical JSON: the
right format and deterministic, though not the DAG-CBOR bytes a real PDS hashes.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import secrets
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.base import FakeBackend, Window, current_window

from .chat import ChatReads
from .views import Views

DEFAULT_ACCESS_TTL = 2 * 3600  # the PDS issues access tokens valid for about two hours
DEFAULT_REFRESH_TTL = 60 * 24 * 3600
DEFAULT_RATE_LIMIT = 3000  # PDS global limit: 3000 requests per 5 minutes per IP/account
DEFAULT_RATE_WINDOW = 300
MAX_POST_GRAPHEMES = 300  # app.bsky.feed.post text maxGraphemes
CHAT_PROXY = "did:web:api.bsky.chat#bsky_chat"
_TID_CHARS = "234567abcdefghijklmnopqrstuvwxyz"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def cid_for(value: Any) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    raw = bytes([0x01, 0x71, 0x12, 0x20]) + hashlib.sha256(canonical).digest()
    return "b" + base64.b32encode(raw).decode().lower().rstrip("=")


def did_for(handle: str) -> str:
    digest = hashlib.sha256(handle.encode()).digest()
    return "did:plc:" + base64.b32encode(digest).decode().lower()[:24]


def grapheme_count(text: str) -> int:
    """Approximate extended grapheme clusters: combining marks, ZWJ sequences, variation selectors,
    skin-tone modifiers and regional-indicator pairs do not start a new cluster."""
    count = 0
    previous = ""
    regional_open = False
    for ch in text:
        code = ord(ch)
        joins_previous = (
            unicodedata.combining(ch) != 0
            or 0xFE00 <= code <= 0xFE0F
            or 0x1F3FB <= code <= 0x1F3FF
            or code == 0x200D
            or previous == "\u200d"
            or 0xE0020 <= code <= 0xE007F
        )
        if 0x1F1E6 <= code <= 0x1F1FF:
            if regional_open:
                joins_previous = True
                regional_open = False
            else:
                regional_open = True
        else:
            regional_open = False
        if not joins_previous or count == 0:
            count += 1
        previous = ch
    return count


class Clock:
    """Strictly increasing ISO timestamps (ms), so ``indexedAt`` orders notifications without ties."""

    def __init__(self) -> None:
        self._last = datetime(2000, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        current = datetime.now(UTC)
        current = current.replace(microsecond=current.microsecond // 1000 * 1000)
        if current <= self._last:
            current = self._last + timedelta(milliseconds=1)
        self._last = current
        return current

    @staticmethod
    def iso(value: datetime) -> str:
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


@dataclass
class BlueskyState(Views, ChatReads, FakeBackend):
    host: str = "bsky.sandbox"
    access_ttl: int = DEFAULT_ACCESS_TTL
    rate_limit: int = DEFAULT_RATE_LIMIT
    rate_window: int = DEFAULT_RATE_WINDOW
    actors: dict[str, dict[str, Any]] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=dict)
    access_tokens: dict[str, str] = field(default_factory=dict)
    refresh_tokens: dict[str, str] = field(default_factory=dict)
    expired_tokens: set[str] = field(default_factory=set)
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    convos: dict[frozenset[str], dict[str, Any]] = field(default_factory=dict)
    windows: dict[str, Window] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    blobs: dict[str, dict[str, Any]] = field(default_factory=dict)  # uploadBlob, see blobs.py

    def __post_init__(self) -> None:
        super().__init__()
        self.clock = Clock()
        self._tid_seq = itertools.count(1)

    # ---- control surface -------------------------------------------------------------------------

    def reset(self) -> None:
        with self.lock:
            for table in (
                self.actors,
                self.passwords,
                self.access_tokens,
                self.refresh_tokens,
                self.records,
                self.convos,
                self.windows,
                self.blobs,
            ):
                table.clear()
            self.expired_tokens.clear()
            self.notifications.clear()
            self.calls.clear()

    def add_actor(
        self,
        handle: str,
        *,
        display_name: str | None = None,
        password: str | None = None,
        accepts_messages: bool = True,
        chat_access: bool = True,
    ) -> dict[str, Any]:
        """Create an account; with ``password`` (an app password) it can log in. ``chat_access=False``:
        the app password was created without "Allow access to your direct messages"."""
        with self.lock:
            did = did_for(handle)
            actor = {
                "did": did,
                "handle": handle,
                "displayName": display_name if display_name is not None else handle.split(".")[0],
                "avatar": f"https://cdn.{self.host}/img/avatar/plain/{did}/avatar@jpeg",
                "description": "",
                "createdAt": Clock.iso(self.clock.now()),
                "indexedAt": Clock.iso(self.clock.now()),
                "acceptsMessages": accepts_messages,
                "chatAccess": chat_access,
            }
            self.actors[did] = actor
            if password:
                self.passwords[did] = password
            return self.profile_view(did)

    def inject_post(
        self,
        author: str,
        text: str,
        *,
        mentions: list[str] | None = None,
        reply_to: str | None = None,
        quote: str | None = None,
        langs: list[str] | None = None,
    ) -> dict[str, Any]:
        """``author`` (a DID) posts. ``mentions`` are DIDs whose ``@handle`` gets a mention facet
        (prefixed to the text when missing); ``reply_to`` / ``quote`` are post URIs. Returns the postView."""
        with self.lock:
            facets = []
            body = text
            for did in mentions or []:
                tag = "@" + self.actors[did]["handle"]
                if tag not in body:
                    body = f"{tag} {body}"
            for did in mentions or []:
                tag = ("@" + self.actors[did]["handle"]).encode()
                start = body.encode().find(tag)
                facets.append(
                    {
                        "$type": "app.bsky.richtext.facet",
                        "index": {"byteStart": start, "byteEnd": start + len(tag)},
                        "features": [{"$type": "app.bsky.richtext.facet#mention", "did": did}],
                    }
                )
            record: dict[str, Any] = {
                "$type": "app.bsky.feed.post",
                "text": body,
                "createdAt": Clock.iso(self.clock.now()),
                "langs": langs or ["en"],
            }
            if facets:
                record["facets"] = facets
            if reply_to:
                parent = self.records[reply_to]
                parent_ref = {"uri": parent["uri"], "cid": parent["cid"]}
                root_ref = parent["value"].get("reply", {}).get("root") or parent_ref
                record["reply"] = {"root": root_ref, "parent": parent_ref}
            if quote:
                quoted = self.records[quote]
                record["embed"] = {
                    "$type": "app.bsky.embed.record",
                    "record": {"uri": quoted["uri"], "cid": quoted["cid"]},
                }
            uri, _cid = self.create_record(author, "app.bsky.feed.post", record)
            return self.post_view(uri)

    def search(self, q: str, since: str = "") -> list[str]:
        """Post URIs matching ``q`` (see responses.search_posts), newest first."""
        wanted = [w.strip('"').lower() for w in re.findall(r'"[^"]+"|\S+', q)]

        def words(text: str) -> list[str]:
            return [w.lower() for w in re.findall(r"#?[\w']+", text)]

        def matches(text: str) -> bool:
            found = words(text)
            joined = " " + " ".join(found) + " "
            return all((f" {w} " in joined) if " " in w else (w in found) for w in wanted)

        with self.lock:
            hits = [
                (r["indexedAt"], uri)
                for uri, r in self.records.items()
                if r["collection"] == "app.bsky.feed.post"
                and (not since or r["indexedAt"] >= since)
                and matches(str(r["value"].get("text") or ""))
            ]
        return [uri for _at, uri in sorted(hits, reverse=True)]

    def inject_mention(self, to: str, author: str, text: str) -> dict[str, Any]:
        """A customer mentions the brand: the brand gets a ``mention`` notification."""
        return self.inject_post(author, text, mentions=[to])

    def expire_access_tokens(self) -> None:
        """Every access token issued so far is now rejected with ``ExpiredToken`` (refresh still works)."""
        with self.lock:
            self.expired_tokens.update(self.access_tokens)

    def expire_refresh_tokens(self) -> None:
        with self.lock:
            self.expired_tokens.update(self.refresh_tokens)

    def posts_by(self, did: str) -> list[dict[str, Any]]:
        """Records of app.bsky.feed.post written by ``did``, oldest first (``{uri, cid, value}``)."""
        with self.lock:
            own = [r for r in self.records.values() if r["did"] == did and r["collection"] == "app.bsky.feed.post"]
            return [{"uri": r["uri"], "cid": r["cid"], "value": r["value"]} for r in own]

    def messages_to(self, did: str) -> list[dict[str, Any]]:
        with self.lock:
            found: list[dict[str, Any]] = []
            for members, convo in self.convos.items():
                if did in members:
                    found.extend(m for m in convo["messages"] if m["sender"]["did"] != did)
            return found

    # ---- sessions -------------------------------------------------------------------------------

    def _jwt(self, did: str, scope: str, ttl: int) -> str:
        now = int(time.time())
        header = _b64url(
            json.dumps({"typ": "at+jwt" if "access" in scope else "refresh+jwt", "alg": "ES256K"}).encode()
        )
        claims: dict[str, Any] = {
            "scope": scope,
            "sub": did,
            "aud": f"did:web:{self.host}",
            "iat": now,
            "exp": now + ttl,
        }
        if "refresh" in scope:
            claims["jti"] = secrets.token_urlsafe(16)
        payload = _b64url(json.dumps(claims).encode())
        return f"{header}.{payload}.{_b64url(secrets.token_bytes(32))}"

    def open_session(self, identifier: str, password: str) -> dict[str, Any] | None:
        with self.lock:
            did = (
                identifier
                if identifier in self.actors
                else next((d for d, a in self.actors.items() if a["handle"] == identifier.lstrip("@")), None)
            )
            if did is None or self.passwords.get(did) != password:
                return None
            return self._issue(did)

    def _issue(self, did: str) -> dict[str, Any]:
        access = self._jwt(did, "com.atproto.access", self.access_ttl)
        refresh = self._jwt(did, "com.atproto.refresh", DEFAULT_REFRESH_TTL)
        self.access_tokens[access] = did
        self.refresh_tokens[refresh] = did
        return {
            "accessJwt": access,
            "refreshJwt": refresh,
            "handle": self.actors[did]["handle"],
            "did": did,
            "active": True,
        }

    def refresh(self, token: str) -> dict[str, Any]:
        """Rotate: the old refresh token is spent, as on the PDS."""
        with self.lock:
            did = self.refresh_tokens.pop(token)
            return self._issue(did)

    # ---- rate limits ----------------------------------------------------------------------------

    def consume_rate(self, key: str) -> tuple[bool, dict[str, str]]:
        with self.lock:
            # The PDS's window starts with the first request it counts.
            window = current_window(self.windows, key, time.time(), self.rate_window, aligned=False)
            window.count += 1
            headers = {
                "ratelimit-limit": str(self.rate_limit),
                "ratelimit-remaining": str(max(self.rate_limit - window.count, 0)),
                "ratelimit-reset": str(int(window.started + self.rate_window)),
                "ratelimit-policy": f"{self.rate_limit};w={self.rate_window}",
            }
            return window.count <= self.rate_limit, headers

    # ---- records and views ----------------------------------------------------------------------

    def next_tid(self) -> str:
        micros = int(time.time() * 1_000_000) + next(self._tid_seq)
        value = (micros << 10) | 0x1F
        chars = []
        for _ in range(13):
            chars.append(_TID_CHARS[value & 31])
            value >>= 5
        return "".join(reversed(chars))

    def delete_record(self, uri: str) -> dict[str, Any]:
        """The author deletes a record (com.atproto.repo.deleteRecord): gone from every view, and the
        Jetstream commit event a subscriber receives is returned."""
        with self.lock:
            rec = self.records.pop(uri)
            self.notifications = [n for n in self.notifications if n.get("uri") != uri]
            return {
                "did": rec["did"],
                "time_us": int(self.clock.now().timestamp() * 1_000_000),
                "kind": "commit",
                "commit": {
                    "rev": self.next_tid(),
                    "operation": "delete",
                    "collection": rec["collection"],
                    "rkey": uri.rsplit("/", 1)[-1],
                },
            }

    def create_record(self, did: str, collection: str, record: dict[str, Any]) -> tuple[str, str]:
        with self.lock:
            rkey = self.next_tid()
            uri = f"at://{did}/{collection}/{rkey}"
            cid = cid_for(record)
            self.records[uri] = {
                "uri": uri,
                "cid": cid,
                "did": did,
                "collection": collection,
                "value": record,
                "indexedAt": Clock.iso(self.clock.now()),
            }
            if collection == "app.bsky.feed.post":
                self._notify_for_post(uri)
            return uri, cid

    def _notify_for_post(self, uri: str) -> None:
        rec = self.records[uri]
        author = rec["did"]
        value = rec["value"]
        notified: set[str] = set()
        reply = value.get("reply") or {}
        parent = self.records.get((reply.get("parent") or {}).get("uri", ""))
        if parent and parent["did"] != author:
            self._notify(parent["did"], uri, "reply", parent["uri"])
            notified.add(parent["did"])
        embed = value.get("embed") or {}
        quoted = self.records.get((embed.get("record") or {}).get("uri", "")) if isinstance(embed, dict) else None
        if quoted and quoted["did"] != author and quoted["did"] not in notified:
            self._notify(quoted["did"], uri, "quote", quoted["uri"])
            notified.add(quoted["did"])
        for facet in value.get("facets") or []:
            for feature in facet.get("features") or []:
                target = feature.get("did")
                if (
                    feature.get("$type") == "app.bsky.richtext.facet#mention"
                    and target in self.actors
                    and target != author
                    and target not in notified
                ):
                    self._notify(target, uri, "mention", None)
                    notified.add(target)

    def _notify(self, recipient: str, uri: str, reason: str, subject: str | None) -> None:
        self.notifications.append(
            {
                "recipient": recipient,
                "uri": uri,
                "reason": reason,
                "reasonSubject": subject,
                "indexedAt": Clock.iso(self.clock.now()),
            }
        )

    def list_notifications(
        self, did: str, *, limit: int, cursor: str | None, reasons: list[str]
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Newest first; the cursor is the ``indexedAt`` of the last item (older items follow)."""
        with self.lock:
            items = [n for n in self.notifications if n["recipient"] == did]
            if reasons:
                items = [n for n in items if n["reason"] in reasons]
            items.sort(key=lambda n: n["indexedAt"], reverse=True)
            if cursor:
                items = [n for n in items if n["indexedAt"] < cursor]
            page = items[:limit]
            views = []
            for n in page:
                rec = self.records[n["uri"]]
                view = {
                    "uri": n["uri"],
                    "cid": rec["cid"],
                    "author": self.profile_view(rec["did"]),
                    "reason": n["reason"],
                    "record": rec["value"],
                    "isRead": False,
                    "indexedAt": n["indexedAt"],
                    "labels": [],
                }
                if n["reasonSubject"]:
                    view["reasonSubject"] = n["reasonSubject"]
                views.append(view)
            next_cursor = page[-1]["indexedAt"] if len(items) > limit else None
            return views, next_cursor

    def list_records(self, did: str, collection: str, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
        """Newest first (by rkey), as com.atproto.repo.listRecords without ``reverse``."""
        with self.lock:
            own = [r for r in self.records.values() if r["did"] == did and r["collection"] == collection]
            own.sort(key=lambda r: r["uri"].rsplit("/", 1)[1], reverse=True)
            if cursor:
                own = [r for r in own if r["uri"].rsplit("/", 1)[1] < cursor]
            page = own[:limit]
            next_cursor = page[-1]["uri"].rsplit("/", 1)[1] if len(own) > limit else None
            return [{"uri": r["uri"], "cid": r["cid"], "value": r["value"]} for r in page], next_cursor

    # ---- chat -----------------------------------------------------------------------------------

    def convo_for(self, members: list[str]) -> dict[str, Any]:
        with self.lock:
            key = frozenset(members)
            convo = self.convos.get(key)
            if convo is None:
                convo = self.convos[key] = {
                    "id": secrets.token_hex(8),
                    "rev": self.next_tid(),
                    "messages": [],
                    "members": sorted(key),
                }
            return convo

    def convo_view(self, convo: dict[str, Any]) -> dict[str, Any]:
        return {
            "$type": "chat.bsky.convo.defs#convoView",
            "id": convo["id"],
            "rev": convo["rev"],
            "members": [self.basic_view(d) for d in convo["members"]],
            "muted": False,
            "unreadCount": 0,
        }

    def send_message(self, sender: str, convo_id: str, text: str) -> dict[str, Any]:
        with self.lock:
            convo = next((c for c in self.convos.values() if c["id"] == convo_id), None)
            if convo is None or sender not in convo["members"]:
                raise KeyError(convo_id)
            message = {
                "$type": "chat.bsky.convo.defs#messageView",
                "id": self.next_tid(),
                "rev": self.next_tid(),
                "text": text,
                "sender": {"did": sender},
                "sentAt": Clock.iso(self.clock.now()),
            }
            convo["messages"].append(message)
            convo["rev"] = message["rev"]
            return message
