"""``VKConnector``: Callback API or Bots Long Poll in, ``wall.createComment`` / ``messages.send`` out.

See the package docstring for the handshake convention, the account model and what becomes a mention.
Calls go through ``plugin.http.HttpClient`` (VK error envelopes mapped in ``errors.py``), paced per
token by ``plugin.http.Pacer`` (VK answers error 6 beyond its per-second limit).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import pluggy
from pydantic import BaseModel

from plugin.connector import (
    AccountContext,
    Connector,
    InboundRequest,
    ParseResult,
    PollPage,
    Skipped,
    WebhookResult,
    item_boundary,
)
from plugin.errors import AuthError, BadInput, FatalError, RetriableError
from plugin.http import HttpClient, Pacer, Rate, fingerprint, json_body
from plugin.models import Limits, Mention, PostResult, Reply, SocialProfile

from . import listen as vk_listen
from .config import VKCredentials, VKSettings
from .connect import VKConnect
from .errors import vk_api_error, vk_error
from .models import (
    CreatedComment,
    Groups,
    GroupsById,
    LongPollCheck,
    LongPollServer,
    SentMessages,
    Users,
    parse,
)
from .parse import ADDRESSED, events_of, parse_event
from .photos import photo_attachments

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)
hookimpl = pluggy.HookimplMarker("horseshoe")

API_BASE = "https://api.vk.com"
API_VERSION = "5.199"
MAX_TEXT = 4096
DEFAULT_RPS = 20
DEFAULT_WAIT = 20
HTTP_TIMEOUT = 15.0


def random_id_for(idempotency_key: str) -> int:
    """A stable, non-zero 31-bit ``random_id`` (VK treats 0 as "no de-duplication")."""
    value = int.from_bytes(hashlib.sha256(idempotency_key.encode()).digest()[:4], "big") & 0x7FFFFFFF
    return value or 1


# The shared secret as it appears in the raw body (VK sends it as a plain JSON string).
_RAW_SECRET = re.compile(rb'"secret"\s*:\s*"([^"\\]{0,256})"')


class VKConnector(Connector):
    name = "vk"
    display_name = "VK"
    link_hosts = ("vk.com", "vk.ru")

    credentials_model = VKCredentials
    settings_model = VKSettings

    def __init__(self, *, clock: Callable[[], float] = time.monotonic):
        self.pacer = Pacer(clock, name="vk pacing")
        self._http = HttpClient("vk", error_hook=vk_error, user_agent="horseshoe-vk/0.1")
        # (community id, reason) -> how many events were left out for it since this process started.
        self.skip_counts: Counter[tuple[str, str]] = Counter()

    # -- webhook ---------------------------------------------------------------------------------

    @staticmethod
    def _body(request: InboundRequest) -> dict[str, Any] | None:
        try:
            body = json.loads(request.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):  # deep nesting: not a VK callback
            return None
        return body if isinstance(body, dict) else None

    def verify_request(self, request: InboundRequest, secrets: Mapping[str, str]) -> bool:
        """The body's ``secret`` equals the account's secret (constant time) and ``group_id`` matches.

        A ``confirmation`` request without a ``secret`` field is accepted only when the group id is
        configured and matches: its answer (the confirmation code) only proves we own this URL.
        """
        expected = secrets.get("secret")
        raw = _RAW_SECRET.search(request.body)
        if raw is not None and (not expected or not hmac.compare_digest(raw.group(1), expected.encode("utf-8"))):
            # Verify before parse: a body with the wrong secret is refused without parsing it at all.
            return False
        body = self._body(request)
        if body is None:
            return False
        expected_group = secrets.get("group_id")
        group = body.get("group_id")
        if expected_group is not None and str(group) != str(expected_group).lstrip("-"):
            return False
        got = body.get("secret")
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
        skipped: list[Skipped] = []
        mode = secrets.get("group_messages") or ADDRESSED
        mentions: list[Mention] = []
        # Kept without its shared secret: a quarantined body must not carry a credential.
        with item_boundary(f"{body.get('type')} event", {k: v for k, v in body.items() if k != "secret"}):
            mentions = parse_event(body, group.lstrip("-") if group else None, group_messages=mode, skipped=skipped)
        self._count(group, skipped)
        return WebhookResult(mentions=mentions, handshake=(200, "text/plain", "ok"))

    def parse_payload(self, payload: Any, account: str | None = None) -> list[Mention]:
        """A Callback event, a list of events, or a Bots Long Poll answer ``{"ts", "updates"}``."""
        return self.explain_payload(payload, account).mentions

    def explain_payload(
        self, payload: Any, account: str | None = None, *, group_messages: str = ADDRESSED
    ) -> ParseResult:
        if isinstance(payload, dict) and isinstance(payload.get("items"), list) and "type" not in payload:
            return vk_listen.explain_search(payload, account)  # a newsfeed.search answer (listening)
        result = ParseResult()
        for index, event in enumerate(events_of(payload)):
            with item_boundary(f"updates[{index}]", event):
                found = parse_event(event, account, group_messages=group_messages, skipped=result.skipped)
                result.mentions.extend(found)
        return result

    def _count(self, group: str | None, skipped: list[Skipped]) -> None:
        """Skipped events are counted per community and logged, never dropped without a trace."""
        for item in skipped:
            self.skip_counts[(group or "unknown", item.reason)] += 1
            log.info("vk community %s skipped %s: %s", group, item.where, item.reason)

    # -- API calls -------------------------------------------------------------------------------

    def connect_flow(self) -> VKConnect:
        return VKConnect(self._call, API_VERSION)

    def _group_id(self, account: AccountContext) -> int:
        raw = account.settings.get("group_id", account.external_id)
        try:
            return abs(int(raw))
        except (TypeError, ValueError):
            raise FatalError(f"vk: bad group_id {raw!r}", code="config") from None

    def _call(
        self, account: AccountContext, method: str, params: dict[str, Any], *, mutating: bool, token: str | None = None
    ) -> Any:
        token = token or account.credentials.get("access_token")
        if not token:
            raise AuthError("vk: account has no access_token", code="no_token")
        # Keyed by the token's fingerprint: the limit is per token, and the pacer must not hold a secret.
        rate = Rate.per_second(int(account.settings.get("requests_per_second", DEFAULT_RPS)))
        self.pacer.reserve((fingerprint(token), rate), what=f"vk {method}")
        base = (account.api_base or API_BASE).rstrip("/")
        data = {k: v for k, v in params.items() if v is not None}
        data["v"] = account.settings.get("api_version", API_VERSION)
        data["access_token"] = token  # in the POST body, never in a URL that could be logged
        what = f"vk {method}"
        response = self._http.send(
            (account.external_id, base),
            "POST",
            f"{base}/method/{method}",
            what=what,
            mutating=mutating,
            data=data,
            timeout=(5.0, float(account.settings.get("http_timeout", HTTP_TIMEOUT))),
            secrets=(token,),
        )
        return json_body(response, what, mutating=mutating)["response"]

    # -- polling (Bots Long Poll) ----------------------------------------------------------------

    def _lp_server(self, account: AccountContext) -> dict[str, Any]:
        info = self._call(account, "groups.getLongPollServer", {"group_id": self._group_id(account)}, mutating=False)
        try:
            server = parse(LongPollServer, info, "groups.getLongPollServer")
        except BadInput as exc:  # VK's answer, not ours to refuse: a later call may be whole again
            raise RetriableError(f"{exc} (in VK's answer)", code="shape") from exc
        return server.model_dump()

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
                raise BadInput("vk: bad long poll cursor (not JSON)") from None
            state = parse(LongPollServer, loaded, "long poll cursor").model_dump()
        wait = int(account.settings.get("poll_wait", DEFAULT_WAIT))
        try:
            resp = self._http.send(
                (account.external_id, "long poll"),
                "GET",
                state["server"],
                what="vk long poll",
                params={"act": "a_check", "key": state["key"], "ts": state["ts"], "wait": wait},
                timeout=(5.0, HTTP_TIMEOUT + wait),
                secrets=(state["key"],),
                check=False,  # the long-poll server speaks its own {"failed": n} protocol, read below
            )
            raw = resp.json()
        except ValueError:
            raise RetriableError(f"vk long poll: HTTP {resp.status_code} not JSON", code="http") from None
        try:
            answer = parse(LongPollCheck, raw, "long poll answer")
        except BadInput as exc:
            raise RetriableError(f"{exc} (in VK's answer)", code="shape") from exc
        failed = answer.failed
        if failed == 1:
            state["ts"] = str(answer.ts)
            return PollPage(mentions=[], cursor=json.dumps(state), more=True)
        if failed == 2:
            fresh = self._lp_server(account)
            state.update(server=fresh["server"], key=fresh["key"])
            return PollPage(mentions=[], cursor=json.dumps(state), more=True)
        if failed == 3:
            log.warning("vk: long poll history lost (failed=3) after ts=%s", state["ts"])
            return PollPage(mentions=[], cursor=json.dumps(self._lp_server(account)), more=True)
        if failed is not None or answer.updates is None:
            raise RetriableError(f"vk long poll: unexpected answer (failed={failed})", code="shape")
        mentions: list[Mention] = []
        skipped: list[Skipped] = []
        group = str(self._group_id(account))
        mode = str(account.settings.get("group_messages") or ADDRESSED)
        for index, event in enumerate(answer.updates):
            # One unreadable event must not wedge the long poll: ts moves past it and the host
            # quarantines it with the reason.
            with item_boundary(f"updates[{index}]", event):
                mentions.extend(parse_event(event, group, group_messages=mode, skipped=skipped))
        self._count(group, skipped)
        state["ts"] = answer.ts if answer.ts is not None else state["ts"]
        return PollPage(mentions=mentions, cursor=json.dumps(state), more=bool(answer.updates))

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
            raise FatalError("vk: a reply needs thread_id ('{owner}_{post}' or '{peer_id}')", code="bad_target")
        if thread.startswith(vk_listen.WALL):
            raise FatalError(
                "vk: the post (found by listening) is on the customer's own wall, where a community cannot "
                "comment; answer the customer by private message",
                code="unsupported",
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
        if owner_id != -self._group_id(account):
            # A post found by listening, on someone else's wall: community tokens comment only on the
            # community's own wall (wall.createComment answers "Access denied"), which must not read as
            # a refused token.
            raise FatalError(
                f"vk: the post is on another wall ({owner_id}); a community can comment only on its own wall, "
                "so answer the customer by private message",
                code="unsupported",
            )
        reply_to = None
        if reply.in_reply_to and reply.in_reply_to != thread:
            owner, reply_to = self._split(reply.in_reply_to, "in_reply_to")
            if owner != owner_id:
                raise FatalError("vk: in_reply_to is on another wall than the thread", code="bad_target")
        photos = photo_attachments(self._call, account, reply.attachments,
                                   group_id=self._group_id(account), peer_id=None)  # fmt: skip
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
                "attachments": photos,
            },
            mutating=True,
        )
        try:
            comment_id = parse(CreatedComment, result, "wall.createComment").comment_id
        except BadInput as exc:  # the comment may exist; the worker reports it rather than posting again
            raise FatalError(f"{exc} (in VK's answer)", code="shape") from exc
        return PostResult(
            external_id=f"{owner_id}_{comment_id}",
            url=f"https://vk.com/wall{owner_id}_{post_id}?reply={comment_id}",
        )

    def _message(self, account: AccountContext, peer_id: int, reply: Reply, reply_cmid: int | None) -> PostResult:
        params: dict[str, Any] = {
            "peer_ids": str(peer_id),  # peer_ids makes VK return conversation_message_id
            "message": reply.text,
            "random_id": random_id_for(reply.idempotency_key),
            "attachments": photo_attachments(self._call, account, reply.attachments, group_id=None, peer_id=peer_id),
        }
        if reply_cmid is not None:
            params["forward"] = json.dumps(
                {"peer_id": peer_id, "conversation_message_ids": [reply_cmid], "is_reply": True}
            )
        result = self._call(account, "messages.send", params, mutating=True)
        try:
            items = parse(SentMessages, result, "messages.send").root
        except BadInput as exc:  # the message may be sent; the worker reports it rather than sending again
            raise FatalError(f"{exc} (in VK's answer)", code="shape") from exc
        if not items:
            raise FatalError("vk messages.send: unexpected answer (no item)", code="shape")
        if items[0].error is not None:  # per-peer failure inside a successful call
            raise vk_api_error("vk messages.send", items[0].error)
        return PostResult(external_id=f"{peer_id}_{items[0].conversation_message_id}")

    def send_private(self, account: AccountContext, reply: Reply) -> PostResult:
        """``messages.send`` to the user; needs them to have written to / allowed the community."""
        self._check_text(reply.text)
        try:
            peer_id = int(reply.recipient_id or "")
        except ValueError:
            raise FatalError("vk: send_private needs a numeric recipient_id", code="bad_target") from None
        return self._message(account, peer_id, reply, None)

    def listen(self, account: AccountContext, terms: list[str], cursor: str | None) -> PollPage:
        """``newsfeed.search`` with the account's service/user token (connectors/vk/listen.py)."""
        token = account.credentials.get("search_token")
        if not token:
            raise FatalError(
                "vk: listening needs a service token or user token (credential search_token): newsfeed.search "
                "refuses community tokens",
                code="no_search_token",
            )

        def search(params: dict[str, Any]) -> Any:
            return self._call(account, "newsfeed.search", params, mutating=False, token=token)

        return vk_listen.listen(account, terms, cursor, self._group_id(account), search)

    def fetch_profile(self, account: AccountContext, author_external_id: str) -> SocialProfile | None:
        try:
            ident = int(author_external_id)
        except ValueError:
            return None
        if ident < 0:
            answer = self._call(account, "groups.getById", {"group_id": -ident}, mutating=False)
            found = self._profile_answer(Groups, answer, "groups.getById").root
            groups = found.groups if isinstance(found, GroupsById) else found
            if not groups:
                return None
            group = groups[0]
            return SocialProfile(
                network="vk",
                external_id=author_external_id,
                handle=group.screen_name,
                name=group.name,
                avatar_url=group.photo_100,
                profile_url=f"https://vk.com/{group.screen_name or f'club{-ident}'}",
            )
        fields = "screen_name,photo_100"
        answer = self._call(account, "users.get", {"user_ids": ident, "fields": fields}, mutating=False)
        users = self._profile_answer(Users, answer, "users.get").root
        if not users:
            return None
        user = users[0]
        name = " ".join(p for p in (user.first_name, user.last_name) if p)
        return SocialProfile(
            network="vk",
            external_id=author_external_id,
            handle=user.screen_name,
            name=name or None,
            avatar_url=user.photo_100,
            profile_url=f"https://vk.com/{user.screen_name or f'id{ident}'}",
        )

    @staticmethod
    def _profile_answer(model: type[M], answer: Any, what: str) -> M:
        try:
            return parse(model, answer, what)
        except BadInput as exc:  # VK's answer, not input from outside: tell an admin, do not answer 400
            raise FatalError(f"{exc} (in VK's answer)", code="shape") from exc

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
