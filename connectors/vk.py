"""VK connector: Callback API (or Bots Long Poll) in, ``wall.createComment`` / ``messages.send`` out.

Handshake + mentions convention (read this first)
-------------------------------------------------
VK's Callback API wants an answer body for *every* request: the confirmation string for a
``confirmation`` request, and the plain string ``ok`` (HTTP 200) for every event; anything else makes VK
resend the event and, after several failures in a row, pause the server. So ``parse_webhook`` returns:

- ``confirmation``  -> ``WebhookResult(handshake=(200, "text/plain", confirmation_code))``, no mentions;
- any other event   -> ``WebhookResult(mentions=[...], handshake=(200, "text/plain", "ok"))``.

When a result carries both ``mentions`` and ``handshake``, the host stores the mentions first (commits
the inbox) and only then sends the handshake body as the HTTP answer. If storing fails the host must
answer an error instead of ``ok`` so that VK redelivers the event (same ``event_id`` -> same
``external_id``, so a redelivery after a partial success is deduplicated by the inbox).

Account model
-------------
- ``AccountContext.external_id``: the community id as a positive number string (``"123"``).
- credentials: ``access_token`` (community token), ``secret`` (Callback API secret key),
  ``confirmation_code`` (the string ``groups.getCallbackConfirmationCode`` returns).
- settings: ``group_id`` (defaults to ``external_id``), ``api_version`` (default ``5.199``),
  ``requests_per_second`` (client-side pacing, default 20 = VK's limit for community tokens),
  ``poll_wait`` (Bots Long Poll ``wait`` seconds, default 20; tests use 0), ``http_timeout`` (15 s).
- ``verify_request``/``parse_webhook`` only receive ``secrets``; ``group_id`` is read from there too
  when present (the host should merge the account's settings into what it passes).

What becomes a mention
----------------------
- ``wall_reply_new`` / ``wall_reply_edit`` / ``wall_reply_delete``: comments on our wall (kind
  ``comment``, or ``reply`` when answering another comment); ``external_id = "{owner_id}_{id}"``,
  ``thread_id = "{owner_id}_{post_id}"``; edit/delete carry ``event="edited"/"deleted"``.
- ``wall_post_new``: a post on our wall by someone else (suggested/visitor post), or a post that
  mentions the community (``[club123|...]``, ``@club123``); our own posts are not.
- ``message_new`` / ``message_edit``: messages to the community, ``external_id =
  "{peer_id}_{conversation_message_id}"``, ``thread_id = "{peer_id}"``, kind ``direct``, private.
  In multi-user chats (``peer_id >= 2000000000``) only messages that mention us or reply to us count.
- Anything authored by our own community (``from_id == -group_id``) is an echo and is skipped.

Replies: the reply's ``thread_id`` says where it goes. ``"{owner_id}_{post_id}"`` -> a wall comment
(``reply_to_comment`` when ``in_reply_to`` is a comment, ``guid`` = idempotency key); ``"{peer_id}"``
-> ``messages.send`` with ``random_id`` derived from the idempotency key (VK drops a second message
with the same ``random_id``, so a retried send is harmless) and a ``forward`` marked ``is_reply``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import threading
import time
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
from plugin.models import (
    Attachment,
    Author,
    Kind,
    Limits,
    Mention,
    PostResult,
    Reply,
    SocialProfile,
    Visibility,
)

log = logging.getLogger(__name__)
hookimpl = pluggy.HookimplMarker("horseshoe")

API_BASE = "https://api.vk.com"
API_VERSION = "5.199"
MAX_TEXT = 4096
CHAT_PEER_BASE = 2_000_000_000  # peer ids of multi-user chats start here
DEFAULT_RPS = 20
DEFAULT_WAIT = 20
HTTP_TIMEOUT = 15.0

RATE_CODES = {6, 9, 29}
AUTH_CODES = {5, 27, 28}
ACCESS_CODES = {15, 203}
RETRY_CODES = {1, 10}


# --------------------------------------------------------------------------------------------------
# Client-side pacing


class VKPacer:
    """At most ``rps`` API calls per second per token (VK answers error 6 beyond that).

    ``reserve`` raises ``RateLimited`` with the wait rather than sleeping. Tokens are keyed by hash so
    the pacer never holds a token in a form that could reach a repr.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._calls: dict[str, list[float]] = {}

    def reserve(self, token: str, rps: int) -> None:
        key = hashlib.sha256(token.encode()).hexdigest()[:16]
        with self._lock:
            now = self._clock()
            recent = [t for t in self._calls.get(key, []) if now - t < 1.0]
            if len(recent) >= rps:
                wait = 1.0 - (now - recent[0])
                self._calls[key] = recent
                raise RateLimited(f"vk pacing: wait {wait:.2f}s", retry_after=wait, code="client_pacing")
            recent.append(now)
            self._calls[key] = recent


def random_id_for(idempotency_key: str) -> int:
    """A stable, non-zero 31-bit ``random_id`` (VK treats 0 as "no de-duplication")."""
    value = int.from_bytes(hashlib.sha256(idempotency_key.encode()).digest()[:4], "big") & 0x7FFFFFFF
    return value or 1


# --------------------------------------------------------------------------------------------------
# Parsing


def _obj(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadInput(f"vk: {what} must be an object")
    return value


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadInput(f"vk: {what} must be an integer")
    return value


def _when(value: Any, what: str) -> datetime:
    try:
        return datetime.fromtimestamp(_int(value, what), UTC)
    except (OverflowError, OSError, ValueError):
        raise BadInput(f"vk: {what} is not a valid unix time") from None


def _author(from_id: int) -> Author:
    if from_id < 0:
        return Author(external_id=str(from_id), profile_url=f"https://vk.com/club{-from_id}")
    return Author(external_id=str(from_id), profile_url=f"https://vk.com/id{from_id}")


def _attachments(obj: dict[str, Any]) -> list[Attachment]:
    out: list[Attachment] = []
    items = obj.get("attachments")
    if not isinstance(items, list):
        return out
    for item in items:
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        body = item.get(kind) if isinstance(kind, str) else None
        if not isinstance(body, dict):
            continue
        url = None
        if kind == "photo" and isinstance(body.get("sizes"), list):
            sizes = [s for s in body["sizes"] if isinstance(s, dict) and isinstance(s.get("url"), str)]
            if sizes:
                best = max(sizes, key=lambda s: (s.get("width") or 0) * (s.get("height") or 0))
                url = best["url"]
            kind = "image"
        elif kind in ("doc", "link", "audio_message"):
            url = body.get("url") or body.get("link_mp3")
        if isinstance(url, str) and url:
            out.append(Attachment(url=url, type=str(kind)))
    return out


def mentions_group(text: str, group_id: int) -> bool:
    """``[club123|Name]``, ``[public123|Name]``, ``@club123`` / ``*club123`` are VK's mention markups."""
    pattern = rf"(\[(?:club|public){group_id}\|)|([@*](?:club|public){group_id}\b)"
    return re.search(pattern, text) is not None


class _Ctx:
    """What one event is parsed against."""

    def __init__(self, group_id: int, account: str, event: dict[str, Any]):
        self.group_id = group_id
        self.account = account
        self.event_id = event.get("event_id") if isinstance(event.get("event_id"), str) else None
        self.type = str(event.get("type"))

    def extra(self, **values: Any) -> dict[str, Any]:
        return {"event_type": self.type, "event_id": self.event_id, **values}


def _wall_comment(obj: dict[str, Any], ctx: _Ctx, event: str) -> list[Mention]:
    comment_id = _int(obj.get("id"), "comment.id")
    post_id = _int(obj.get("post_id"), "comment.post_id")
    owner_id = _int(obj.get("post_owner_id", obj.get("owner_id")), "comment.post_owner_id")
    from_id = _int(obj.get("from_id"), "comment.from_id")
    if from_id == -ctx.group_id:
        return []  # our own comment coming back
    reply_to = obj.get("reply_to_comment")
    parent_id = f"{owner_id}_{reply_to}" if isinstance(reply_to, int) and reply_to else None
    thread = f"{owner_id}_{post_id}"
    stack = obj.get("parents_stack")
    thread_root = stack[0] if isinstance(stack, list) and stack and isinstance(stack[0], int) else None
    url = f"https://vk.com/wall{owner_id}_{post_id}?reply={comment_id}"
    if thread_root:
        url += f"&thread={thread_root}"
    text = obj.get("text")
    return [
        Mention(
            network="vk",
            external_id=f"{owner_id}_{comment_id}",
            thread_id=thread,
            parent_id=parent_id or thread,
            kind=Kind.REPLY if parent_id else Kind.COMMENT,
            visibility=Visibility.PUBLIC,
            author=_author(from_id),
            text=text if isinstance(text, str) else "",
            created_at=_when(obj.get("date"), "comment.date"),
            url=url,
            attachments=_attachments(obj),
            account=ctx.account,
            event=event,  # type: ignore[arg-type]
            extra=ctx.extra(owner_id=owner_id, post_id=post_id, comment_id=comment_id),
        )
    ]


def _wall_comment_deleted(obj: dict[str, Any], ctx: _Ctx) -> list[Mention]:
    owner_id = _int(obj.get("owner_id"), "wall_reply_delete.owner_id")
    comment_id = _int(obj.get("id"), "wall_reply_delete.id")
    post_id = _int(obj.get("post_id"), "wall_reply_delete.post_id")
    deleter = obj.get("deleter_id", obj.get("user_id"))
    deleter_id = deleter if isinstance(deleter, int) and not isinstance(deleter, bool) else -ctx.group_id
    # The event carries no date; the moment we learn about the deletion is the best we have.
    return [
        Mention(
            network="vk",
            external_id=f"{owner_id}_{comment_id}",
            thread_id=f"{owner_id}_{post_id}",
            kind=Kind.COMMENT,
            author=_author(deleter_id),
            created_at=datetime.now(UTC),
            account=ctx.account,
            event="deleted",
            extra=ctx.extra(owner_id=owner_id, post_id=post_id, comment_id=comment_id, deleter_id=deleter_id),
        )
    ]


def _wall_post(obj: dict[str, Any], ctx: _Ctx) -> list[Mention]:
    post_id = _int(obj.get("id"), "post.id")
    owner_id = _int(obj.get("owner_id"), "post.owner_id")
    from_id = _int(obj.get("from_id"), "post.from_id")
    raw_text = obj.get("text")
    text = raw_text if isinstance(raw_text, str) else ""
    if from_id == -ctx.group_id:
        return []  # the community's own post
    on_our_wall = owner_id == -ctx.group_id
    if not (on_our_wall or mentions_group(text, ctx.group_id)):
        return []
    external_id = f"{owner_id}_{post_id}"
    return [
        Mention(
            network="vk",
            external_id=external_id,
            thread_id=external_id,
            kind=Kind.POST,
            visibility=Visibility.PUBLIC,
            author=_author(from_id),
            text=text,
            created_at=_when(obj.get("date"), "post.date"),
            url=f"https://vk.com/wall{external_id}",
            attachments=_attachments(obj),
            account=ctx.account,
            extra=ctx.extra(owner_id=owner_id, post_id=post_id, post_type=obj.get("post_type")),
        )
    ]


def _message(msg: dict[str, Any], ctx: _Ctx, event: str) -> list[Mention]:
    peer_id = _int(msg.get("peer_id"), "message.peer_id")
    from_id = _int(msg.get("from_id"), "message.from_id")
    cmid = _int(msg.get("conversation_message_id"), "message.conversation_message_id")
    if from_id == -ctx.group_id or msg.get("out") == 1:
        return []  # outgoing / echo
    raw_text = msg.get("text")
    text = raw_text if isinstance(raw_text, str) else ""
    reply = msg.get("reply_message")
    parent_id = None
    replies_to_us = False
    if isinstance(reply, dict) and isinstance(reply.get("conversation_message_id"), int):
        parent_id = f"{peer_id}_{reply['conversation_message_id']}"
        replies_to_us = reply.get("from_id") == -ctx.group_id
    in_chat = peer_id >= CHAT_PEER_BASE
    if in_chat and not (replies_to_us or mentions_group(text, ctx.group_id)):
        return []
    kind = Kind.DIRECT
    if in_chat:
        kind = Kind.REPLY if replies_to_us else Kind.COMMENT
    return [
        Mention(
            network="vk",
            external_id=f"{peer_id}_{cmid}",
            thread_id=str(peer_id),
            parent_id=parent_id,
            kind=kind,
            visibility=Visibility.PRIVATE,
            author=_author(from_id),
            text=text,
            created_at=_when(msg.get("date"), "message.date"),
            url=f"https://vk.com/gim{ctx.group_id}?sel={peer_id}" if not in_chat else None,
            attachments=_attachments(msg),
            account=ctx.account,
            event=event,  # type: ignore[arg-type]
            extra=ctx.extra(peer_id=peer_id, conversation_message_id=cmid, message_id=msg.get("id")),
        )
    ]


def parse_event(event: Any, account: str | None = None) -> list[Mention]:
    """One Callback API / Bots Long Poll event -> mentions (0 or 1). Raises only BadInput."""
    ev = _obj(event, "event")
    ev_type = ev.get("type")
    if not isinstance(ev_type, str):
        raise BadInput("vk: event has no type")
    if ev_type == "confirmation":
        return []
    group_id = _int(ev.get("group_id"), "event.group_id") if "group_id" in ev else None
    if group_id is None:
        if account is None or not account.lstrip("-").isdigit():
            raise BadInput("vk: event has no group_id and no account was given")
        group_id = abs(int(account))
    ctx = _Ctx(abs(group_id), account or str(abs(group_id)), ev)
    obj = ev.get("object")
    try:
        if ev_type in ("wall_reply_new", "wall_reply_edit", "wall_reply_restore"):
            edited = "edited" if ev_type == "wall_reply_edit" else "created"
            return _wall_comment(_obj(obj, "object"), ctx, edited)
        if ev_type == "wall_reply_delete":
            return _wall_comment_deleted(_obj(obj, "object"), ctx)
        if ev_type == "wall_post_new":
            return _wall_post(_obj(obj, "object"), ctx)
        if ev_type == "message_new":
            body = _obj(obj, "object")
            # API >= 5.103 wraps the message: {"message": {...}, "client_info": {...}}
            msg = body["message"] if "message" in body else body
            return _message(_obj(msg, "object.message"), ctx, "created")
        if ev_type == "message_edit":
            return _message(_obj(obj, "object"), ctx, "edited")
    except ValueError as exc:  # pydantic ValidationError: a value the models refuse
        raise BadInput(f"vk: cannot normalize {ev_type}: {exc}") from None
    return []  # likes, joins, typing, message_reply (our own outgoing)...


def _events_of(payload: Any) -> list[Any]:
    if isinstance(payload, list):
        return payload
    if isinstance(payload, dict) and "updates" in payload:  # a Bots Long Poll answer
        if not isinstance(payload["updates"], list):
            raise BadInput("vk: long poll updates must be a list")
        return list(payload["updates"])
    if isinstance(payload, dict):
        return [payload]
    raise BadInput("vk: payload must be an event, a list of events or a long poll answer")


# --------------------------------------------------------------------------------------------------
# Connector


class VKConnector(Connector):
    name = "vk"
    display_name = "VK"

    def __init__(
        self, *, clock: Callable[[], float] = time.monotonic, session: requests.Session | None = None
    ):
        self.pacer = VKPacer(clock)
        self._session = session or requests.Session()

    # -- webhook ---------------------------------------------------------------------------------

    @staticmethod
    def _body(request: InboundRequest) -> dict[str, Any] | None:
        try:
            body = json.loads(request.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None
        return body if isinstance(body, dict) else None

    def verify_request(self, request: InboundRequest, secrets: Mapping[str, str]) -> bool:
        """The body's ``secret`` equals the account's secret (constant time) and ``group_id`` matches.

        A ``confirmation`` request without a ``secret`` field is accepted only when the group id is
        configured and matches: its answer (the confirmation code) only proves we own this URL.
        """
        body = self._body(request)
        if body is None:
            return False
        expected_group = secrets.get("group_id")
        group = body.get("group_id")
        if expected_group is not None and str(group) != str(expected_group).lstrip("-"):
            return False
        got = body.get("secret")
        expected = secrets.get("secret")
        if got is None and body.get("type") == "confirmation":
            return expected_group is not None
        if not isinstance(got, str) or not expected:
            return False
        return hmac.compare_digest(got.encode("utf-8"), expected.encode("utf-8"))

    def parse_webhook(self, request: InboundRequest, secrets: Mapping[str, str]) -> WebhookResult:
        body = self._body(request)
        if body is None:
            raise BadInput("vk: callback body is not a JSON object")
        if body.get("type") == "confirmation":
            code = secrets.get("confirmation_code")
            if not code:
                raise BadInput("vk: confirmation requested but no confirmation_code is configured")
            return WebhookResult(handshake=(200, "text/plain", code))
        configured = secrets.get("group_id")
        group = str(configured) if configured else (str(body["group_id"]) if "group_id" in body else None)
        mentions = parse_event(body, group.lstrip("-") if group else None)
        return WebhookResult(mentions=mentions, handshake=(200, "text/plain", "ok"))

    def parse_payload(self, payload: Any, account: str | None = None) -> list[Mention]:
        """A Callback event, a list of events, or a Bots Long Poll answer ``{"ts", "updates"}``."""
        out: list[Mention] = []
        for event in _events_of(payload):
            out.extend(parse_event(event, account))
        return out

    # -- API calls -------------------------------------------------------------------------------

    def _group_id(self, account: AccountContext) -> int:
        raw = account.settings.get("group_id", account.external_id)
        try:
            return abs(int(raw))
        except (TypeError, ValueError):
            raise FatalError(f"vk: bad group_id {raw!r}", code="config") from None

    def _call(self, account: AccountContext, method: str, params: dict[str, Any], *, mutating: bool) -> Any:
        token = account.credentials.get("access_token")
        if not token:
            raise AuthError("vk: account has no access_token", code="no_token")
        self.pacer.reserve(token, int(account.settings.get("requests_per_second", DEFAULT_RPS)))
        base = (account.api_base or API_BASE).rstrip("/")
        data = {k: v for k, v in params.items() if v is not None}
        data["v"] = account.settings.get("api_version", API_VERSION)
        data["access_token"] = token  # in the POST body, never in a URL that could be logged
        try:
            read_timeout = float(account.settings.get("http_timeout", HTTP_TIMEOUT))
            resp = self._session.post(f"{base}/method/{method}", data=data, timeout=(5.0, read_timeout))
        except requests.ReadTimeout:
            if mutating:
                raise OutcomeUnknown(f"vk {method}: no answer after sending") from None
            raise RetriableError(f"vk {method}: read timeout", code="timeout") from None
        except requests.RequestException as exc:
            raise RetriableError(f"vk {method}: {type(exc).__name__}", code="network") from None
        return self._result(method, resp)

    @staticmethod
    def _raise_for_error(method: str, error: dict[str, Any]) -> None:
        """Translate VK's ``{"error_code", "error_msg"}`` into the horseshoe taxonomy (always raises)."""
        code = error.get("error_code")
        msg = str(error.get("error_msg") or "unknown error")
        text = f"vk {method}: error {code}: {msg}"
        if code in RATE_CODES:
            raise RateLimited(text, retry_after=1.0 if code == 6 else None, code=str(code))
        if code in RETRY_CODES:
            raise RetriableError(text, code=str(code))
        if code in AUTH_CODES:
            raise AuthError(text, code=str(code))
        if code in ACCESS_CODES:
            raise AuthError(text, code=str(code))
        if code == 901:
            raise FatalError(
                f"{text} (the user has not allowed messages from the community; "
                "they must write to it first)",
                code="not_allowed",
            )
        if code == 902:
            raise FatalError(text, code="privacy")
        raise FatalError(text, code=str(code))

    @classmethod
    def _result(cls, method: str, resp: requests.Response) -> Any:
        try:
            body = resp.json()
        except ValueError:
            body = None
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            cls._raise_for_error(method, error)
        if resp.status_code == 429:
            raise RateLimited(f"vk {method}: HTTP 429", code="429")
        if resp.status_code >= 500:
            raise RetriableError(f"vk {method}: HTTP {resp.status_code}", code="http")
        if not isinstance(body, dict) or "response" not in body:
            raise FatalError(f"vk {method}: HTTP {resp.status_code} without a response", code="http")
        return body["response"]

    # -- polling (Bots Long Poll) ----------------------------------------------------------------

    def _lp_server(self, account: AccountContext) -> dict[str, Any]:
        info = self._call(
            account, "groups.getLongPollServer", {"group_id": self._group_id(account)}, mutating=False
        )
        if not isinstance(info, dict) or not all(k in info for k in ("server", "key", "ts")):
            raise RetriableError("vk groups.getLongPollServer: unexpected answer", code="shape")
        return {"server": str(info["server"]), "key": str(info["key"]), "ts": str(info["ts"])}

    def poll(self, account: AccountContext, cursor: str | None) -> PollPage:
        """One Bots Long Poll ``a_check``; the cursor is ``{"server", "key", "ts"}`` as JSON.

        ``failed: 1`` -> continue from the new ``ts``; ``2`` -> new key, same ts; ``3`` -> new key and
        ts (VK lost the history; logged). Persist the returned cursor only after storing the page:
        replaying a ``ts`` returns the same events, deduplicated by external_id.
        """
        state: dict[str, Any]
        if cursor is None:
            state = self._lp_server(account)
        else:
            try:
                loaded = json.loads(cursor)
            except ValueError:
                loaded = None
            if not isinstance(loaded, dict) or not {"server", "key", "ts"} <= loaded.keys():
                raise BadInput("vk: bad long poll cursor")
            state = loaded
        wait = int(account.settings.get("poll_wait", DEFAULT_WAIT))
        try:
            resp = self._session.get(
                state["server"],
                params={"act": "a_check", "key": state["key"], "ts": state["ts"], "wait": wait},
                timeout=(5.0, HTTP_TIMEOUT + wait),
            )
            answer = resp.json()
        except requests.RequestException as exc:
            raise RetriableError(f"vk long poll: {type(exc).__name__}", code="network") from None
        except ValueError:
            raise RetriableError(f"vk long poll: HTTP {resp.status_code} not JSON", code="http") from None
        if not isinstance(answer, dict):
            raise RetriableError("vk long poll: unexpected answer", code="shape")
        failed = answer.get("failed")
        if failed == 1:
            state["ts"] = str(answer.get("ts"))
            return PollPage(mentions=[], cursor=json.dumps(state), more=True)
        if failed == 2:
            fresh = self._lp_server(account)
            state.update(server=fresh["server"], key=fresh["key"])
            return PollPage(mentions=[], cursor=json.dumps(state), more=True)
        if failed == 3:
            log.warning("vk: long poll history lost (failed=3) after ts=%s", state["ts"])
            return PollPage(mentions=[], cursor=json.dumps(self._lp_server(account)), more=True)
        if failed is not None or not isinstance(answer.get("updates"), list):
            raise RetriableError(f"vk long poll: unexpected answer (failed={failed})", code="shape")
        mentions: list[Mention] = []
        for event in answer["updates"]:
            try:
                mentions.extend(parse_event(event, str(self._group_id(account))))
            except BadInput as exc:
                log.warning("vk: skipping long poll event: %s", exc)
        state["ts"] = str(answer.get("ts", state["ts"]))
        return PollPage(mentions=mentions, cursor=json.dumps(state), more=bool(answer["updates"]))

    # -- replies ---------------------------------------------------------------------------------

    @staticmethod
    def _split(value: str, what: str) -> tuple[int, int]:
        try:
            owner, item = value.rsplit("_", 1)
            return int(owner), int(item)
        except ValueError:
            raise FatalError(f"vk: bad {what} {value!r}", code="bad_target") from None

    def _check_text(self, text: str) -> None:
        if len(text) > MAX_TEXT:
            raise FatalError(f"vk: text is {len(text)} characters, limit {MAX_TEXT}", code="too_long")

    def post_reply(self, account: AccountContext, reply: Reply) -> PostResult:
        self._check_text(reply.text)
        thread = reply.thread_id
        if not thread:
            raise FatalError(
                "vk: a reply needs thread_id ('{owner}_{post}' or '{peer_id}')", code="bad_target"
            )
        if "_" in thread:
            return self._comment(account, reply, thread)
        try:
            peer_id = int(thread)
        except ValueError:
            raise FatalError(f"vk: bad thread_id {thread!r}", code="bad_target") from None
        reply_cmid = None
        if reply.in_reply_to:
            peer, reply_cmid = self._split(reply.in_reply_to, "in_reply_to")
            if peer != peer_id:
                raise FatalError("vk: in_reply_to is not in the thread's conversation", code="bad_target")
        return self._message(account, peer_id, reply, reply_cmid)

    def _comment(self, account: AccountContext, reply: Reply, thread: str) -> PostResult:
        owner_id, post_id = self._split(thread, "thread_id")
        reply_to = None
        if reply.in_reply_to and reply.in_reply_to != thread:
            owner, reply_to = self._split(reply.in_reply_to, "in_reply_to")
            if owner != owner_id:
                raise FatalError("vk: in_reply_to is on another wall than the thread", code="bad_target")
        result = self._call(
            account,
            "wall.createComment",
            {
                "owner_id": owner_id,
                "post_id": post_id,
                "message": reply.text,
                "reply_to_comment": reply_to,
                "from_group": self._group_id(account),
                "guid": reply.idempotency_key,  # VK refuses a second comment with the same guid
            },
            mutating=True,
        )
        if not isinstance(result, dict) or not isinstance(result.get("comment_id"), int):
            raise FatalError("vk wall.createComment: unexpected answer", code="shape")
        comment_id = result["comment_id"]
        return PostResult(
            external_id=f"{owner_id}_{comment_id}",
            url=f"https://vk.com/wall{owner_id}_{post_id}?reply={comment_id}",
        )

    def _message(
        self, account: AccountContext, peer_id: int, reply: Reply, reply_cmid: int | None
    ) -> PostResult:
        params: dict[str, Any] = {
            "peer_ids": str(peer_id),  # peer_ids makes VK return conversation_message_id
            "message": reply.text,
            "random_id": random_id_for(reply.idempotency_key),
        }
        if reply_cmid is not None:
            params["forward"] = json.dumps(
                {"peer_id": peer_id, "conversation_message_ids": [reply_cmid], "is_reply": True}
            )
        result = self._call(account, "messages.send", params, mutating=True)
        item = result[0] if isinstance(result, list) and result else None
        if not isinstance(item, dict):
            raise FatalError("vk messages.send: unexpected answer", code="shape")
        if isinstance(item.get("error"), dict):  # per-peer failure inside a successful call
            self._raise_for_error("messages.send", item["error"])
        cmid = item.get("conversation_message_id")
        return PostResult(external_id=f"{peer_id}_{cmid}")

    def send_private(self, account: AccountContext, reply: Reply) -> PostResult:
        """``messages.send`` to the user; needs them to have written to / allowed the community."""
        self._check_text(reply.text)
        try:
            peer_id = int(reply.recipient_id or "")
        except ValueError:
            raise FatalError("vk: send_private needs a numeric recipient_id", code="bad_target") from None
        return self._message(account, peer_id, reply, None)

    def fetch_profile(self, account: AccountContext, author_external_id: str) -> SocialProfile | None:
        try:
            ident = int(author_external_id)
        except ValueError:
            return None
        if ident < 0:
            answer = self._call(account, "groups.getById", {"group_id": -ident}, mutating=False)
            groups = answer.get("groups") if isinstance(answer, dict) else answer
            if not isinstance(groups, list) or not groups or not isinstance(groups[0], dict):
                return None
            group = groups[0]
            screen = group.get("screen_name")
            return SocialProfile(
                network="vk",
                external_id=author_external_id,
                handle=screen if isinstance(screen, str) else None,
                name=group.get("name") if isinstance(group.get("name"), str) else None,
                avatar_url=group.get("photo_100") if isinstance(group.get("photo_100"), str) else None,
                profile_url=f"https://vk.com/{screen or f'club{-ident}'}",
            )
        users = self._call(
            account, "users.get", {"user_ids": ident, "fields": "screen_name,photo_100"}, mutating=False
        )
        if not isinstance(users, list) or not users or not isinstance(users[0], dict):
            return None
        user = users[0]
        name = " ".join(
            p for p in (user.get("first_name"), user.get("last_name")) if isinstance(p, str) and p
        )
        screen = user.get("screen_name") if isinstance(user.get("screen_name"), str) else None
        return SocialProfile(
            network="vk",
            external_id=author_external_id,
            handle=screen,
            name=name or None,
            avatar_url=user.get("photo_100") if isinstance(user.get("photo_100"), str) else None,
            profile_url=f"https://vk.com/{screen or f'id{ident}'}",
        )

    def limits(self) -> Limits:
        return Limits(
            max_text_length=MAX_TEXT,
            requests_per_window=DEFAULT_RPS,
            window_seconds=1,
            poll_interval_seconds=5,
            page_size=100,
        )


@hookimpl
def horseshoe_register_connectors() -> list[Connector]:
    return [VKConnector()]
