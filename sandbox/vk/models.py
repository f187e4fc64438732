"""State of the fake VK community: wall, comments, conversations, events, Callback and Long Poll.

Semantics follow dev.vk.com:
- Every community event gets an ``event_id`` and lands both in the Bots Long Poll history (numbered by
  ``ts``) and in the Callback API queue. ``deliver_callbacks()`` POSTs queued events with ``secret``;
  an event is done only when the server answers HTTP 200 with body ``ok``, otherwise it is resent on the
  next delivery with the same ``event_id`` (VK gives up after ``callback_max_attempts``).
- ``confirm_callback()`` sends the ``confirmation`` request and expects the confirmation string back.
- ``messages.send`` de-duplicates by ``(peer, random_id)``; ``wall.createComment`` by ``guid``;
  writing to a user who never wrote to / allowed the community fails with 901.
- Long Poll: ``a_check`` with a stale key -> ``{"failed": 2}``; a ts outside the kept history ->
  ``{"failed": 1, "ts": now}``; after ``lose_history()`` -> ``{"failed": 3}`` until a new server is fetched.
"""

from __future__ import annotations

import copy
import hashlib
import json
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from sandbox.base import FakeBackend

from .callback import CallbackSender
from .exceptions import (
    VKApiError,
    access_denied,
    bad_param,
    cant_send_without_permission,
    comment_access_denied,
    invalid_user_id,
    too_many_requests,
)

CHAT_PEER_BASE = 2_000_000_000


class VKState(CallbackSender, FakeBackend):
    def __init__(
        self,
        group_id: int = 229000001,
        access_token: str = "vk1.a.sandbox-community-token",
        secret: str = "sandbox-callback-secret",
        confirmation_code: str = "9f2c1d7a",
        api_version: str = "5.199",
        *,
        group_name: str = "Horseshoe Support",
        screen_name: str = "horseshoe_support",
        clock: Callable[[], float] = time.monotonic,
        rps_limit: int | None = 20,
        max_long_poll: float = 2.0,
        callback_max_attempts: int = 5,
    ):
        self.group_id = group_id
        self.access_token = access_token
        self.search_token = "vk-sandbox-service-token"  # the app's service key (search.py)
        self.secret = secret
        self.confirmation_code = confirmation_code
        self.api_version = api_version
        self.group_name = group_name
        self.screen_name = screen_name
        self.clock = clock
        self.rps_limit = rps_limit
        self.max_long_poll = max_long_poll
        self.callback_max_attempts = callback_max_attempts
        super().__init__()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.users: dict[int, dict[str, Any]] = {}
            self.posts: dict[tuple[int, int], dict[str, Any]] = {}
            self.comments: dict[tuple[int, int], dict[str, Any]] = {}
            self.deleted_comments: set[tuple[int, int]] = set()  # what answering them now meets: error 211
            self._next_wall_id: dict[int, int] = {}
            self.conversations: dict[int, dict[int, dict[str, Any]]] = {}
            self._next_message_id = 1
            self.allowed_peers: set[int] = set()
            self._random_ids: dict[tuple[int, int], dict[str, Any]] = {}
            self._guids: dict[tuple[int, int, str], int] = {}
            self.events: list[dict[str, Any]] = []  # index i has ts i + 1
            self._history_base = 1  # lowest ts still kept
            self._lp_key = self._new_key()
            self._history_lost = False
            self.callback_url: str | None = None
            self.callback_confirmed = False
            self.callback_queue: list[dict[str, Any]] = []  # {"event": ..., "attempts": n}
            self.callback_log: list[dict[str, Any]] = []
            self.callback_dropped: list[dict[str, Any]] = []
            self.callback_servers: dict[int, dict[str, Any]] = {}  # servers.py: groups.addCallbackServer
            self.callback_settings: dict[int, dict[str, Any]] = {}  # groups.setCallbackSettings per server
            self.sent_comments: list[dict[str, Any]] = []
            self.sent_messages: list[dict[str, Any]] = []
            self.photo_uploads: dict[str, bytes] = {}  # photos.py: uploaded, not yet saved
            self.photos: dict[str, dict[str, Any]] = {}  # "photo{owner}_{id}" -> saved photo
            self._calls: deque[float] = deque()
            self.public_posts: list[dict[str, Any]] = []  # users' own walls: found only by newsfeed.search
            self.search_calls = 0  # newsfeed.search calls (search.py), the listening budget's witness

    # -- helpers ---------------------------------------------------------------------------------

    _key_counter = 0

    def _new_key(self) -> str:
        VKState._key_counter += 1
        return hashlib.sha1(f"lp:{self.group_id}:{VKState._key_counter}".encode()).hexdigest()  # noqa: S324

    def _wall_id(self, owner_id: int) -> int:
        # Posts and comments share one id sequence per wall, as on VK.
        value = self._next_wall_id.get(owner_id, 1)
        self._next_wall_id[owner_id] = value + 1
        return value

    def _emit(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        number = len(self.events) + 1
        event = {
            "group_id": self.group_id,
            "type": kind,
            "event_id": hashlib.sha1(f"{self.group_id}:{number}:{kind}".encode()).hexdigest(),  # noqa: S324
            "v": self.api_version,
            "object": copy.deepcopy(obj),
        }
        self.events.append(event)
        self.callback_queue.append({"event": event, "attempts": 0})
        self.changed.notify_all()
        return copy.deepcopy(event)

    def add_user(
        self, user_id: int, first_name: str, last_name: str = "", screen_name: str | None = None
    ) -> dict[str, Any]:
        user: dict[str, Any] = {
            "id": user_id,
            "first_name": first_name,
            "last_name": last_name,
            "can_access_closed": True,
            "is_closed": False,
            "screen_name": screen_name or f"id{user_id}",
            "photo_100": f"https://sun9-1.userapi.com/sandbox/{user_id}_100.jpg",
        }
        with self.lock:
            self.users[user_id] = user
        return user

    def _known_user(self, user_id: int) -> None:
        if user_id not in self.users:
            raise KeyError(f"unknown sandbox user {user_id}; add_user() first")

    # -- inject traffic --------------------------------------------------------------------------

    def community_posts(self, text: str) -> dict[str, Any]:
        """The community's own post (useful as a post customers then comment on)."""
        with self.lock:
            owner = -self.group_id
            post: dict[str, Any] = {
                "id": self._wall_id(owner),
                "owner_id": owner,
                "from_id": owner,
                "created_by": 0,
                "date": int(time.time()),
                "text": text,
                "post_type": "post",
                "marked_as_ads": 0,
                "comments": {"count": 0, "can_post": 1, "groups_can_post": True},
            }
            self.posts[(owner, post["id"])] = post
            return self._emit("wall_post_new", post)

    def user_posts_on_wall(self, user_id: int, text: str) -> dict[str, Any]:
        with self.lock:
            self._known_user(user_id)
            owner = -self.group_id
            post: dict[str, Any] = {
                "id": self._wall_id(owner),
                "owner_id": owner,
                "from_id": user_id,
                "date": int(time.time()),
                "text": text,
                "post_type": "post",
                "comments": {"count": 0, "can_post": 1, "groups_can_post": True},
            }
            self.posts[(owner, post["id"])] = post
            return self._emit("wall_post_new", post)

    def _add_comment(
        self, from_id: int, post_id: int, text: str, reply_to_comment: int | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Store a comment on our wall; returns (comment, wall_reply_new event)."""
        owner = -self.group_id
        if (owner, post_id) not in self.posts:
            raise bad_param("post_id")
        parents: list[int] = []
        comment: dict[str, Any] = {
            "id": self._wall_id(owner),
            "from_id": from_id,
            "post_id": post_id,
            "owner_id": owner,
            "post_owner_id": owner,
            "date": int(time.time()),
            "text": text,
            "thread": {"count": 0},
        }
        if reply_to_comment:
            if (owner, reply_to_comment) in self.deleted_comments:
                raise comment_access_denied()
            parent = self.comments.get((owner, reply_to_comment))
            if parent is None or parent["post_id"] != post_id:
                raise bad_param("reply_to_comment")
            parents = [*parent.get("parents_stack", []), reply_to_comment]
            comment["reply_to_comment"] = reply_to_comment
            comment["reply_to_user"] = parent["from_id"]
        comment["parents_stack"] = parents
        self.comments[(owner, comment["id"])] = comment
        self.posts[(owner, post_id)]["comments"]["count"] += 1
        return comment, self._emit("wall_reply_new", comment)

    def user_comments(
        self, user_id: int, post_id: int, text: str, reply_to_comment: int | None = None
    ) -> dict[str, Any]:
        with self.lock:
            self._known_user(user_id)
            return self._add_comment(user_id, post_id, text, reply_to_comment)[1]

    def user_edits_comment(self, comment_id: int, text: str) -> dict[str, Any]:
        with self.lock:
            comment = self.comments[(-self.group_id, comment_id)]
            comment["text"] = text
            return self._emit("wall_reply_edit", comment)

    def user_deletes_comment(self, comment_id: int, deleter_id: int | None = None) -> dict[str, Any]:
        with self.lock:
            owner = -self.group_id
            comment = self.comments.pop((owner, comment_id))
            self.deleted_comments.add((owner, comment_id))
            return self._emit(
                "wall_reply_delete",
                {
                    "owner_id": owner,
                    "id": comment_id,
                    "deleter_id": deleter_id if deleter_id is not None else comment["from_id"],
                    "post_id": comment["post_id"],
                },
            )

    def _store_message(
        self, peer_id: int, from_id: int, text: str, *, out: int, reply_cmid: int | None, random_id: int = 0
    ) -> dict[str, Any]:
        convo = self.conversations.setdefault(peer_id, {})
        cmid = len(convo) + 1
        msg: dict[str, Any] = {
            "date": int(time.time()),
            "from_id": from_id,
            "id": self._next_message_id if peer_id < CHAT_PEER_BASE else 0,
            "out": out,
            "version": 10000000 + self._next_message_id,
            "attachments": [],
            "conversation_message_id": cmid,
            "fwd_messages": [],
            "important": False,
            "is_hidden": False,
            "peer_id": peer_id,
            "random_id": random_id,
            "text": text,
        }
        self._next_message_id += 1
        if reply_cmid is not None:
            parent = convo.get(reply_cmid)
            if parent is None:
                raise bad_param("reply_to")
            msg["reply_message"] = {
                k: parent[k] for k in ("date", "from_id", "text", "id", "conversation_message_id", "peer_id")
            }
        convo[cmid] = msg
        return msg

    def user_messages(self, user_id: int, text: str, reply_to_cmid: int | None = None) -> dict[str, Any]:
        """A user writes to the community (which also allows the community to answer them)."""
        with self.lock:
            self._known_user(user_id)
            self.allowed_peers.add(user_id)
            msg = self._store_message(user_id, user_id, text, out=0, reply_cmid=reply_to_cmid)
            client_info = {
                "button_actions": ["text", "vkpay", "open_app", "location", "open_link", "callback"],
                "keyboard": True,
                "inline_keyboard": True,
                "carousel": True,
                "lang_id": 0,
            }
            return self._emit("message_new", {"message": msg, "client_info": client_info})

    def user_edits_message(self, user_id: int, cmid: int, text: str) -> dict[str, Any]:
        with self.lock:
            msg = self.conversations[user_id][cmid]
            msg["text"] = text
            msg["update_time"] = int(time.time())
            return self._emit("message_edit", msg)

    # -- API methods -----------------------------------------------------------------------------

    def check_rate(self) -> None:
        if self.rps_limit is None:
            return
        with self.lock:
            now = self.clock()
            while self._calls and now - self._calls[0] >= 1.0:
                self._calls.popleft()
            if len(self._calls) >= self.rps_limit:
                raise too_many_requests()
            self._calls.append(now)

    def create_comment(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            owner_id = _int(params, "owner_id")
            post_id = _int(params, "post_id")
            if owner_id != -self.group_id:
                raise access_denied("community tokens comment on their own wall")
            message = str(params.get("message") or "")
            if not message and not params.get("attachments"):
                raise bad_param("message is undefined")
            from_group = params.get("from_group")
            if from_group is None or int(from_group) != self.group_id:
                raise bad_param("from_group")
            guid = params.get("guid")
            if guid:
                existing = self._guids.get((owner_id, post_id, str(guid)))
                if existing is not None:
                    return {
                        "comment_id": existing,
                        "parents_stack": self.comments[(owner_id, existing)].get("parents_stack", []),
                    }
            reply_to = params.get("reply_to_comment")
            comment, _event = self._add_comment(
                -self.group_id, post_id, message, int(reply_to) if reply_to not in (None, "", "0") else None
            )
            if guid:
                self._guids[(owner_id, post_id, str(guid))] = comment["id"]
            self.sent_comments.append(copy.deepcopy(comment))
            return {"comment_id": comment["id"], "parents_stack": comment["parents_stack"]}

    def send_message(self, params: dict[str, Any]) -> Any:
        with self.lock:
            if "random_id" not in params:
                raise bad_param("random_id is a required parameter")
            random_id = _int(params, "random_id")
            use_peer_ids = "peer_ids" in params
            raw_peer = params.get("peer_ids") or params.get("peer_id") or params.get("user_id")
            if raw_peer is None:
                raise bad_param("peer_id is undefined")
            try:
                peer_id = int(str(raw_peer).split(",")[0])
            except ValueError:
                raise bad_param("peer_id") from None
            message = str(params.get("message") or "")
            if not message and not params.get("attachment"):
                raise bad_param("message is empty or invalid")
            if peer_id not in self.allowed_peers:
                raise cant_send_without_permission()
            reply_cmid = None
            if params.get("forward"):
                try:
                    forward = json.loads(str(params["forward"]))
                    reply_cmid = int(forward["conversation_message_ids"][0])
                except (ValueError, KeyError, IndexError, TypeError):
                    raise bad_param("forward") from None
            elif params.get("reply_to"):
                wanted = _int(params, "reply_to")
                found = [m for m in self.conversations.get(peer_id, {}).values() if m["id"] == wanted]
                if not found:
                    raise bad_param("reply_to")
                reply_cmid = found[0]["conversation_message_id"]
            key = (peer_id, random_id)
            msg = self._random_ids.get(key) if random_id else None
            if msg is None:
                msg = self._store_message(
                    peer_id, -self.group_id, message, out=1, reply_cmid=reply_cmid, random_id=random_id
                )
                if random_id:
                    self._random_ids[key] = msg
                self.sent_messages.append(copy.deepcopy(msg))
                self._emit("message_reply", msg)
            if use_peer_ids:
                return [
                    {
                        "peer_id": peer_id,
                        "message_id": msg["id"],
                        "conversation_message_id": msg["conversation_message_id"],
                    }
                ]
            return msg["id"]

    def users_get(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        with self.lock:
            raw = str(params.get("user_ids") or params.get("user_id") or "")
            fields = set(str(params.get("fields") or "").split(","))
            out = []
            for part in filter(None, raw.split(",")):
                try:
                    user = self.users.get(int(part))
                except ValueError:
                    user = next((u for u in self.users.values() if u["screen_name"] == part), None)
                if user is None:
                    raise invalid_user_id()
                base = {k: user[k] for k in ("id", "first_name", "last_name", "can_access_closed", "is_closed")}
                base.update({k: user[k] for k in fields if k in user})
                out.append(base)
            return out

    def groups_get_by_id(self, params: dict[str, Any]) -> dict[str, Any]:
        raw = str(params.get("group_id") or params.get("group_ids") or self.group_id)
        groups = []
        for part in filter(None, raw.split(",")):
            if part.lstrip("-") not in (str(self.group_id), self.screen_name):
                raise bad_param("group_ids")
            groups.append(
                {
                    "id": self.group_id,
                    "name": self.group_name,
                    "screen_name": self.screen_name,
                    "is_closed": 0,
                    "type": "group",
                    "photo_100": f"https://sun9-1.userapi.com/sandbox/club{self.group_id}_100.jpg",
                }
            )
        return {"groups": groups, "profiles": []}

    def get_long_poll_server(self, params: dict[str, Any], base_url: str) -> dict[str, Any]:
        with self.lock:
            if _int(params, "group_id") != self.group_id:
                raise access_denied("group_id")
            if self._history_lost:
                self._lp_key = self._new_key()
                self._history_lost = False
            return {
                "key": self._lp_key,
                "server": f"{base_url.rstrip('/')}/wh{self.group_id}",
                "ts": str(len(self.events) + 1),
            }

    # -- Bots Long Poll ----------------------------------------------------------------------------

    def a_check(self, key: str, ts: str, wait: float) -> dict[str, Any]:
        with self.changed:
            if self._history_lost:
                return {"failed": 3}
            if key != self._lp_key:
                return {"failed": 2}
            now_ts = len(self.events) + 1
            try:
                start = int(ts)
            except ValueError:
                return {"failed": 1, "ts": str(now_ts)}
            if start < self._history_base or start > now_ts:
                return {"failed": 1, "ts": str(now_ts)}
            if start == now_ts and wait > 0:
                self.changed.wait(min(wait, self.max_long_poll))
            updates = [{k: v for k, v in e.items() if k != "secret"} for e in self.events[start - 1 : start - 1 + 100]]
            return {"ts": str(start + len(updates)), "updates": copy.deepcopy(updates)}

    def expire_key(self) -> None:
        with self.lock:
            self._lp_key = self._new_key()

    def lose_history(self) -> None:
        """Simulate VK losing the event history (clients get failed=3, then must start again)."""
        with self.lock:
            self._history_lost = True
            self._history_base = len(self.events) + 1


def _int(params: dict[str, Any], key: str) -> int:
    try:
        return int(params[key])
    except KeyError:
        raise bad_param(f"{key} is undefined") from None
    except (TypeError, ValueError):
        raise bad_param(key) from None


__all__ = ["VKApiError", "VKState"]
