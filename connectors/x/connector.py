"""X (Twitter) API v2 connector: mentions and DMs in by polling or Account Activity webhooks, replies out.

HTTP through ``plugin.http.HttpClient`` against ``https://api.x.com`` (or ``AccountContext.api_base``,
e.g. the sandbox). Error answers are mapped in ``errors.py``; request signing lives in ``auth.py``.
Credential keys read from ``AccountContext.credentials``:

- ``bearer_token``: app-only Bearer token, preferred for reading the mentions timeline and profiles;
- ``user_access_token``: OAuth 2.0 user token (PKCE), preferred for posting, DMs and DM polling;
- ``consumer_key``, ``consumer_secret``, ``access_token``, ``access_token_secret``: OAuth 1.0a user context,
  used for user-context calls when there is no ``user_access_token``;
- ``client_secret`` / ``consumer_secret``: webhook CRC and signature secrets.

Settings read from ``AccountContext.settings``: ``poll_dms`` (default True), ``backfill`` (default False:
the first poll only records where "now" is), ``connect_timeout`` (5 s), ``read_timeout`` (20 s).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import pluggy

from plugin.connector import (
    AccountContext,
    Connector,
    InboundRequest,
    ParseResult,
    PollPage,
    RenewedCredentials,
    WebhookResult,
)
from plugin.errors import (
    AuthError,
    BadInput,
    FatalError,
    OutcomeUnknown,
    RateLimited,
    RetriableError,
    Unauthorized,
)
from plugin.http import HttpClient, fetch_media, json_body
from plugin.longreply import ThreadPart, post_thread, split_numbered
from plugin.models import Attachment, Limits, Mention, PostResult, Reply, SocialProfile

from . import connect as x_connect
from . import listen as x_listen
from . import parse as x_parse
from . import webhook as x_webhook
from .auth import Credential, read_credential, user_credential, write_credential
from .config import XCredentials, XSettings
from .connect import XConnect
from .errors import x_error
from .length import MAX_WEIGHTED_LENGTH, weighted_length
from .ratelimit import RateLimitState

hookimpl = pluggy.HookimplMarker("horseshoe")

DEFAULT_API_BASE = "https://api.x.com"
MAX_POST_LENGTH = MAX_WEIGHTED_LENGTH  # weighted as X counts it (connectors/x/length.py)
MAX_DM_LENGTH = 10_000
PAGE_SIZE = 100

USER_FIELDS = "username,name,profile_image_url,url"
MENTION_PARAMS = {
    "max_results": str(PAGE_SIZE),
    "expansions": "author_id,referenced_tweets.id,attachments.media_keys",
    "tweet.fields": (
        "created_at,author_id,conversation_id,in_reply_to_user_id,referenced_tweets,lang,attachments,"
        "entities,note_tweet"
    ),
    "user.fields": USER_FIELDS,
    "media.fields": "url,preview_image_url,type",
}
DM_PARAMS = {
    "max_results": str(PAGE_SIZE),
    "event_types": "MessageCreate",
    "dm_event.fields": ("id,text,event_type,created_at,sender_id,dm_conversation_id,attachments,referenced_tweets"),
    "expansions": "sender_id",
    "user.fields": USER_FIELDS,
}

EP_MENTIONS = "GET /2/users/:id/mentions"
EP_DM_EVENTS = "GET /2/dm_events"
EP_USER = "GET /2/users/:id"
EP_POST = "POST /2/tweets"
EP_UPLOAD = "POST /2/media/upload"
MAX_MEDIA = 4  # images per post
MAX_IMAGE_BYTES = 5 * 1024 * 1024  # "Images: 5 MB" (Upload media guide)
EP_DM_SEND = "POST /2/dm_conversations/with/:participant_id/messages"


def _flag(value: Any) -> bool:
    """Settings may come from TOML (bool) or env vars (text): "false", "0", "no", "off" are False."""
    if isinstance(value, str):
        return value.strip().lower() not in {"", "0", "false", "no", "off"}
    return bool(value)


def _id_le(a: str, b: str) -> bool:
    """Snowflake order: numeric compare (ids grow over time), by length first for non-digit safety."""
    return (len(a), a) <= (len(b), b)


class _Cursor:
    """The opaque poll cursor: committed positions plus the in-progress page of each stream."""

    def __init__(self, raw: str | None):
        self.mentions: dict[str, str | None] = {"since_id": None, "next": None, "newest": None}
        self.dms: dict[str, str | None] = {"seen": None, "next": None, "newest": None}
        if raw is None:
            return
        try:
            data = json.loads(raw)
            for name, target in (("m", self.mentions), ("d", self.dms)):
                part = data[name]
                for key in target:
                    value = part.get(key)
                    if value is not None and not isinstance(value, str):
                        raise TypeError(key)
                    target[key] = value
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise FatalError(f"unreadable X poll cursor: {exc}", code="bad_cursor") from exc

    def dump(self) -> str:
        return json.dumps({"v": 1, "m": self.mentions, "d": self.dms}, sort_keys=True)


class XConnector(Connector):
    name = "x"
    display_name = "X"
    link_hosts = ("x.com", "twitter.com")

    credentials_model = XCredentials
    settings_model = XSettings

    def __init__(self, *, clock: Callable[[], float] = time.time):
        self._clock = clock
        self._limits = RateLimitState(clock)
        # Error answers are mapped in _call (they also feed the per-token rate-limit memory).
        self._http = HttpClient("x", user_agent="horseshoe-x/0.1")

    # ------------------------------------------------------------ HTTP

    @staticmethod
    def _base(account: AccountContext) -> str:
        return (account.api_base or DEFAULT_API_BASE).rstrip("/")

    @staticmethod
    def _timeout(account: AccountContext) -> tuple[float, float]:
        return (
            float(account.settings.get("connect_timeout", 5.0)),
            float(account.settings.get("read_timeout", 20.0)),
        )

    def _call(
        self,
        account: AccountContext,
        cred: Credential,
        method: str,
        endpoint: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
        form: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        self._limits.check(cred.token_id, endpoint)
        base = self._base(account)
        response = self._http.send(
            (account.external_id, base),
            method,
            base + path,
            what=f"X {endpoint}",
            params=params,
            json=body,
            files=files,
            data=form,
            auth=cred.auth,
            timeout=self._timeout(account),
            check=False,  # the rate-limit memory reads the headers of error answers too
        )
        self._limits.record(cred.token_id, endpoint, response.headers)
        error = x_error(response, endpoint, now=self._clock())
        if error is not None:
            if isinstance(error, RateLimited) and error.retry_after is not None:
                self._limits.block(cred.token_id, endpoint, self._clock() + error.retry_after)
            raise error
        data = json_body(response, f"X {endpoint}", mutating=method != "GET")
        if not isinstance(data, dict):
            raise RetriableError(f"X {endpoint}: unexpected body type", code="bad_body")
        return data

    # ------------------------------------------------------------ credentials

    @staticmethod
    def _need(cred: Credential | None, what: str) -> Credential:
        if cred is None:
            raise AuthError(f"X account has no credentials usable to {what}", code="missing_credentials")
        return cred

    # ------------------------------------------------------------ parsing

    def connect_flow(self) -> XConnect:
        return XConnect()

    def refresh_credentials(self, account: AccountContext) -> RenewedCredentials | None:
        return x_connect.refresh(account)  # the OAuth 2.0 refresh grant (2-hour user tokens)

    def renews_tokens(self, account: AccountContext) -> bool:
        given = account.credentials
        return bool(given.get("refresh_token") and given.get("oauth2_client_id") and given.get("oauth2_client_secret"))

    def parse_payload(self, payload: Any, account: str | None = None) -> list[Mention]:
        return x_parse.parse(payload, account)

    def explain_payload(self, payload: Any, account: str | None = None) -> ParseResult:
        result = ParseResult()
        result.mentions.extend(x_parse.parse(payload, account, result.skipped))
        return result

    # ------------------------------------------------------------ polling

    def poll(self, account: AccountContext, cursor: str | None) -> PollPage:
        state = _Cursor(cursor)
        poll_dms = _flag(account.settings.get("poll_dms", True))
        if cursor is None and not _flag(account.settings.get("backfill", False)):
            self._baseline(account, state, poll_dms)
            return PollPage(mentions=[], cursor=state.dump(), more=False)

        mentions: list[Mention] = []
        # Finish a stream's unfinished cycle before starting anything new.
        if state.mentions["next"] is None and state.dms["next"] is not None and poll_dms:
            mentions += self._dm_step(account, state)
            return PollPage(mentions, state.dump(), more=state.dms["next"] is not None)
        mentions += self._mention_step(account, state)
        if state.mentions["next"] is not None:
            return PollPage(mentions, state.dump(), more=True)
        if poll_dms:
            mentions += self._dm_step(account, state)
        return PollPage(mentions, state.dump(), more=state.dms["next"] is not None)

    def listen(self, account: AccountContext, terms: list[str], cursor: str | None) -> PollPage:
        """Recent search for posts naming ``terms`` (connectors/x/listen.py): one request per call."""
        cred = self._need(read_credential(account.credentials), "search posts")

        def call(params: dict[str, str]) -> dict[str, Any]:
            return self._call(account, cred, "GET", x_listen.EP_SEARCH, "/2/tweets/search/recent", params=params)

        return x_listen.listen(account, terms, cursor, call, MENTION_PARAMS)

    def _baseline(self, account: AccountContext, state: _Cursor, poll_dms: bool) -> None:
        """'Start now': remember the newest mention and DM so only later ones are fetched."""
        cred = self._need(read_credential(account.credentials), "read mentions")
        path = f"/2/users/{account.external_id}/mentions"
        page = self._call(account, cred, "GET", EP_MENTIONS, path, params={"max_results": "5"})
        state.mentions["since_id"] = _meta(page).get("newest_id")
        if poll_dms:
            dm_cred = self._need(user_credential(account.credentials), "read DMs (set poll_dms false)")
            params = {"max_results": "1", "event_types": "MessageCreate"}
            page = self._call(account, dm_cred, "GET", EP_DM_EVENTS, "/2/dm_events", params=params)
            events = _data_list(page)
            state.dms["seen"] = _event_id(events[0]) if events else None

    def _mention_step(self, account: AccountContext, state: _Cursor) -> list[Mention]:
        """One page of the mentions timeline. since_id only moves once the whole cycle is consumed."""
        cred = self._need(read_credential(account.credentials), "read mentions")
        m = state.mentions
        params = dict(MENTION_PARAMS)
        if m["since_id"]:
            params["since_id"] = m["since_id"]
        first_page = m["next"] is None
        if not first_page:
            params["pagination_token"] = m["next"] or ""
        path = f"/2/users/{account.external_id}/mentions"
        page = self._call(account, cred, "GET", EP_MENTIONS, path, params=params)
        if "data" not in page and "meta" not in page:
            raise FatalError(f"X mentions: {x_parse.first_error(page)}", code="api_error")
        meta = _meta(page)
        if first_page:
            m["newest"] = meta.get("newest_id")
        found = x_parse.parse(page, account.external_id) if "data" in page else []
        next_token = meta.get("next_token")
        if next_token:
            m["next"] = next_token
        else:
            m["since_id"] = m["newest"] or m["since_id"]
            m["next"] = None
            m["newest"] = None
        return found

    def _dm_step(self, account: AccountContext, state: _Cursor) -> list[Mention]:
        """One page of DM events, newest first, stopping at the newest event seen in an earlier cycle."""
        cred = self._need(user_credential(account.credentials), "read DMs (set poll_dms false)")
        d = state.dms
        params = dict(DM_PARAMS)
        first_page = d["next"] is None
        if not first_page:
            params["pagination_token"] = d["next"] or ""
        page = self._call(account, cred, "GET", EP_DM_EVENTS, "/2/dm_events", params=params)
        events = _data_list(page)
        if first_page:
            d["newest"] = _event_id(events[0]) if events else None
        fresh: list[Any] = []
        reached_seen = False
        for event in events:
            event_id = _event_id(event)
            if d["seen"] is not None and _id_le(event_id, d["seen"]):
                reached_seen = True
                break
            fresh.append(event)
        found = x_parse.parse({"data": fresh, "includes": page.get("includes") or {}}, account.external_id)
        next_token = _meta(page).get("next_token")
        if next_token and not reached_seen and events:
            d["next"] = next_token
        else:
            d["seen"] = d["newest"] or d["seen"]
            d["next"] = None
            d["newest"] = None
        return found

    # ------------------------------------------------------------ webhooks

    def verify_request(self, request: InboundRequest, secrets: Mapping[str, str]) -> bool:
        if request.method.upper() == "GET":
            token = request.query.get("crc_token")
            secret = x_webhook.crc_secret(secrets)
            return bool(token) and secret is not None and len(token or "") <= x_webhook.MAX_CRC_TOKEN
        if request.method.upper() == "POST":
            return x_webhook.verify_signature(request.headers, request.body, secrets)
        return False

    def parse_webhook(self, request: InboundRequest, secrets: Mapping[str, str]) -> WebhookResult:
        if request.method.upper() == "GET":
            token = request.query.get("crc_token")
            if not token:
                raise BadInput("X CRC request without crc_token")
            secret = x_webhook.crc_secret(secrets)
            if secret is None:
                raise Unauthorized("no client_secret or consumer_secret configured for the X CRC")
            answer = json.dumps({"response_token": x_webhook.crc_response_token(secret, token)})
            return WebhookResult(handshake=(200, "application/json", answer))
        try:
            body = json.loads(request.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise BadInput(f"X webhook body is not JSON: {exc}") from exc
        if isinstance(body, dict) and "for_user_id" not in body:
            if "user_event" in body or "replay_job_status" in body:
                return WebhookResult()  # revocations and replay notices carry no mentions
            raise BadInput("X webhook body has no for_user_id (not an Account Activity event)")
        return WebhookResult(mentions=x_parse.parse(body, None))

    # ------------------------------------------------------------ publishing

    def post_reply(self, account: AccountContext, reply: Reply) -> PostResult:
        if not reply.in_reply_to:
            raise FatalError("an X reply needs in_reply_to (the post answered)", code="no_target")
        # Too long for one post: a numbered thread, each part answering the previous one. X takes the
        # same text twice, so a thread stopped half-way is never resumed automatically (OutcomeUnknown).
        parts = split_numbered(
            reply.text, MAX_POST_LENGTH, weighted_length, what="weighted characters (CJK and emoji 2, links 23)"
        )
        cred = self._need(write_credential(account.credentials), "post")
        # Images are uploaded before anything is posted (a failed upload publishes nothing) and ride
        # on the first part, the reply proper.
        if len(reply.attachments) > MAX_MEDIA:
            raise FatalError(f"{len(reply.attachments)} attachments; an X post carries at most {MAX_MEDIA} images",
                             code="bad_attachment")  # fmt: skip
        media_ids = [self._upload(account, cred, a) for a in reply.attachments]

        def post(part: ThreadPart) -> PostResult:
            body: dict[str, Any] = {"text": part.text, "reply": {"in_reply_to_tweet_id": part.in_reply_to}}
            if media_ids and part.index == 1:
                body["media"] = {"media_ids": media_ids}
            data = self._call(account, cred, "POST", EP_POST, "/2/tweets", body=body)
            post_id = _created_id(data, "id", EP_POST)
            return PostResult(external_id=post_id, url=x_parse.status_url(post_id, account.handle))

        if len(parts) == 1:
            return post(ThreadPart(1, 1, parts[0], reply.in_reply_to))
        return post_thread(parts, reply.in_reply_to, post, resumable=False)

    def _upload(self, account: AccountContext, cred: Credential, attachment: Attachment) -> str:
        """``POST /2/media/upload`` (one request, multipart ``media`` + ``media_category``) -> media id."""
        media = fetch_media(attachment, max_bytes=MAX_IMAGE_BYTES, network="X")
        files = {"media": (media.filename, media.content, media.mime_type)}
        data = self._call(account, cred, "POST", EP_UPLOAD, "/2/media/upload", files=files,
                          form={"media_category": "tweet_image"})  # fmt: skip
        return _created_id(data, "id", EP_UPLOAD)

    def send_private(self, account: AccountContext, reply: Reply) -> PostResult:
        if not reply.recipient_id:
            raise FatalError("an X DM needs recipient_id (the author's user id)", code="no_recipient")
        if reply.attachments:
            # Never dropped silently: X DMs can carry an image (dm_image upload) but horseshoe does not
            # send one yet, so the agent is told instead.
            raise FatalError("X direct messages with an image are not supported by horseshoe yet", code="unsupported")
        if len(reply.text) > MAX_DM_LENGTH:
            raise FatalError(f"DM is {len(reply.text)} characters; X allows {MAX_DM_LENGTH}", code="text_too_long")
        cred = self._need(user_credential(account.credentials), "send DMs")
        path = f"/2/dm_conversations/with/{reply.recipient_id}/messages"
        data = self._call(account, cred, "POST", EP_DM_SEND, path, body={"text": reply.text})
        return PostResult(external_id=_created_id(data, "dm_event_id", EP_DM_SEND))

    # ------------------------------------------------------------ profiles

    def fetch_profile(self, account: AccountContext, author_external_id: str) -> SocialProfile | None:
        cred = self._need(read_credential(account.credentials), "read profiles")
        params = {"user.fields": "username,name,profile_image_url,url,entities"}
        data = self._call(account, cred, "GET", EP_USER, f"/2/users/{author_external_id}", params=params)
        user = data.get("data")
        if not isinstance(user, dict):
            return None  # X answers 200 with only "errors" (resource-not-found) for unknown users
        username = user.get("username")
        return SocialProfile(
            network=self.name,
            external_id=str(user.get("id") or author_external_id),
            handle=username,
            name=user.get("name"),
            avatar_url=user.get("profile_image_url"),
            profile_url=f"{x_parse.WEB}/{username}" if username else None,
            website=_expanded_profile_url(user),
        )

    def limits(self) -> Limits:
        # Mentions timeline: 300 requests / 15 min per user (450 app-only); DMs are 15 / 15 min per user.
        return Limits(
            max_text_length=MAX_POST_LENGTH,
            requests_per_window=300,
            window_seconds=900,
            poll_interval_seconds=60,
            page_size=PAGE_SIZE,
        )


# ---------------------------------------------------------------- helpers


def _meta(page: Mapping[str, Any]) -> dict[str, str]:
    meta = page.get("meta")
    if not isinstance(meta, dict):
        return {}
    return {k: str(v) for k, v in meta.items() if v is not None}


def _data_list(page: Mapping[str, Any]) -> list[Any]:
    data = page.get("data")
    if data is None:
        return []
    if not isinstance(data, list):
        raise RetriableError("X answered a list endpoint without a data array", code="bad_body")
    return data


def _event_id(event: Any) -> str:
    if not isinstance(event, dict) or not isinstance(event.get("id"), str):
        raise RetriableError("X DM event without an id", code="bad_body")
    return str(event["id"])


def _created_id(data: Mapping[str, Any], key: str, endpoint: str) -> str:
    created = data.get("data")
    value = created.get(key) if isinstance(created, dict) else None
    if not isinstance(value, str) or not value:
        # X said 2xx, so it was created; without the id we cannot link it: an agent must look.
        raise OutcomeUnknown(f"X {endpoint} succeeded without returning {key}")
    return value


def _expanded_profile_url(user: Mapping[str, Any]) -> str | None:
    entities = user.get("entities")
    if isinstance(entities, dict):
        urls = (entities.get("url") or {}).get("urls") if isinstance(entities.get("url"), dict) else None
        if isinstance(urls, list) and urls and isinstance(urls[0], dict) and urls[0].get("expanded_url"):
            return str(urls[0]["expanded_url"])
    url = user.get("url")
    return str(url) if url else None


@hookimpl
def horseshoe_register_connectors() -> list[Connector]:
    return [XConnector()]
