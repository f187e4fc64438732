"""Telegram connector (Bot API): webhook or ``getUpdates`` in, ``sendMessage`` out.

Why ``requests`` and not python-telegram-bot: PTB (v20+) is async-first; every call needs a running
event loop, which would force an asyncio loop into our synchronous worker for a handful of plain HTTPS
calls. The Bot API is a small JSON-over-HTTPS interface (https://core.telegram.org/bots/api), so we
speak it directly.

Account model
-------------
- ``AccountContext.external_id``: the bot's numeric user id (``getMe().id``; also the digits before
  ``:`` in the token).
- credentials: ``bot_token`` (required), ``webhook_secret`` (the ``secret_token`` given to
  ``setWebhook``; Telegram echoes it in ``X-Telegram-Bot-Api-Secret-Token``).
- settings: ``bot_username`` (without ``@``; needed to recognise ``@mentions`` in groups; falls back to
  ``AccountContext.handle``), ``poll_timeout`` (long-poll seconds for ``getUpdates``, default 20; the
  tests use 0), ``pace`` (bool, default True: client-side pacing), ``http_timeout`` (read timeout, 15 s).
- ``parse_webhook`` only receives ``secrets``; it reads ``bot_username`` (and optionally ``bot_id``)
  from there too, so the host should hand in the account's credentials merged with its settings.

Which messages become mentions
------------------------------
- Private chats with the bot: every message from a human -> kind ``direct``, visibility ``private``.
- Groups and supergroups: only messages addressed to the bot: an ``@bot_username`` ``mention``
  entity, a ``text_mention`` of the bot's id, a ``/command@bot_username``, or a reply to one of the
  bot's messages (kind ``reply``). Everything else in a group is ignored (not our business).
- Messages from bots (including our own echoes) and channel posts are ignored.
- ``edited_message`` becomes the same ``external_id`` with ``event="edited"``.

Identifiers (DESIGN.md): ``external_id = "{chat.id}:{message_id}"``; ``parent_id`` is the replied-to
message; ``thread_id`` is the chat id for private chats; in groups it is the root of the reply chain
when Telegram tells us (``message_thread_id``: forum topics and supergroup reply threads), else the
replied-to message (the deepest root the Update shows: Telegram never nests ``reply_to_message``),
else the message itself.

Limits (Bot FAQ): ~30 messages/s per bot, 1 message/s per chat, 20 messages/min per group; text up to
4096 characters. Pacing is enforced client-side per connector instance; when a send would exceed a
limit the connector raises ``RateLimited`` with the computed wait instead of sleeping in the worker.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import pluggy
import requests

from plugin.connector import AccountContext, Connector, InboundRequest, PollPage, WebhookResult
from plugin.errors import (
    AuthError,
    BadInput,
    FatalError,
    OutcomeUnknown,
    RateLimited,
    RetriableError,
)
from plugin.models import Author, Kind, Limits, Mention, PostResult, Reply, SocialProfile, Visibility

log = logging.getLogger(__name__)
hookimpl = pluggy.HookimplMarker("horseshoe")

_TOKEN_IN_PATH = re.compile(r"/bot\d+:[A-Za-z0-9_-]+")


class _RedactBotToken(logging.Filter):
    """The Bot API puts the token in the URL path; urllib3 logs request lines at DEBUG. Redact them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(
                _TOKEN_IN_PATH.sub("/bot<token>", a) if isinstance(a, str) else a for a in args
            )
        if isinstance(record.msg, str):
            record.msg = _TOKEN_IN_PATH.sub("/bot<token>", record.msg)
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_RedactBotToken())

API_BASE = "https://api.telegram.org"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_TEXT = 4096
PAGE_SIZE = 100  # getUpdates accepts 1-100
ALLOWED_UPDATES = ("message", "edited_message")
DEFAULT_POLL_TIMEOUT = 20
HTTP_TIMEOUT = 15.0

GLOBAL_PER_SECOND = 30
CHAT_INTERVAL = 1.0
GROUP_PER_MINUTE = 20


# --------------------------------------------------------------------------------------------------
# Client-side pacing


class TelegramPacer:
    """Per-bot pacing of sends: 30/s overall, 1/s per chat, 20/min per group chat.

    ``reserve`` either records the send and returns, or raises ``RateLimited`` with the seconds to
    wait. Thread-safe: one connector instance serves every worker thread.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._global: dict[str, deque[float]] = {}
        self._chat_last: dict[tuple[str, int], float] = {}
        self._group: dict[tuple[str, int], deque[float]] = {}

    def reserve(self, bot: str, chat_id: int, is_group: bool) -> None:
        with self._lock:
            now = self._clock()
            glob = self._global.setdefault(bot, deque())
            while glob and now - glob[0] >= 1.0:
                glob.popleft()
            waits = [0.0]
            if len(glob) >= GLOBAL_PER_SECOND:
                waits.append(1.0 - (now - glob[0]))
            last = self._chat_last.get((bot, chat_id))
            if last is not None and now - last < CHAT_INTERVAL:
                waits.append(CHAT_INTERVAL - (now - last))
            window = self._group.setdefault((bot, chat_id), deque()) if is_group else None
            if window is not None:
                while window and now - window[0] >= 60.0:
                    window.popleft()
                if len(window) >= GROUP_PER_MINUTE:
                    waits.append(60.0 - (now - window[0]))
            wait = max(waits)
            if wait > 0:
                raise RateLimited(
                    f"telegram pacing: wait {wait:.2f}s before sending to chat {chat_id}",
                    retry_after=wait,
                    code="client_pacing",
                )
            glob.append(now)
            self._chat_last[(bot, chat_id)] = now
            if window is not None:
                window.append(now)


# --------------------------------------------------------------------------------------------------
# Small typed accessors: anything of the wrong shape is BadInput, never a KeyError/TypeError.


def _obj(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadInput(f"telegram: {what} must be an object")
    return value


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadInput(f"telegram: {what} must be an integer")
    return value


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _utf16_slice(text: str, offset: int, length: int) -> str:
    """MessageEntity offsets and lengths are in UTF-16 code units (Bot API, MessageEntity)."""
    encoded = text.encode("utf-16-le")
    return encoded[offset * 2 : (offset + length) * 2].decode("utf-16-le", errors="ignore")


def bot_id_from_token(token: str | None) -> str | None:
    if not token or ":" not in token:
        return None
    head = token.split(":", 1)[0]
    return head if head.isdigit() else None


# --------------------------------------------------------------------------------------------------
# Parsing


def _author(msg: dict[str, Any]) -> Author:
    user = msg.get("from")
    if isinstance(user, dict):
        uid = _int(user.get("id"), "message.from.id")
        username = _opt_str(user.get("username"))
        name = " ".join(p for p in (_opt_str(user.get("first_name")), _opt_str(user.get("last_name"))) if p)
        return Author(
            external_id=str(uid),
            handle=username,
            name=name or None,
            profile_url=f"https://t.me/{username}" if username else None,
        )
    sender = msg.get("sender_chat")  # anonymous admins and channels speak as a chat
    if isinstance(sender, dict):
        cid = _int(sender.get("id"), "message.sender_chat.id")
        username = _opt_str(sender.get("username"))
        return Author(
            external_id=str(cid),
            handle=username,
            name=_opt_str(sender.get("title")),
            profile_url=f"https://t.me/{username}" if username else None,
        )
    raise BadInput("telegram: message has neither from nor sender_chat")


def _addressed(msg: dict[str, Any], text: str, bot_id: str | None, username: str | None) -> bool:
    entities = msg.get("entities") if "text" in msg else msg.get("caption_entities")
    wanted = f"@{username.lower()}" if username else None
    if isinstance(entities, list):
        for ent in entities:
            if not isinstance(ent, dict):
                continue
            kind = ent.get("type")
            offset, length = ent.get("offset"), ent.get("length")
            if kind == "text_mention":
                user = ent.get("user")
                if bot_id and isinstance(user, dict) and str(user.get("id")) == bot_id:
                    return True
                continue
            if kind not in ("mention", "bot_command") or wanted is None:
                continue
            if not (isinstance(offset, int) and isinstance(length, int)) or offset < 0 or length < 0:
                continue
            piece = _utf16_slice(text, offset, length).lower()
            if kind == "mention" and piece == wanted:
                return True
            if kind == "bot_command" and piece.endswith(wanted):
                return True
    return False


def _replies_to_bot(msg: dict[str, Any], bot_id: str | None) -> bool:
    parent = msg.get("reply_to_message")
    if not (bot_id and isinstance(parent, dict)):
        return False
    user = parent.get("from")
    return isinstance(user, dict) and str(user.get("id")) == bot_id


def parse_update(
    update: Any, bot_id: str | None, bot_username: str | None, account: str | None = None
) -> list[Mention]:
    """One Bot API Update -> zero or one Mention (see the module docstring for the rules)."""
    upd = _obj(update, "update")
    update_id = _int(upd.get("update_id"), "update.update_id")
    if "message" in upd:
        msg, event = _obj(upd["message"], "update.message"), "created"
    elif "edited_message" in upd:
        msg, event = _obj(upd["edited_message"], "update.edited_message"), "edited"
    else:
        return []  # channel posts, callback queries, member updates... are not mentions
    chat = _obj(msg.get("chat"), "message.chat")
    chat_id = _int(chat.get("id"), "message.chat.id")
    chat_type = chat.get("type")
    message_id = _int(msg.get("message_id"), "message.message_id")
    date = _int(msg.get("date"), "message.date")
    sender = msg.get("from")
    if isinstance(sender, dict) and sender.get("is_bot") is True:
        return []  # our own echoes and other bots
    text_value = msg.get("text", msg.get("caption", ""))
    text = text_value if isinstance(text_value, str) else ""

    external_id = f"{chat_id}:{message_id}"
    parent = msg.get("reply_to_message")
    parent_id = None
    if isinstance(parent, dict) and isinstance(parent.get("message_id"), int):
        parent_id = f"{chat_id}:{parent['message_id']}"

    if chat_type == "private":
        kind, visibility, thread_id = Kind.DIRECT, Visibility.PRIVATE, str(chat_id)
    elif chat_type in ("group", "supergroup"):
        to_bot = _replies_to_bot(msg, bot_id)
        if not (to_bot or _addressed(msg, text, bot_id, bot_username)):
            return []
        kind = Kind.REPLY if to_bot else (Kind.COMMENT if parent_id else Kind.POST)
        visibility = Visibility.PUBLIC
        root = msg.get("message_thread_id")
        if isinstance(root, int) and not isinstance(root, bool):
            thread_id = f"{chat_id}:{root}"
        else:
            thread_id = parent_id or external_id
    else:
        return []

    username = _opt_str(chat.get("username"))
    url = f"https://t.me/{username}/{message_id}" if chat_type == "supergroup" and username else None
    files = []
    photo = msg.get("photo")
    if isinstance(photo, list) and photo and isinstance(photo[-1], dict):
        files.append({"type": "image", "file_id": photo[-1].get("file_id")})  # sizes ascend; last = largest
    for key in ("document", "video", "voice", "audio"):
        item = msg.get(key)
        if isinstance(item, dict):
            files.append({"type": key, "file_id": item.get("file_id")})
    extra: dict[str, Any] = {
        "update_id": update_id,
        "chat_id": chat_id,
        "chat_type": chat_type,
        "message_id": message_id,
    }
    if files:
        extra["files"] = files  # file_ids need getFile (and the token) to become URLs
    if isinstance(msg.get("edit_date"), int):
        extra["edit_date"] = msg["edit_date"]
    try:
        mention = Mention(
            network="telegram",
            external_id=external_id,
            thread_id=thread_id,
            parent_id=parent_id,
            kind=kind,
            visibility=visibility,
            author=_author(msg),
            text=text,
            created_at=datetime.fromtimestamp(date, UTC),
            url=url,
            account=account or bot_id or "unknown",
            event=event,  # type: ignore[arg-type]
            extra=extra,
        )
    except (ValueError, OverflowError, OSError) as exc:  # pydantic ValidationError is a ValueError
        raise BadInput(f"telegram: cannot normalize message {external_id}: {exc}") from None
    return [mention]


def _updates_of(payload: Any) -> list[Any]:
    if isinstance(payload, list):
        return payload
    if isinstance(payload, dict) and "result" in payload:  # a getUpdates response envelope
        if payload.get("ok") is not True or not isinstance(payload["result"], list):
            raise BadInput("telegram: getUpdates envelope without ok=true and a result list")
        return list(payload["result"])
    if isinstance(payload, dict):
        return [payload]
    raise BadInput("telegram: payload must be an Update, a list of Updates or a getUpdates response")


# --------------------------------------------------------------------------------------------------
# HTTP


def _not_sent(exc: requests.RequestException) -> bool:
    """True when the request certainly never reached the server (safe to retry a send)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    text = repr(exc)
    return "NewConnectionError" in text or "NameResolutionError" in text or "Connection refused" in text


class TelegramConnector(Connector):
    name = "telegram"
    display_name = "Telegram"

    def __init__(
        self, *, clock: Callable[[], float] = time.monotonic, session: requests.Session | None = None
    ):
        self.pacer = TelegramPacer(clock)
        self._session = session or requests.Session()

    # -- webhook ---------------------------------------------------------------------------------

    def verify_request(self, request: InboundRequest, secrets: Mapping[str, str]) -> bool:
        expected = secrets.get("webhook_secret")
        if not expected:
            return False
        got = None
        for key, value in request.headers.items():
            if key.lower() == SECRET_HEADER.lower():
                got = value
                break
        if got is None:
            return False
        return hmac.compare_digest(got.encode("utf-8"), expected.encode("utf-8"))

    def parse_webhook(self, request: InboundRequest, secrets: Mapping[str, str]) -> WebhookResult:
        try:
            body = json.loads(request.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise BadInput("telegram: webhook body is not JSON") from None
        configured = secrets.get("bot_id")
        bot_id = str(configured) if configured else bot_id_from_token(secrets.get("bot_token"))
        username = secrets.get("bot_username")
        return WebhookResult(mentions=parse_update(body, bot_id, str(username) if username else None, bot_id))

    def parse_payload(
        self, payload: Any, account: str | None = None, *, bot_username: str | None = None
    ) -> list[Mention]:
        """Normalize an Update, a list of Updates or a getUpdates response.

        ``account`` is the bot's id (needed to spot replies to the bot and ``text_mention``s);
        ``bot_username`` is needed to spot ``@mentions`` in groups.
        """
        mentions: list[Mention] = []
        for update in _updates_of(payload):
            mentions.extend(parse_update(update, account, bot_username, account))
        return mentions

    # -- API calls -------------------------------------------------------------------------------

    def _call(
        self,
        account: AccountContext,
        method: str,
        params: dict[str, Any],
        *,
        mutating: bool,
        long_poll: float = 0.0,
    ) -> Any:
        token = account.credentials.get("bot_token")
        if not token:
            raise AuthError("telegram: account has no bot_token", code="no_token")
        base = (account.api_base or API_BASE).rstrip("/")
        url = f"{base}/bot{token}/{method}"
        try:
            read_timeout = float(account.settings.get("http_timeout", HTTP_TIMEOUT)) + long_poll
            resp = self._session.post(url, json=params, timeout=(5.0, read_timeout))
        except requests.RequestException as exc:
            # requests' messages contain the URL, and the URL contains the token: redact, don't chain.
            detail = f"{type(exc).__name__}: {exc}".replace(token, "<token>")
            if isinstance(exc, requests.ReadTimeout) and mutating:
                raise OutcomeUnknown(f"telegram {method}: no answer after sending ({detail})") from None
            if mutating and not _not_sent(exc):
                raise OutcomeUnknown(f"telegram {method}: connection lost ({detail})") from None
            raise RetriableError(f"telegram {method}: {detail}", code="network") from None
        return self._result(method, resp)

    @staticmethod
    def _result(method: str, resp: requests.Response) -> Any:
        try:
            data = resp.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            if resp.status_code >= 500 or resp.status_code == 429:
                raise RetriableError(f"telegram {method}: HTTP {resp.status_code}", code="http")
            raise FatalError(f"telegram {method}: HTTP {resp.status_code} without a JSON body", code="http")
        if data.get("ok") is True:
            return data.get("result")
        raw_code = data.get("error_code")
        code: int = raw_code if isinstance(raw_code, int) else resp.status_code
        desc = str(data.get("description") or f"HTTP {resp.status_code}")
        raw_params = data.get("parameters")
        params: dict[str, Any] = raw_params if isinstance(raw_params, dict) else {}
        lowered = desc.lower()
        if code == 429:
            retry = params.get("retry_after")
            if not isinstance(retry, int | float):
                header = resp.headers.get("Retry-After")
                retry = float(header) if header and header.isdigit() else None
            raise RateLimited(f"telegram {method}: {desc}", retry_after=retry, code="429")
        if code >= 500:
            raise RetriableError(f"telegram {method}: {desc}", code=str(code))
        if code in (401, 404) and method != "getChat":
            raise AuthError(f"telegram {method}: {desc} (check bot_token)", code=str(code))
        if code == 403:
            if "blocked by the user" in lowered:
                raise FatalError(f"telegram {method}: {desc}", code="blocked")
            if "initiate conversation" in lowered:
                raise FatalError(
                    f"telegram {method}: the user has never started the bot, so it cannot write to them "
                    f"first; ask them to open the bot and press Start ({desc})",
                    code="not_started",
                )
            raise FatalError(f"telegram {method}: {desc}", code="forbidden")
        if code == 409:
            raise FatalError(f"telegram {method}: {desc}", code="conflict")
        if "migrate_to_chat_id" in params:
            raise FatalError(
                f"telegram {method}: group became supergroup {params['migrate_to_chat_id']}", code="migrated"
            )
        if "message to be replied not found" in lowered:
            raise FatalError(f"telegram {method}: {desc}", code="reply_not_found")
        if "chat not found" in lowered:
            raise FatalError(f"telegram {method}: {desc}", code="chat_not_found")
        raise FatalError(f"telegram {method}: {desc}", code=str(code))

    # -- polling ---------------------------------------------------------------------------------

    def poll(self, account: AccountContext, cursor: str | None) -> PollPage:
        """``getUpdates`` with ``offset = last update_id + 1`` (the cursor).

        Asking with an offset confirms (and makes Telegram forget) every earlier update, so the cursor
        must only be persisted after the returned mentions are stored: a crash in between replays the
        page, and the inbox's unique external_id drops the repeats.
        """
        params: dict[str, Any] = {
            "limit": PAGE_SIZE,
            "timeout": int(account.settings.get("poll_timeout", DEFAULT_POLL_TIMEOUT)),
            "allowed_updates": list(ALLOWED_UPDATES),
        }
        if cursor is not None:
            try:
                params["offset"] = int(cursor)
            except ValueError:
                raise BadInput(f"telegram: bad cursor {cursor!r}") from None
        result = self._call(account, "getUpdates", params, mutating=False, long_poll=params["timeout"])
        if not isinstance(result, list):
            raise RetriableError("telegram getUpdates: result is not a list", code="shape")
        username = account.settings.get("bot_username") or account.handle
        mentions: list[Mention] = []
        next_offset = int(cursor) if cursor is not None else None
        for update in result:
            uid = update.get("update_id") if isinstance(update, dict) else None
            if isinstance(uid, int):
                next_offset = max(next_offset or 0, uid + 1)
            try:
                mentions.extend(parse_update(update, account.external_id, username, account.external_id))
            except BadInput as exc:
                # One unreadable update must not wedge the cursor forever; it is logged, not hidden.
                log.warning("telegram: skipping update %s: %s", uid, exc)
        return PollPage(
            mentions=mentions,
            cursor=str(next_offset) if next_offset is not None else cursor,
            more=len(result) >= PAGE_SIZE,
        )

    # -- replies ---------------------------------------------------------------------------------

    def _send(self, account: AccountContext, chat_id: int, text: str, reply_to: int | None) -> PostResult:
        if len(text) > MAX_TEXT:
            raise FatalError(f"telegram: text is {len(text)} characters, limit {MAX_TEXT}", code="too_long")
        if account.settings.get("pace", True):
            self.pacer.reserve(account.external_id, chat_id, is_group=chat_id < 0)
        params: dict[str, Any] = {"chat_id": chat_id, "text": text}
        if reply_to is not None:
            # allow_sending_without_reply: a deleted customer message must not lose the agent's answer.
            params["reply_parameters"] = {"message_id": reply_to, "allow_sending_without_reply": True}
        result = _obj(self._call(account, "sendMessage", params, mutating=True), "sendMessage result")
        chat = _obj(result.get("chat"), "sendMessage result chat")
        message_id = _int(result.get("message_id"), "sendMessage result message_id")
        username = _opt_str(chat.get("username"))
        public = chat.get("type") == "supergroup" and username
        url = f"https://t.me/{username}/{message_id}" if public else None
        return PostResult(external_id=f"{chat.get('id')}:{message_id}", url=url)

    def post_reply(self, account: AccountContext, reply: Reply) -> PostResult:
        target = reply.in_reply_to
        if not target or ":" not in target:
            raise FatalError(
                "telegram: a reply needs in_reply_to = '{chat_id}:{message_id}'", code="bad_target"
            )
        chat_part, message_part = target.rsplit(":", 1)
        try:
            chat_id, message_id = int(chat_part), int(message_part)
        except ValueError:
            raise FatalError(f"telegram: bad in_reply_to {target!r}", code="bad_target") from None
        return self._send(account, chat_id, reply.text, message_id)

    def send_private(self, account: AccountContext, reply: Reply) -> PostResult:
        """A private chat with a user's id works only after they pressed Start (else 403)."""
        try:
            user_id = int(reply.recipient_id or "")
        except ValueError:
            raise FatalError(
                "telegram: send_private needs a numeric recipient_id", code="bad_target"
            ) from None
        try:
            return self._send(account, user_id, reply.text, None)
        except FatalError as exc:
            if exc.code == "chat_not_found":  # never talked to the bot at all
                raise FatalError(
                    f"telegram: user {user_id} has never started the bot, so it cannot write to them "
                    "first; ask them to open the bot and press Start",
                    code="not_started",
                ) from exc
            raise

    def fetch_profile(self, account: AccountContext, author_external_id: str) -> SocialProfile | None:
        """``getChat`` on a user id: works for users who have talked to the bot."""
        try:
            chat_id = int(author_external_id)
        except ValueError:
            return None
        try:
            chat = self._call(account, "getChat", {"chat_id": chat_id}, mutating=False)
        except FatalError as exc:
            if exc.code in ("chat_not_found", "400", "404", "forbidden"):
                return None
            raise
        if not isinstance(chat, dict):
            return None
        username = _opt_str(chat.get("username"))
        name = " ".join(p for p in (_opt_str(chat.get("first_name")), _opt_str(chat.get("last_name"))) if p)
        return SocialProfile(
            network="telegram",
            external_id=str(chat_id),
            handle=username,
            name=name or _opt_str(chat.get("title")),
            profile_url=f"https://t.me/{username}" if username else None,
        )

    def limits(self) -> Limits:
        return Limits(
            max_text_length=MAX_TEXT,
            requests_per_window=GLOBAL_PER_SECOND,
            window_seconds=1,
            poll_interval_seconds=5,
            page_size=PAGE_SIZE,
        )

    # -- setup helpers (used by `horseshoe doctor`/admin tooling, not by the pipeline) ------------

    def set_webhook(self, account: AccountContext, url: str) -> None:
        """Register ``url`` with ``secret_token`` so every delivery carries the secret header."""
        secret = account.credentials.get("webhook_secret")
        if not secret:
            raise AuthError("telegram: account has no webhook_secret", code="no_secret")
        self._call(
            account,
            "setWebhook",
            {"url": url, "secret_token": secret, "allowed_updates": list(ALLOWED_UPDATES)},
            mutating=False,
        )

    def get_me(self, account: AccountContext) -> dict[str, Any]:
        return _obj(self._call(account, "getMe", {}, mutating=False), "getMe result")


@hookimpl
def horseshoe_register_connectors() -> list[Connector]:
    return [TelegramConnector()]
