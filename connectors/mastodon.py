"""Mastodon connector: mentions in by polling notifications, replies out as statuses, via Mastodon.py.

Mastodon has no webhooks for user accounts, so this connector is poll-only (``verify_request`` is always
False). Everything follows docs.joinmastodon.org:

* poll: ``GET /api/v1/notifications?types[]=mention&min_id=<cursor>`` (methods/notifications). With
  ``min_id`` the server returns the ``limit`` oldest notifications newer than the cursor, so walking
  forward page by page never skips one; the new cursor is the ``min_id`` of the ``rel="prev"`` Link
  (the newest id on the page). The cursor is the last notification id handed to the host, so a restart
  resumes exactly there (nothing lost, nothing repeated).
* reply: ``POST /api/v1/statuses`` with ``in_reply_to_id``, the original's visibility (a direct
  mention stays direct) and an ``Idempotency-Key`` header (Mastodon.py's ``idempotency_key``), which
  Mastodon honours for an hour (methods/statuses).
* errors: ``{"error": "..."}`` with 401/404/422/429/5xx; rate limits in ``X-RateLimit-*`` (api/rate-limits,
  300 requests per 5 minutes per account). Mastodon.py runs in ``ratelimit_method="throw"`` so the host's
  worker, not a sleeping client, decides when to retry; the reset time comes from the client's parsed
  ``ratelimit_reset``.

Identity: ``author.external_id`` is the account id on the brand's instance (stable there; DESIGN.md),
``handle`` is the full ``user@domain`` so it is globally unambiguous.

Account settings (``AccountContext.settings``): ``notification_types`` (default ``["mention"]``; add
``"update"`` to receive edits), ``exclude_types`` (optional), ``page_size`` (≤ 80, default 40),
``resolve_thread_root`` (default True: one ``/context`` call per reply mention to find the thread root),
``timeout`` (seconds, default 30). Credentials: ``access_token``. ``AccountContext.api_base`` is the
instance URL (required, e.g. ``https://mastodon.social``).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from datetime import datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlparse

import pluggy
import requests
from mastodon import (
    Mastodon,
    MastodonAPIError,
    MastodonNetworkError,
    MastodonNotFoundError,
    MastodonRatelimitError,
    MastodonServerError,
    MastodonUnauthorizedError,
)
from pydantic import ValidationError

from plugin.connector import AccountContext, Connector, PollPage
from plugin.errors import AuthError, BadInput, FatalError, OutcomeUnknown, RateLimited, RetriableError
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

hookimpl = pluggy.HookimplMarker("horseshoe")

NETWORK = "mastodon"
DEFAULT_MAX_CHARACTERS = 500  # docs: Instance configuration.statuses.max_characters default
DEFAULT_PAGE_SIZE = 40  # docs: notifications default 40, max 80 (4.1.0)
MAX_PAGE_SIZE = 80
# Notification types that carry a status a customer wrote to or about the brand.
_STATUS_TYPES = {"mention": "created", "status": "created", "quote": "created", "update": "edited"}


# ---- HTML → text ----------------------------------------------------------------------------------


class _TextExtractor(HTMLParser):
    """Plain text from a status' HTML ``content``: paragraphs become blank lines, <br> a line break."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._paragraphs = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag == "p":
            if self._paragraphs:
                self.parts.append("\n\n")
            self._paragraphs += 1

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(content: str) -> str:
    parser = _TextExtractor()
    parser.feed(content)
    parser.close()
    return "".join(parser.parts).strip()


# ---- payload normalization -------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _created_at(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise BadInput(f"created_at is not a datetime: {value!r}") from exc
    raise BadInput("created_at is missing")


def _host(url: Any) -> str | None:
    if not isinstance(url, str):
        return None
    host = urlparse(url).hostname
    return host or None


def full_acct(account: Mapping[str, Any]) -> str | None:
    """``user@domain`` for any account: local accounts' ``acct`` lacks the domain (docs: Account)."""
    acct = _text(account.get("acct"))
    if not acct:
        return None
    if "@" in acct:
        return acct
    host = _host(account.get("url"))
    return f"{acct}@{host}" if host else acct


def _author(account: Any) -> Author:
    if not isinstance(account, Mapping) or not account.get("id"):
        raise BadInput("status.account.id is missing")
    try:
        return _build_author(account)
    except ValidationError as exc:
        raise BadInput("status.account does not normalize") from exc


def _build_author(account: Mapping[str, Any]) -> Author:
    return Author(
        external_id=str(account["id"]),
        handle=full_acct(account),
        name=_text(account.get("display_name")) or _text(account.get("username")),
        avatar_url=_text(account.get("avatar")),
        profile_url=_text(account.get("url")),
    )


def status_to_mention(
    status: Mapping[str, Any], account: str, *, event: str = "created", reason: str = "mention"
) -> Mention:
    """One Status entity (docs: entities/Status) as a normalized mention."""
    if not isinstance(status, Mapping) or not status.get("id"):
        raise BadInput("status.id is missing")
    status_id = str(status["id"])
    parent = _text(status.get("in_reply_to_id"))
    visibility = _text(status.get("visibility")) or "public"
    if visibility == "direct":
        kind = Kind.DIRECT
    elif reason == "quote" or status.get("quote"):
        kind = Kind.QUOTE
    elif parent:
        kind = Kind.REPLY
    else:
        kind = Kind.POST
    content = status.get("content")
    if content is not None and not isinstance(content, str):
        raise BadInput("status.content is not a string")
    media = status.get("media_attachments") or []
    if not isinstance(media, list):
        raise BadInput("status.media_attachments is not a list")
    attachments = [
        Attachment(url=str(m.get("url") or m.get("remote_url")), type=str(m.get("type") or "file"))
        for m in media
        if isinstance(m, Mapping) and (m.get("url") or m.get("remote_url"))
    ]
    author = _author(status.get("account"))
    try:
        return _build_mention(
            status, status_id, parent, kind, visibility, content, attachments, author, account, event
        )
    except ValidationError as exc:
        raise BadInput(f"status does not normalize: {exc.errors()[0].get('msg')}") from exc


def _build_mention(
    status: Mapping[str, Any],
    status_id: str,
    parent: str | None,
    kind: Kind,
    visibility: str,
    content: str | None,
    attachments: list[Attachment],
    author: Author,
    account: str,
    event: str,
) -> Mention:
    return Mention(
        network=NETWORK,
        external_id=status_id,
        # Without a lookup the thread root is unknown; the parent is the best cheap guess and
        # ``MastodonConnector.poll`` replaces it with the real root when resolving is enabled.
        thread_id=parent or status_id,
        parent_id=parent,
        kind=kind,
        visibility=Visibility.PRIVATE if visibility == "direct" else Visibility.PUBLIC,
        author=author,
        text=html_to_text(content or ""),
        created_at=_created_at(status.get("created_at")),
        url=_text(status.get("url")) or _text(status.get("uri")),
        lang=_text(status.get("language")),
        attachments=attachments,
        account=account,
        event="edited" if event == "edited" else "created",
        extra={
            "visibility": visibility,
            "acct": author.handle,
            "in_reply_to_account_id": _text(status.get("in_reply_to_account_id")),
            "thread_root_resolved": parent is None,
        },
    )


def notification_to_mention(notification: Mapping[str, Any], account: str) -> Mention | None:
    """A Notification entity; None for types that carry no customer status (follow, favourite...)."""
    if not isinstance(notification, Mapping) or not notification.get("id") or not notification.get("type"):
        raise BadInput("notification needs id and type")
    kind = str(notification["type"])
    if kind not in _STATUS_TYPES or not notification.get("status"):
        return None
    status = notification["status"]
    if not isinstance(status, Mapping):
        raise BadInput("notification.status is not an object")
    mention = status_to_mention(status, account, event=_STATUS_TYPES[kind], reason=kind)
    extra = {**mention.extra, "notification_id": str(notification["id"]), "notification_type": kind}
    return mention.model_copy(update={"extra": extra})


def parse_mastodon_payload(payload: Any, account: str | None = None) -> list[Mention]:
    """Notifications array, a single Notification or Status, or a streaming event envelope."""
    brand = account or "unknown"
    if isinstance(payload, list):
        mentions = []
        for item in payload:
            if not isinstance(item, Mapping):
                raise BadInput("notification list items must be objects")
            found = notification_to_mention(item, brand)
            if found is not None:
                mentions.append(found)
        return mentions
    if not isinstance(payload, Mapping):
        raise BadInput("expected a JSON object or array")
    if "event" in payload and "payload" in payload:
        return _parse_stream_event(payload, brand)
    if "type" in payload and "account" in payload and "content" not in payload:
        found = notification_to_mention(payload, brand)
        return [found] if found else []
    if "content" in payload:
        return [status_to_mention(payload, brand)]
    raise BadInput("not a Mastodon notification or status")


def _parse_stream_event(envelope: Mapping[str, Any], account: str) -> list[Mention]:
    """Streaming API events (methods/streaming): ``notification`` and ``status.update`` carry JSON."""
    import json

    event = str(envelope["event"])
    raw = envelope["payload"]
    if event not in ("notification", "status.update", "update"):
        return []  # delete, filters_changed, ... carry no mention we can build
    try:
        body = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError as exc:
        raise BadInput("streaming payload is not JSON") from exc
    if not isinstance(body, Mapping):
        raise BadInput("streaming payload is not an object")
    if event == "notification":
        found = notification_to_mention(body, account)
        return [found] if found else []
    return [status_to_mention(body, account, event="edited" if event == "status.update" else "created")]


# ---- id ordering ------------------------------------------------------------------------------------


def _id_key(value: str) -> tuple[int, str]:
    """Mastodon ids are integers cast to strings; compare by length then text."""
    return (len(value), value)


# ---- error translation --------------------------------------------------------------------------------


def _cause(exc: BaseException) -> BaseException | None:
    return exc.__cause__ or exc.__context__


def _translate(exc: Exception, api: Mastodon, *, posting: bool) -> Exception:
    """Mastodon.py exceptions → horseshoe's taxonomy (plugin/errors.py)."""
    if isinstance(exc, MastodonRatelimitError):
        reset = getattr(api, "ratelimit_reset", None)
        retry_after = max(float(reset) - time.time(), 1.0) if reset else None
        return RateLimited("Mastodon rate limit reached", retry_after=retry_after, code="rate_limited")
    if isinstance(exc, MastodonNetworkError):
        cause = _cause(exc)
        label = type(cause).__name__ if cause else str(exc)
        if posting and not _never_sent(cause):
            # The status may exist (read timeout, connection dropped after sending). The
            # Idempotency-Key makes a retry within the hour safe, but that is the worker's call.
            return OutcomeUnknown(f"Mastodon did not answer the post: {label}")
        return RetriableError(f"cannot reach Mastodon: {label}", code="network")
    if posting and _status(exc) == 504:
        return OutcomeUnknown("Mastodon's gateway timed out while the status was being posted")
    if isinstance(exc, MastodonServerError):
        return RetriableError(f"Mastodon server error: {_message(exc)}", code="server_error")
    if isinstance(exc, MastodonUnauthorizedError):
        return AuthError(f"Mastodon rejected the access token: {_message(exc)}", code="unauthorized")
    if isinstance(exc, MastodonNotFoundError):
        return FatalError(f"not found on Mastodon: {_message(exc)}", code="not_found")
    if isinstance(exc, MastodonAPIError):
        status = _status(exc)
        if status == 403:
            return AuthError(f"Mastodon refused the action: {_message(exc)}", code="forbidden")
        if status == 422:
            return FatalError(f"Mastodon rejected the status: {_message(exc)}", code="rejected")
        if status == 429:
            return RateLimited("Mastodon rate limit reached", code="rate_limited")
        if status is not None and status >= 500:
            return RetriableError(f"Mastodon server error: {_message(exc)}", code="server_error")
        return FatalError(f"Mastodon error: {_message(exc)}", code="api_error")
    return exc


def _never_sent(cause: BaseException | None) -> bool:
    """True when the request provably never reached the server (connect failed)."""
    if isinstance(cause, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(cause, requests.exceptions.ConnectionError):
        text = str(cause)
        return "NewConnectionError" in text or "Connection refused" in text
    return False


def _status(exc: Exception) -> int | None:
    # Mastodon.py raises ('Mastodon API returned error', status, reason, error message).
    if len(exc.args) >= 2 and isinstance(exc.args[1], int):
        return exc.args[1]
    return None


def _message(exc: MastodonAPIError) -> str:
    if len(exc.args) >= 4 and exc.args[3]:
        return str(exc.args[3])
    if len(exc.args) >= 3 and exc.args[2]:
        return str(exc.args[2])
    return str(exc.args[0]) if exc.args else type(exc).__name__


# ---- the connector -------------------------------------------------------------------------------------


class MastodonConnector(Connector):
    """Poll-only connector for a brand account on any Mastodon instance."""

    name = NETWORK
    display_name = "Mastodon"

    def __init__(self) -> None:
        # Cheap caches shared across calls: the thread root of a status never changes, and an
        # instance's character limit is configuration. Both bounded, guarded by one lock.
        self._lock = threading.Lock()
        self._roots: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._max_chars: dict[str, int] = {}

    # -- plumbing

    def _api(self, account: AccountContext) -> Mastodon:
        token = account.credentials.get("access_token")
        if not token:
            raise AuthError("Mastodon account has no access_token", code="missing_credentials")
        if not account.api_base:
            raise FatalError("Mastodon account needs api_base (the instance URL)", code="missing_api_base")
        return Mastodon(
            access_token=token,
            api_base_url=account.api_base.rstrip("/"),
            ratelimit_method="throw",
            version_check_mode="none",
            request_timeout=float(account.settings.get("timeout", 30)),
        )

    def _call(self, api: Mastodon, func: Any, *args: Any, posting: bool = False, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (MastodonAPIError, MastodonNetworkError, MastodonRatelimitError) as exc:
            raise _translate(exc, api, posting=posting) from exc

    # -- webhooks: none on Mastodon

    def verify_request(self, request: Any, secrets: Mapping[str, str]) -> bool:
        """Always False: Mastodon offers no webhooks for user accounts; this connector only polls."""
        return False

    def parse_payload(self, payload: Any, account: str | None = None) -> list[Mention]:
        return parse_mastodon_payload(payload, account)

    # -- receive

    def poll(self, account: AccountContext, cursor: str | None) -> PollPage:
        """One page of new mention notifications after ``cursor`` (a notification id).

        ``cursor=None`` starts now: the newest page is taken (a small backfill) and its newest id
        becomes the cursor. ``more=True`` means the page was full and the next one may be waiting.
        """
        api = self._api(account)
        page_size = max(1, min(int(account.settings.get("page_size", DEFAULT_PAGE_SIZE)), MAX_PAGE_SIZE))
        types = list(account.settings.get("notification_types") or ["mention"])
        exclude = account.settings.get("exclude_types") or None
        kwargs: dict[str, Any] = {"types": types, "limit": page_size}
        if exclude:
            kwargs["exclude_types"] = list(exclude)
        if cursor:
            kwargs["min_id"] = cursor
        page = self._call(api, api.notifications, **kwargs)
        items = sorted((dict(n) for n in page), key=lambda n: _id_key(str(n["id"])))
        if not items:
            # Starting on an empty inbox: "now" is before every future id, so walk from the start.
            return PollPage(mentions=[], cursor=cursor or "0", more=False)
        newest = str(items[-1]["id"])
        prev = getattr(page, "_pagination_prev", None)
        link_min = str(prev["min_id"]) if prev and prev.get("min_id") is not None else None
        # The Link header's min_id is the page's newest id; fall back to our own reading of the page.
        next_cursor = link_min if link_min and _id_key(link_min) >= _id_key(newest) else newest
        mentions = []
        for item in items:
            found = notification_to_mention(item, account.external_id)
            if found is None:
                continue
            mentions.append(self._with_root(api, account, found))
        # A full page after a cursor means more may be waiting; the first poll (no cursor) only
        # takes the newest page, by design.
        more = bool(cursor) and len(items) >= page_size
        return PollPage(mentions=mentions, cursor=next_cursor, more=more)

    def _with_root(self, api: Mastodon, account: AccountContext, mention: Mention) -> Mention:
        if not mention.parent_id or not account.settings.get("resolve_thread_root", True):
            return mention
        key = (account.api_base or "", mention.parent_id)
        with self._lock:
            root = self._roots.get(key)
        if root is None:
            try:
                context = self._call(api, api.status_context, mention.external_id)
            except FatalError:
                # The parent chain is not visible to us (deleted, private): keep the parent.
                return mention
            ancestors = list(context.get("ancestors") or [])
            root = str(ancestors[0]["id"]) if ancestors else mention.parent_id
            with self._lock:
                self._roots[key] = root
                while len(self._roots) > 4096:
                    self._roots.popitem(last=False)
        extra = {**mention.extra, "thread_root_resolved": True}
        return mention.model_copy(update={"thread_id": root, "extra": extra})

    # -- send

    def _max_characters(self, api: Mastodon, account: AccountContext) -> int:
        base = account.api_base or ""
        with self._lock:
            if base in self._max_chars:
                return self._max_chars[base]
        try:
            instance = self._call(api, api.instance_v2)
            value = int(instance["configuration"]["statuses"]["max_characters"])
        except (KeyError, TypeError, ValueError, FatalError):
            value = DEFAULT_MAX_CHARACTERS  # older instances: the documented default
        with self._lock:
            self._max_chars[base] = value
        return value

    def _publish(self, api: Mastodon, account: AccountContext, text: str, **kwargs: Any) -> PostResult:
        limit = self._max_characters(api, account)
        if len(text) > limit:
            raise FatalError(
                f"reply is {len(text)} characters; this instance allows {limit}", code="too_long"
            )
        status = self._call(api, api.status_post, text, posting=True, **kwargs)
        return PostResult(
            external_id=str(status["id"]), url=_text(status.get("url")) or _text(status.get("uri"))
        )

    @staticmethod
    def _addressed(text: str, acct: str | None) -> str:
        """Prefix ``@acct`` unless the text already mentions the author (needed for direct to reach them)."""
        if not acct:
            return text
        lowered = text.lower()
        local = acct.split("@", 1)[0].lower()
        if f"@{acct.lower()}" in lowered or lowered.startswith(f"@{local} ") or lowered == f"@{local}":
            return text
        return f"@{acct} {text}"

    def post_reply(self, account: AccountContext, reply: Reply) -> PostResult:
        """Reply in the thread of ``reply.in_reply_to`` with the original's visibility."""
        if not reply.in_reply_to:
            raise FatalError("a Mastodon reply needs in_reply_to (the status id)", code="missing_parent")
        api = self._api(account)
        original = self._call(api, api.status, reply.in_reply_to)
        visibility = str(original.get("visibility") or "public")
        if reply.visibility == Visibility.PRIVATE:
            visibility = "direct"
        author = original.get("account") or {}
        # The reply goes from our instance, so the author's acct as our instance sees it addresses them.
        acct = _text(author.get("acct"))
        text = self._addressed(reply.text, acct)
        return self._publish(
            api,
            account,
            text,
            in_reply_to_id=str(original["id"]),
            visibility=visibility,
            idempotency_key=reply.idempotency_key,
        )

    def send_private(self, account: AccountContext, reply: Reply) -> PostResult:
        """A direct status to ``reply.recipient_id`` (an account id), in the thread when given."""
        if not reply.recipient_id:
            raise FatalError("a private Mastodon message needs recipient_id", code="missing_recipient")
        api = self._api(account)
        recipient = self._call(api, api.account, reply.recipient_id)
        text = self._addressed(reply.text, _text(recipient.get("acct")))
        kwargs: dict[str, Any] = {"visibility": "direct", "idempotency_key": reply.idempotency_key}
        if reply.in_reply_to:
            kwargs["in_reply_to_id"] = reply.in_reply_to
        return self._publish(api, account, text, **kwargs)

    def fetch_profile(self, account: AccountContext, author_external_id: str) -> SocialProfile | None:
        api = self._api(account)
        try:
            found = self._call(api, api.account, author_external_id)
        except FatalError as exc:
            if exc.code == "not_found":
                return None
            raise
        website = None
        for item in found.get("fields") or []:
            value = html_to_text(str(item.get("value") or ""))
            if value.startswith(("http://", "https://")):
                website = value
                break
        return SocialProfile(
            network=NETWORK,
            external_id=str(found["id"]),
            handle=full_acct(found),
            name=_text(found.get("display_name")) or _text(found.get("username")),
            avatar_url=_text(found.get("avatar")),
            profile_url=_text(found.get("url")),
            website=website,
        )

    def limits(self) -> Limits:
        return Limits(
            max_text_length=DEFAULT_MAX_CHARACTERS,
            requests_per_window=300,
            window_seconds=300,
            poll_interval_seconds=30,
            page_size=DEFAULT_PAGE_SIZE,
        )


@hookimpl
def horseshoe_register_connectors() -> list[Connector]:
    return [MastodonConnector()]
