"""``TelegramConnector``: webhook or ``getUpdates`` in, ``sendMessage`` out (see the package docstring).

Why ``requests`` and not python-telegram-bot: PTB (v20+) is async-first; every call needs a running
event loop, which would force an asyncio loop into our synchronous worker for a handful of plain HTTPS
calls. The Bot API is a small JSON-over-HTTPS interface (https://core.telegram.org/bots/api), so we
speak it directly, through ``plugin.http.HttpClient`` (which also keeps the token, part of every URL
path, out of error messages and urllib3's log lines).
"""

from __future__ import annotations

import hmac
import json
import logging
import mimetypes
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import pluggy
from pydantic import ValidationError

from plugin.connector import (
    AccountContext,
    Connector,
    Download,
    InboundRequest,
    ParseResult,
    PollPage,
    Skipped,
    WebhookResult,
    item_boundary,
)
from plugin.errors import AuthError, BadInput, FatalError, RateLimited, RetriableError
from plugin.http import HttpClient, Pacer, Rate, json_body
from plugin.models import Attachment, Limits, Mention, PostResult, Reply, SocialProfile

from .config import TelegramCredentials, TelegramSettings
from .connect import TelegramConnect
from .errors import telegram_error
from .models import Chat, FileAnswer, SentMessage, UpdateId, User, parse
from .parse import ADDRESSED, bot_id_from_token, opt_str, parse_update, updates_of
from .photo import send_photo

log = logging.getLogger(__name__)
hookimpl = pluggy.HookimplMarker("horseshoe")

API_BASE = "https://api.telegram.org"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_TEXT = 4096
PAGE_SIZE = 100  # getUpdates accepts 1-100
ALLOWED_UPDATES = ("message", "edited_message")
DEFAULT_POLL_TIMEOUT = 20
HTTP_TIMEOUT = 15.0

# Bot FAQ: ~30 messages/s per bot, 1 message/s per chat, 20 messages/min per group.
GLOBAL_RATE = Rate(30, 1.0)
CHAT_RATE = Rate.min_interval(1.0)
GROUP_RATE = Rate(20, 60.0)


class TelegramConnector(Connector):
    name = "telegram"
    display_name = "Telegram"
    link_hosts = ("t.me", "telegram.org")

    credentials_model = TelegramCredentials
    settings_model = TelegramSettings

    def __init__(self, *, clock: Callable[[], float] = time.monotonic):
        # Sends are paced client-side: a RateLimited with the exact wait beats a 429 plus a penalty.
        self.pacer = Pacer(clock, name="telegram pacing")
        self._http = HttpClient("telegram", error_hook=telegram_error, user_agent="horseshoe-telegram/0.1")
        # (bot id, reason) -> how many updates were left out for it since this process started.
        self.skip_counts: Counter[tuple[str, str]] = Counter()

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
        skipped: list[Skipped] = []
        mentions: list[Mention] = []
        with item_boundary(f"update {_update_id(body)}", body):
            mentions = parse_update(
                body,
                bot_id,
                str(username) if username else None,
                bot_id,
                group_messages=secrets.get("group_messages") or ADDRESSED,
                skipped=skipped,
            )
        self._count(bot_id, skipped)
        return WebhookResult(mentions=mentions)

    def parse_payload(
        self, payload: Any, account: str | None = None, *, bot_username: str | None = None
    ) -> list[Mention]:
        """Normalize an Update, a list of Updates or a getUpdates response.

        ``account`` is the bot's id (needed to spot replies to the bot and ``text_mention``s);
        ``bot_username`` is needed to spot ``@mentions`` in groups.
        """
        return self.explain_payload(payload, account, bot_username=bot_username).mentions

    def explain_payload(
        self,
        payload: Any,
        account: str | None = None,
        *,
        bot_username: str | None = None,
        group_messages: str = ADDRESSED,
    ) -> ParseResult:
        result = ParseResult()
        for update in updates_of(payload):
            with item_boundary(f"update {_update_id(update)}", update):
                found = parse_update(
                    update, account, bot_username, account, group_messages=group_messages, skipped=result.skipped
                )
                result.mentions.extend(found)
        if account is None and any(m.account == "unknown" for m in result.mentions):
            result.skipped.append(
                Skipped("payload", "no --account (the bot's id): replies to the bot are not recognised")
            )
        return result

    def _count(self, bot_id: str | None, skipped: list[Skipped]) -> None:
        """Skipped messages are counted per bot and logged, never dropped without a trace."""
        for item in skipped:
            self.skip_counts[(bot_id or "unknown", item.reason)] += 1
            log.info("telegram bot %s skipped %s: %s", bot_id, item.where, item.reason)

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
        read_timeout = float(account.settings.get("http_timeout", HTTP_TIMEOUT)) + long_poll
        what = f"telegram {method}"
        response = self._http.send(
            (account.external_id, base),
            "POST",  # every Bot API method accepts POST; only some are writes, hence ``mutating``
            f"{base}/bot{token}/{method}",
            what=what,
            mutating=mutating,
            json=params,
            timeout=(5.0, read_timeout),
            secrets=(token,),
        )
        return json_body(response, what, mutating=mutating).get("result")

    # -- polling ---------------------------------------------------------------------------------

    def poll(self, account: AccountContext, cursor: str | None) -> PollPage:
        """``getUpdates`` with ``offset = last update_id + 1`` (the cursor).

        Asking with an offset confirms (and makes Telegram forget) every earlier update, so the cursor
        must only be persisted after the returned mentions are stored: a crash in between replays the
        page, and the inbox's unique external_id drops the repeats. While a webhook is set (the guided
        connection registers one), Telegram answers 409 and sends every update there: nothing to poll.
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
        try:
            result = self._call(account, "getUpdates", params, mutating=False, long_poll=params["timeout"])
        except FatalError as exc:
            if exc.code != "conflict":
                raise
            # A webhook is set (the guided connection registers one): Telegram delivers every update
            # there and turns getUpdates off, so there is nothing to poll, and no error to report.
            return PollPage(mentions=[], cursor=cursor)
        if not isinstance(result, list):
            raise RetriableError("telegram getUpdates: result is not a list", code="shape")
        username = account.settings.get("bot_username") or account.handle
        group_messages = str(account.settings.get("group_messages") or ADDRESSED)
        mentions: list[Mention] = []
        skipped: list[Skipped] = []
        next_offset = int(cursor) if cursor is not None else None
        for update in result:
            uid = _update_id(update)
            if uid is not None:
                next_offset = max(next_offset or 0, uid + 1)
            # One unreadable update must not wedge the cursor: the offset moves past it (above) and the
            # host quarantines it with the reason.
            with item_boundary(f"update {uid}", update):
                mentions.extend(
                    parse_update(
                        update,
                        account.external_id,
                        username,
                        account.external_id,
                        group_messages=group_messages,
                        skipped=skipped,
                    )
                )
        self._count(account.external_id, skipped)
        return PollPage(
            mentions=mentions,
            cursor=str(next_offset) if next_offset is not None else cursor,
            more=len(result) >= PAGE_SIZE,
        )

    # -- replies ---------------------------------------------------------------------------------

    def _send(
        self, account: AccountContext, chat_id: int, text: str, reply_to: int | None, attachments: list[Attachment]
    ) -> PostResult:
        if len(text) > MAX_TEXT:
            raise FatalError(f"telegram: text is {len(text)} characters, limit {MAX_TEXT}", code="too_long")
        paced = bool(account.settings.get("pace", True))
        chat_key = (account.external_id, chat_id)
        if paced:
            bot = account.external_id
            limits = [((bot,), GLOBAL_RATE), (chat_key, CHAT_RATE)]
            if chat_id < 0:  # group and supergroup ids are negative
                limits.append(((bot, chat_id, "group"), GROUP_RATE))
            self.pacer.reserve(*limits, what=f"to chat {chat_id}")
        params: dict[str, Any] = {"chat_id": chat_id, "text": text}
        if reply_to is not None:
            # Never sent unquoted behind the agent's back: when the customer deleted what the reply
            # quotes, Telegram's "message to be replied not found" becomes OriginalDeleted (note on the
            # ticket, reply held). In a group an unquoted answer would land in public addressed to
            # nobody; in a private chat the agent may still send it, without the quote (``#unquoted``).
            params["reply_parameters"] = {"message_id": reply_to, "allow_sending_without_reply": False}
        try:
            if attachments:
                base = (account.api_base or API_BASE).rstrip("/")
                answer = send_photo(self._http, account, base, params, attachments)
                sent = parse(SentMessage, answer, "sendPhoto result")
            else:
                answer = self._call(account, "sendMessage", params, mutating=True)
                sent = parse(SentMessage, answer, "sendMessage result")
        except RateLimited as exc:
            # Flood control: other processes (serve, workers) share the bot's limits, so Telegram may
            # refuse what this pacer let through. Its retry_after holds every later send to the chat.
            if paced and exc.retry_after is not None:
                self.pacer.hold(chat_key, exc.retry_after)
            raise
        username = opt_str(sent.chat.username)
        public = sent.chat.type == "supergroup" and username
        url = f"https://t.me/{username}/{sent.message_id}" if public else None
        return PostResult(external_id=f"{sent.chat.id}:{sent.message_id}", url=url)

    def post_reply(self, account: AccountContext, reply: Reply) -> PostResult:
        target = reply.in_reply_to
        if not target or ":" not in target:
            raise FatalError("telegram: a reply needs in_reply_to = '{chat_id}:{message_id}'", code="bad_target")
        chat_part, message_part = target.rsplit(":", 1)
        try:
            chat_id, message_id = int(chat_part), int(message_part)
        except ValueError:
            raise FatalError(f"telegram: bad in_reply_to {target!r}", code="bad_target") from None
        return self._send(account, chat_id, reply.text, message_id, reply.attachments)

    def send_private(self, account: AccountContext, reply: Reply) -> PostResult:
        """A private chat with a user's id works only after they pressed Start (else 403). The answer
        quotes the customer's message when it answers one in that chat (as an agent's reply reads in
        Telegram); a handoff's first private message answers a group post, which it cannot quote."""
        try:
            user_id = int(reply.recipient_id or "")
        except ValueError:
            raise FatalError("telegram: send_private needs a numeric recipient_id", code="bad_target") from None
        try:
            return self._send(account, user_id, reply.text, _quoted(reply.in_reply_to, user_id), reply.attachments)
        except FatalError as exc:
            if exc.code == "chat_not_found":  # never talked to the bot at all
                raise FatalError(
                    f"telegram: user {user_id} has never started the bot, so it cannot write to them "
                    "first; ask them to open the bot and press Start",
                    code="not_started",
                ) from exc
            raise

    def open_attachment(self, account: AccountContext, reference: str) -> Download:
        """``getFile`` -> ``{base}/file/bot<token>/<file_path>`` (Bot API "getFile"; at most 20 MB).

        The download URL holds the token, so it is built here, used once and never stored or logged
        (the shared client masks ``/bot<token>/`` in every message)."""
        found = self._call(account, "getFile", {"file_id": reference}, mutating=False)
        path = parse(FileAnswer, found, "getFile result").file_path
        if not path:
            raise FatalError("telegram getFile: no file_path (the file cannot be downloaded)", code="no_file_path")
        token = account.credentials.get("bot_token") or ""
        base = (account.api_base or API_BASE).rstrip("/")
        response = self._http.send(
            (account.external_id, base),
            "GET",
            f"{base}/file/bot{token}/{path}",
            what="telegram file download",
            mutating=False,
            timeout=(5.0, float(account.settings.get("http_timeout", HTTP_TIMEOUT))),
            secrets=(token,),
            check=False,  # a file is not a JSON answer; only an error answer goes through the error hook
        )
        if response.status_code != 200:
            self._http.check(response, "telegram file download", secrets=(token,))
            raise RetriableError(f"telegram file download: HTTP {response.status_code}", code="http")
        name = path.rsplit("/", 1)[-1]
        guessed = mimetypes.guess_type(name)[0]
        served = response.headers.get("Content-Type", "").split(";")[0].strip()
        generic = served in ("", "application/octet-stream")
        kind = guessed if generic and guessed else served or "application/octet-stream"
        return Download(content_type=kind, body=response.content, filename=name)

    def fetch_profile(self, account: AccountContext, author_external_id: str) -> SocialProfile | None:
        """``getChat`` on a user id: works for users who have talked to the bot."""
        try:
            chat_id = int(author_external_id)
        except ValueError:
            return None
        try:
            answer = self._call(account, "getChat", {"chat_id": chat_id}, mutating=False)
        except FatalError as exc:
            if exc.code in ("chat_not_found", "400", "404", "forbidden"):
                return None
            raise
        if not isinstance(answer, dict):  # no Chat in the answer: the network does not say
            return None
        chat = parse(Chat, answer, "getChat result")
        username = opt_str(chat.username)
        name = " ".join(p for p in (chat.first_name, chat.last_name) if p)
        return SocialProfile(
            network="telegram",
            external_id=str(chat_id),
            handle=username,
            name=name or opt_str(chat.title),
            profile_url=f"https://t.me/{username}" if username else None,
        )

    def limits(self) -> Limits:
        return Limits(
            max_text_length=MAX_TEXT,
            requests_per_window=GLOBAL_RATE.count,
            window_seconds=1,
            poll_interval_seconds=5,
            page_size=PAGE_SIZE,
        )

    # -- setup helpers (used by `horseshoe doctor`/admin tooling, not by the pipeline) ------------

    def connect_flow(self) -> TelegramConnect:
        return TelegramConnect(self)

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
        me = self._call(account, "getMe", {}, mutating=False)
        parse(User, me, "getMe result")  # the answer is handed on as-is, once it is known to be a User
        return dict(me)


@hookimpl
def horseshoe_register_connectors() -> list[Connector]:
    return [TelegramConnector()]


def _update_id(update: Any) -> int | None:
    """The id of an Update in a getUpdates answer, even when the rest of it cannot be read."""
    try:
        return UpdateId.model_validate(update).update_id
    except ValidationError:  # no integer update_id: it cannot move the cursor; parse_update says why
        return None


def _quoted(in_reply_to: str | None, chat_id: int) -> int | None:
    """The id of the message ``in_reply_to`` names when it is in the private chat ``chat_id``."""
    chat_part, _, message_part = (in_reply_to or "").rpartition(":")
    try:
        return int(message_part) if chat_part and int(chat_part) == chat_id else None
    except ValueError:
        return None
