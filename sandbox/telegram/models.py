"""State of the fake Telegram Bot API: one bot, its users, chats, messages and pending updates.

Semantics follow https://core.telegram.org/bots/api:
- ``getUpdates(offset)`` confirms (and forgets) every update with ``update_id < offset``; without an
  offset the unconfirmed updates are returned again; a negative offset keeps only the last ``-offset``.
- While a webhook is set, ``getUpdates`` answers 409 and updates wait for ``deliver_webhook()``, which
  POSTs them in order with the ``X-Telegram-Bot-Api-Secret-Token`` header and drops each one the
  receiver acknowledged with a 2xx (like Telegram, a failure stops the batch and is retried later).
- ``sendMessage`` into a private chat needs the user to have started the bot (403 otherwise, or
  "bot was blocked by the user"); flood limits per bot (30/s), per chat (1/s) and per group (20/min)
  answer 429 with ``parameters.retry_after``.
"""

from __future__ import annotations

import copy
import math
import re
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import requests

from sandbox.base import FakeBackend

from .exceptions import WEBHOOK_ACTIVE, bad_request, forbidden, too_many_requests
from .files import Files

MAX_TEXT = 4096
BOT_PER_SECOND = 30  # Bot FAQ: "no more than 30 messages per second" across all chats
_MENTION = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{3,32}")
_COMMAND = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")
UPDATE_TYPES = ("message", "edited_message", "channel_post", "edited_channel_post", "callback_query")


def _u16(text: str) -> int:
    """Length in UTF-16 code units (MessageEntity offsets and lengths are counted this way)."""
    return len(text.encode("utf-16-le")) // 2


def compute_entities(text: str) -> list[dict[str, Any]]:
    entities: list[dict[str, Any]] = []
    for pattern, kind in ((_MENTION, "mention"), (_COMMAND, "bot_command")):
        for match in pattern.finditer(text):
            entities.append({"type": kind, "offset": _u16(text[: match.start()]), "length": _u16(match.group())})
    entities.sort(key=lambda e: e["offset"])
    return entities


class TelegramState(Files, FakeBackend):
    def __init__(
        self,
        bot_token: str = "123456789:AAEsandbox-telegram-token",
        bot_username: str = "horseshoe_bot",
        *,
        clock: Callable[[], float] = time.monotonic,
        enforce_limits: bool = True,
        max_long_poll: float = 2.0,
    ):
        self.bot_token = bot_token
        self.bot_id = int(bot_token.split(":", 1)[0])
        self.bot_username = bot_username
        self.clock = clock
        self.enforce_limits = enforce_limits
        self.max_long_poll = max_long_poll  # cap on getUpdates timeout so tests never hang
        super().__init__()
        self.reset()

    # -- bookkeeping -----------------------------------------------------------------------------

    def reset(self) -> None:
        with self.lock:
            self.users: dict[int, dict[str, Any]] = {}
            self.chats: dict[int, dict[str, Any]] = {}
            self.messages: dict[int, dict[int, dict[str, Any]]] = {}
            self._next_message: dict[int, int] = {}
            self.updates: list[dict[str, Any]] = []
            self.next_update_id = 700000001
            self.started: set[int] = set()
            self.blocked: set[int] = set()
            self.webhook: dict[str, Any] | None = None
            self.allowed_updates: list[str] = []
            self.last_webhook_error: str | None = None
            self.webhook_deliveries: list[dict[str, Any]] = []
            self.sent: list[dict[str, Any]] = []
            self._chat_last_send: dict[int, float] = {}
            self._group_sends: dict[int, deque[float]] = {}
            self._bot_sends: deque[float] = deque()
            self.files: dict[str, dict[str, Any]] = {}
            self.photos: dict[str, bytes] = {}  # sendPhoto uploads by file_id, see photos.py

    def bot_user(self) -> dict[str, Any]:
        return {"id": self.bot_id, "is_bot": True, "first_name": "Horseshoe", "username": self.bot_username}

    def add_user(
        self,
        user_id: int,
        first_name: str,
        username: str | None = None,
        last_name: str | None = None,
        language_code: str | None = "en",
    ) -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        with self.lock:
            self.users[user_id] = user
        return user

    def add_group(
        self, chat_id: int, title: str, *, type: str = "supergroup", username: str | None = None
    ) -> dict[str, Any]:
        if chat_id >= 0:
            raise ValueError("group and supergroup ids are negative")
        chat: dict[str, Any] = {"id": chat_id, "title": title, "type": type}
        if username:
            chat["username"] = username
        with self.lock:
            self.chats[chat_id] = chat
        return chat

    def _user(self, user_id: int) -> dict[str, Any]:
        user = self.users.get(user_id)
        if user is None:
            raise KeyError(f"unknown sandbox user {user_id}; add_user() first")
        return user

    def _private_chat(self, user_id: int) -> dict[str, Any]:
        user = self._user(user_id)
        chat = {"id": user_id, "type": "private", "first_name": user["first_name"]}
        for key in ("last_name", "username"):
            if key in user:
                chat[key] = user[key]
        self.chats[user_id] = chat
        return chat

    def _new_message(
        self, chat: dict[str, Any], sender: dict[str, Any], text: str, reply_to: int | None
    ) -> dict[str, Any]:
        chat_id = chat["id"]
        message_id = self._next_message.get(chat_id, 1)
        self._next_message[chat_id] = message_id + 1
        msg: dict[str, Any] = {
            "message_id": message_id,
            "from": copy.deepcopy(sender),
            "chat": copy.deepcopy(chat),
            "date": int(time.time()),
            "text": text,
        }
        if reply_to is not None:
            parent = self.messages.get(chat_id, {}).get(reply_to)
            if parent is None:
                raise KeyError(f"no message {reply_to} in chat {chat_id}")
            quoted = {k: v for k, v in parent.items() if k != "reply_to_message"}  # never nested
            msg["reply_to_message"] = copy.deepcopy(quoted)
            if chat.get("type") == "supergroup":
                # Supergroup replies carry the id of the thread's root message.
                msg["message_thread_id"] = parent.get("message_thread_id", parent["message_id"])
        self.messages.setdefault(chat_id, {})[message_id] = msg
        return msg

    def _enqueue(self, kind: str, msg: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": self.next_update_id, kind: copy.deepcopy(msg)}
        self.next_update_id += 1
        if not self.allowed_updates or kind in self.allowed_updates:
            self.updates.append(update)
            self.changed.notify_all()
        return update

    # -- inject customer traffic -----------------------------------------------------------------

    def user_writes_private(self, user_id: int, text: str, reply_to: int | None = None) -> dict[str, Any]:
        """A user writes to the bot in their private chat (this implies they pressed Start)."""
        with self.lock:
            chat = self._private_chat(user_id)
            self.started.add(user_id)
            msg = self._new_message(chat, self._user(user_id), text, reply_to)
            if entities := compute_entities(text):
                msg["entities"] = entities
            return self._enqueue("message", msg)

    def user_deletes(self, chat_id: int, message_id: int) -> None:
        """A user deletes their message. Bots get no update for it (the Bot API has none outside
        business connections); replying to it afterwards answers "message to be replied not found"."""
        with self.lock:
            del self.messages[chat_id][message_id]

    def user_writes_group(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        *,
        reply_to: int | None = None,
        text_mention: str | None = None,
    ) -> dict[str, Any]:
        """A user writes in a group. ``@mentions`` and ``/commands`` in ``text`` become entities, as
        Telegram's servers do; ``text_mention`` marks that substring as a text_mention of the bot."""
        with self.lock:
            chat = self.chats.get(chat_id)
            if chat is None:
                raise KeyError(f"unknown sandbox group {chat_id}; add_group() first")
            msg = self._new_message(chat, self._user(user_id), text, reply_to)
            entities = compute_entities(text)
            if text_mention:
                start = text.index(text_mention)
                entities.append(
                    {
                        "type": "text_mention",
                        "offset": _u16(text[:start]),
                        "length": _u16(text_mention),
                        "user": self.bot_user(),
                    }
                )
                entities.sort(key=lambda e: e["offset"])
            if entities:
                msg["entities"] = entities
            return self._enqueue("message", msg)

    def user_edits(self, chat_id: int, message_id: int, text: str) -> dict[str, Any]:
        with self.lock:
            msg = self.messages[chat_id][message_id]
            msg["text"] = text
            msg["edit_date"] = int(time.time())
            if entities := compute_entities(text):
                msg["entities"] = entities
            else:
                msg.pop("entities", None)
            return self._enqueue("edited_message", msg)

    def user_blocks_bot(self, user_id: int) -> None:
        with self.lock:
            self.blocked.add(user_id)

    # -- Bot API methods -------------------------------------------------------------------------

    def get_me(self) -> dict[str, Any]:
        return {**self.bot_user(), "can_join_groups": True, "can_read_all_group_messages": False}

    def get_updates(
        self, offset: int | None, limit: int, timeout: float, allowed_updates: list[str] | None
    ) -> list[dict[str, Any]]:
        with self.changed:
            if self.webhook is not None:
                raise WEBHOOK_ACTIVE
            if allowed_updates is not None:
                self.allowed_updates = [u for u in allowed_updates if u in UPDATE_TYPES]
            if offset is not None:
                if offset < 0:
                    self.updates = self.updates[offset:]
                else:
                    self.updates = [u for u in self.updates if u["update_id"] >= offset]
            if not self.updates and timeout > 0:
                self.changed.wait(min(timeout, self.max_long_poll))
            limit = max(1, min(100, limit))
            return copy.deepcopy(self.updates[:limit])

    def _check_flood(self, chat_id: int, is_group: bool) -> None:
        if not self.enforce_limits:
            return
        now = self.clock()
        while self._bot_sends and now - self._bot_sends[0] >= 1.0:
            self._bot_sends.popleft()
        if len(self._bot_sends) >= BOT_PER_SECOND:
            raise too_many_requests(1)
        last = self._chat_last_send.get(chat_id)
        if last is not None and now - last < 1.0:
            raise too_many_requests(max(1, math.ceil(1.0 - (now - last))))
        if is_group:
            window = self._group_sends.setdefault(chat_id, deque())
            while window and now - window[0] >= 60.0:
                window.popleft()
            if len(window) >= 20:
                raise too_many_requests(max(1, math.ceil(60.0 - (now - window[0]))))
            window.append(now)
        self._chat_last_send[chat_id] = now
        self._bot_sends.append(now)

    def _resolve_chat(self, chat_ref: Any) -> dict[str, Any]:
        if isinstance(chat_ref, str) and chat_ref.startswith("@"):
            for chat in self.chats.values():
                if chat.get("username", "").lower() == chat_ref[1:].lower() and chat["type"] != "private":
                    return chat
            raise bad_request("chat not found")
        try:
            chat_id = int(chat_ref)
        except (TypeError, ValueError):
            raise bad_request("chat not found") from None
        if chat_id > 0:
            if chat_id not in self.users:
                raise bad_request("chat not found")
            if chat_id in self.blocked:
                raise forbidden("bot was blocked by the user")
            if chat_id not in self.started:
                raise forbidden("bot can't initiate conversation with a user")
            return self._private_chat(chat_id)
        group = self.chats.get(chat_id)
        if group is None:
            raise bad_request("chat not found")
        return group

    def send_message(self, chat_ref: Any, text: Any, reply_parameters: dict[str, Any] | None) -> dict[str, Any]:
        with self.lock:
            if not isinstance(text, str) or not text.strip():
                raise bad_request("message text is empty")
            if len(text) > MAX_TEXT:
                raise bad_request("message is too long")
            chat = self._resolve_chat(chat_ref)
            reply_to = None
            if reply_parameters:
                if not isinstance(reply_parameters, dict) or not isinstance(reply_parameters.get("message_id"), int):
                    raise bad_request("invalid reply parameters specified")
                wanted = reply_parameters["message_id"]
                if wanted in self.messages.get(chat["id"], {}):
                    reply_to = wanted
                elif not reply_parameters.get("allow_sending_without_reply"):
                    raise bad_request("message to be replied not found")
            self._check_flood(chat["id"], chat["type"] != "private")
            msg = self._new_message(chat, self.bot_user(), text, reply_to)
            self.sent.append(copy.deepcopy(msg))
            return copy.deepcopy(msg)

    def get_chat(self, chat_ref: Any) -> dict[str, Any]:
        with self.lock:
            try:
                chat_id = int(chat_ref)
            except (TypeError, ValueError):
                raise bad_request("chat not found") from None
            if chat_id > 0:
                if chat_id not in self.started:
                    raise bad_request("chat not found")
                return {**self._private_chat(chat_id), "accent_color_id": 0, "max_reaction_count": 11}
            chat = self.chats.get(chat_id)
            if chat is None:
                raise bad_request("chat not found")
            return {**chat, "accent_color_id": 0, "max_reaction_count": 11}

    def set_webhook(
        self,
        url: str,
        secret_token: str | None,
        allowed_updates: list[str] | None,
        drop_pending_updates: bool,
    ) -> None:
        with self.lock:
            if not url:
                self.delete_webhook(drop_pending_updates)
                return
            if secret_token is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret_token):
                raise bad_request("secret token contains unallowed characters")
            self.webhook = {"url": url, "secret_token": secret_token}
            if allowed_updates is not None:
                self.allowed_updates = [u for u in allowed_updates if u in UPDATE_TYPES]
            if drop_pending_updates:
                self.updates = []

    def delete_webhook(self, drop_pending_updates: bool) -> None:
        with self.lock:
            self.webhook = None
            if drop_pending_updates:
                self.updates = []

    def webhook_info(self) -> dict[str, Any]:
        with self.lock:
            info: dict[str, Any] = {
                "url": self.webhook["url"] if self.webhook else "",
                "has_custom_certificate": False,
                "pending_update_count": len(self.updates),
            }
            if self.allowed_updates:
                info["allowed_updates"] = list(self.allowed_updates)
            if self.last_webhook_error:
                info["last_error_message"] = self.last_webhook_error
            return info

    # -- webhook sender --------------------------------------------------------------------------

    def deliver_webhook(self, limit: int | None = None, timeout: float = 10.0) -> int:
        """POST pending updates to the webhook in order; returns how many were acknowledged (2xx)."""
        delivered = 0
        while limit is None or delivered < limit:
            with self.lock:
                if self.webhook is None or not self.updates:
                    break
                update = copy.deepcopy(self.updates[0])
                url, secret = self.webhook["url"], self.webhook.get("secret_token")
            headers = {"Content-Type": "application/json"}
            if secret:
                headers["X-Telegram-Bot-Api-Secret-Token"] = secret
            try:
                resp = requests.post(url, json=update, headers=headers, timeout=timeout)
                status: int | None = resp.status_code
            except requests.RequestException as exc:
                status, error = None, f"Connection failed: {type(exc).__name__}"
            with self.lock:
                self.webhook_deliveries.append({"update_id": update["update_id"], "status": status})
                if status is not None and 200 <= status < 300:
                    self.updates = [u for u in self.updates if u["update_id"] != update["update_id"]]
                    delivered += 1
                    continue
                self.last_webhook_error = error if status is None else f"Wrong response from the webhook: {status}"
                break
        return delivered
