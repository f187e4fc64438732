"""Bluesky connector: mentions, replies and quotes in by polling notifications; replies out as posts.

Everything goes through the atproto SDK's ``Client`` (XRPC over httpx). Bluesky has no webhooks for an
account's notifications, so this connector is poll-only (``verify_request`` is always False).

Documented behaviour it relies on (atproto lexicons, docs.bsky.app):

* ``com.atproto.server.createSession`` with the handle/DID and an app password gives an access and a
  refresh JWT. Sessions are kept per account and reused; the SDK refreshes ahead of ``exp`` and this
  connector refreshes once more when the server answers ``ExpiredToken`` / ``InvalidToken`` / 401, then
  logs in again, then gives up with ``AuthError``.
* ``app.bsky.notification.listNotifications`` returns newest first and its ``cursor`` walks into the
  past. The poll cursor therefore stores a high-water mark (newest ``indexedAt`` handed to the host,
  with the URIs sharing it) and, during a multi-page catch-up, the SDK cursor of the next older page and
  the newest item of that catch-up. Each page is handed over before the mark moves, so a crash at any
  point loses nothing; replaying an unsaved page only repeats what the inbox already de-duplicates.
* ``com.atproto.repo.createRecord`` of ``app.bsky.feed.post`` with ``reply.root`` / ``reply.parent``
  strong refs ``{uri, cid}``, ``createdAt``, text ≤ 300 graphemes and a mention facet whose
  ``byteStart``/``byteEnd`` are UTF-8 byte offsets.
* XRPC errors are ``{"error", "message"}``; rate limits come as ``ratelimit-limit/-remaining/-reset/
  -policy`` headers and 429 (the SDK's ``RateLimitExceededError`` exposes them).

ATProto has no idempotency key and the PDS refuses caller-chosen record keys for posts, so a reply is
made idempotent by looking at the brand's latest posts first (``com.atproto.repo.listRecords``): a post
with the same parent and text is the earlier attempt and is returned instead of posting twice.

Credentials: ``identifier`` (handle or DID), ``app_password``. ``AccountContext.api_base``: the PDS
(default ``https://bsky.social``). Settings: ``page_size`` (≤ 100, default 50), ``max_walk_pages``
(default 20), ``chat_enabled`` (default False: ``send_private`` raises ``FatalError(code="unsupported")``),
``dedupe_scan`` (default 25), ``langs`` (default ``["en"]``), ``timeout`` (seconds, default 30).
"""

from __future__ import annotations

import json
import threading
import unicodedata
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import pluggy
from atproto import Client, Session, models
from atproto_client import exceptions as at_exc
from atproto_client.models.utils import get_model_as_dict
from atproto_client.request import Request
from pydantic import ValidationError

from plugin.connector import AccountContext, Connector, PollPage
from plugin.errors import AuthError, BadInput, FatalError, OutcomeUnknown, RateLimited, RetriableError
from plugin.models import Author, Kind, Limits, Mention, PostResult, Reply, SocialProfile, Visibility

hookimpl = pluggy.HookimplMarker("horseshoe")

NETWORK = "bluesky"
DEFAULT_PDS = "https://bsky.social"
MAX_GRAPHEMES = 300  # app.bsky.feed.post#text maxGraphemes
REASONS = ("mention", "reply", "quote")
_AUTH_ERRORS = {"ExpiredToken", "InvalidToken", "AuthenticationRequired"}
T = TypeVar("T")


# ---- text helpers --------------------------------------------------------------------------------------


def grapheme_count(text: str) -> int:
    """Extended grapheme clusters, approximately: combining marks, ZWJ sequences, variation selectors,
    skin-tone modifiers, tags and regional-indicator pairs extend the previous cluster."""
    count = 0
    previous = ""
    regional_open = False
    for ch in text:
        code = ord(ch)
        extends = (
            unicodedata.combining(ch) != 0
            or unicodedata.category(ch) in ("Mc", "Me")
            or 0xFE00 <= code <= 0xFE0F
            or 0x1F3FB <= code <= 0x1F3FF
            or 0xE0020 <= code <= 0xE007F
            or code == 0x200D
            or previous == "\u200d"
        )
        if 0x1F1E6 <= code <= 0x1F1FF:
            extends = regional_open
            regional_open = not regional_open
        else:
            regional_open = False
        if not extends or count == 0:
            count += 1
        previous = ch
    return count


def mention_facet(text: str, handle: str, did: str) -> dict[str, Any] | None:
    """A mention facet for the first ``@handle`` in ``text``, with UTF-8 byte offsets."""
    tag = f"@{handle}".encode()
    start = text.encode().find(tag)
    if start < 0:
        return None
    return {
        "index": {"byteStart": start, "byteEnd": start + len(tag)},
        "features": [{"$type": "app.bsky.richtext.facet#mention", "did": did}],
    }


def post_url(handle: str | None, did: str, uri: str) -> str:
    rkey = uri.rsplit("/", 1)[-1]
    return f"https://bsky.app/profile/{handle or did}/post/{rkey}"


# ---- payload normalization -----------------------------------------------------------------------------


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _ref(value: Any) -> dict[str, str] | None:
    if isinstance(value, Mapping) and _str(value.get("uri")):
        return {"uri": str(value["uri"]), "cid": str(value.get("cid") or "")}
    return None


def _datetime(value: Any, fallback: Any = None) -> datetime:
    for candidate in (value, fallback):
        if isinstance(candidate, str) and candidate:
            try:
                return datetime.fromisoformat(candidate.replace("Z", "+00:00"))
            except ValueError:
                continue
    raise BadInput("createdAt/indexedAt is missing or not a datetime")


def _item_to_mention(item: Mapping[str, Any], account: str, reason: str) -> Mention:
    """A notification or a postView (both carry uri, cid, author, record, indexedAt)."""
    uri = _str(item.get("uri"))
    if not uri or not uri.startswith("at://"):
        raise BadInput("item.uri must be an at:// URI")
    author = item.get("author")
    if not isinstance(author, Mapping) or not _str(author.get("did")):
        raise BadInput("item.author.did is missing")
    record = item.get("record")
    if not isinstance(record, Mapping):
        raise BadInput("item.record is missing")
    text = record.get("text", "")
    if not isinstance(text, str):
        raise BadInput("record.text is not a string")
    reply = record.get("reply") if isinstance(record.get("reply"), Mapping) else None
    root = _ref(reply.get("root")) if reply else None
    parent = _ref(reply.get("parent")) if reply else None
    if reason == "quote":
        kind = Kind.QUOTE
    elif parent:
        kind = Kind.REPLY
    else:
        kind = Kind.POST
    did = str(author["did"])
    handle = _str(author.get("handle"))
    langs = record.get("langs")
    lang = langs[0] if isinstance(langs, list) and langs and isinstance(langs[0], str) else None
    try:
        return Mention(
            network=NETWORK,
            external_id=uri,
            thread_id=root["uri"] if root else uri,
            parent_id=parent["uri"] if parent else None,
            kind=kind,
            visibility=Visibility.PUBLIC,
            author=Author(
                external_id=did,
                handle=handle,
                name=_str(author.get("displayName")),
                avatar_url=_str(author.get("avatar")),
                profile_url=f"https://bsky.app/profile/{handle or did}",
            ),
            text=text,
            created_at=_datetime(record.get("createdAt"), item.get("indexedAt")),
            url=post_url(handle, did, uri),
            lang=lang,
            account=account,
            extra={
                "cid": str(item.get("cid") or ""),
                "root": root,
                "parent": parent,
                "reason": reason,
                "indexed_at": _str(item.get("indexedAt")),
            },
        )
    except ValidationError as exc:
        raise BadInput(f"item does not normalize: {exc.errors()[0].get('msg')}") from exc


def notification_to_mention(notification: Mapping[str, Any], account: str) -> Mention | None:
    """A listNotifications item; None for reasons that are not a customer writing (like, follow...)."""
    if not isinstance(notification, Mapping):
        raise BadInput("notification must be an object")
    reason = notification.get("reason")
    if not isinstance(reason, str):
        raise BadInput("notification.reason is missing")
    if reason not in REASONS:
        return None
    return _item_to_mention(notification, account, reason)


def parse_bluesky_payload(payload: Any, account: str | None = None) -> list[Mention]:
    """listNotifications output, a list of notifications, one notification, a postView or a thread."""
    brand = account or "unknown"
    if isinstance(payload, list):
        listed = [notification_to_mention(n, brand) for n in payload]
        return [m for m in listed if m is not None]
    if not isinstance(payload, Mapping):
        raise BadInput("expected a JSON object or array")
    if "notifications" in payload:
        items = payload["notifications"]
        if not isinstance(items, list):
            raise BadInput("notifications must be an array")
        return parse_bluesky_payload(items, account)
    if "thread" in payload:
        thread = payload["thread"]
        post = thread.get("post") if isinstance(thread, Mapping) else None
        if not isinstance(post, Mapping):
            raise BadInput("thread.post is missing (not found or blocked)")
        return [_item_to_mention(post, brand, "mention")]
    if "reason" in payload:
        single = notification_to_mention(payload, brand)
        return [single] if single else []
    if "uri" in payload and "record" in payload:
        return [_item_to_mention(payload, brand, "mention")]
    raise BadInput("not a Bluesky notification, post or thread")


# ---- poll cursor ---------------------------------------------------------------------------------------


def _encode_cursor(state: dict[str, Any]) -> str:
    return json.dumps(state, separators=(",", ":"), sort_keys=True)


def _decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        state = json.loads(cursor)
    except ValueError as exc:
        raise FatalError("Bluesky poll cursor is corrupt", code="bad_cursor") from exc
    if not isinstance(state, dict) or not isinstance(state.get("hwm"), dict):
        raise FatalError("Bluesky poll cursor is corrupt", code="bad_cursor")
    return state


def _is_new(item: Mapping[str, Any], hwm: Mapping[str, Any]) -> bool:
    at = str(item.get("indexedAt") or "")
    return at > hwm["at"] or (at == hwm["at"] and item.get("uri") not in hwm["uris"])


def _top(items: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not items:
        return None
    newest = max(str(i.get("indexedAt") or "") for i in items)
    return {"at": newest, "uris": sorted(str(i["uri"]) for i in items if i.get("indexedAt") == newest)}


def _merge_marks(old: Mapping[str, Any], new: Mapping[str, Any] | None) -> dict[str, Any]:
    if new is None or new["at"] < old["at"]:
        return dict(old)
    if new["at"] == old["at"]:
        return {"at": old["at"], "uris": sorted(set(old["uris"]) | set(new["uris"]))}
    return dict(new)


# ---- sessions ------------------------------------------------------------------------------------------


class _Session:
    """One logged-in SDK client per account, shared by threads; ``lock`` serialises (re)login."""

    def __init__(self, client: Client):
        self.client = client
        self.lock = threading.Lock()
        self.logged_in = False
        # Bumped on every refresh, so threads failing on the same stale token refresh only once.
        self.generation = 0


def _error_name(exc: at_exc.RequestErrorBase) -> str | None:
    content = exc.response.content if exc.response is not None else None
    return getattr(content, "error", None)


def _error_message(exc: at_exc.RequestErrorBase) -> str:
    content = exc.response.content if exc.response is not None else None
    message = getattr(content, "message", None) or getattr(content, "error", None)
    return str(message) if message else str(exc)


def _is_auth_failure(exc: Exception) -> bool:
    if isinstance(exc, at_exc.UnauthorizedError):
        return exc.response is None or exc.response.status_code == 401 or _error_name(exc) in _AUTH_ERRORS
    return isinstance(exc, at_exc.BadRequestError) and _error_name(exc) in _AUTH_ERRORS


def _translate(exc: Exception, *, posting: bool) -> Exception:
    """atproto SDK exceptions → horseshoe's taxonomy."""
    if isinstance(exc, at_exc.RateLimitExceededError):
        retry_after = exc.retry_after
        if retry_after is None and exc.reset_at is not None:
            retry_after = max((exc.reset_at - datetime.now(UTC)).total_seconds(), 1.0)
        return RateLimited(
            f"Bluesky rate limit ({exc.policy or 'unknown policy'})", retry_after=retry_after, code="rate_limited"
        )
    if isinstance(exc, at_exc.NetworkError) and exc.response is None:
        cause = exc.__cause__
        never_sent = isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
        if posting and not never_sent:
            return OutcomeUnknown(f"Bluesky did not answer the write: {type(cause).__name__}")
        return RetriableError(f"cannot reach Bluesky: {type(cause).__name__}", code="network")
    if isinstance(exc, at_exc.RequestErrorBase) and exc.response is not None:
        status = exc.response.status_code
        message = _error_message(exc)
        if status == 504 and posting:
            return OutcomeUnknown("Bluesky's gateway timed out during the write")
        if status >= 500 and status not in (501,):
            return RetriableError(f"Bluesky server error {status}: {message}", code="server_error")
        if status in (401, 403) or _error_name(exc) in _AUTH_ERRORS:
            return AuthError(f"Bluesky refused the session: {message}", code="unauthorized")
        if status == 501 or _error_name(exc) in ("MethodNotImplemented", "XRPCNotSupported"):
            return FatalError(f"Bluesky does not serve this method: {message}", code="unsupported")
        code = "not_found" if _error_name(exc) == "NotFound" or "not found" in message.lower() else "rejected"
        return FatalError(f"Bluesky rejected the request: {message}", code=code)
    if isinstance(exc, at_exc.ModelError):
        return FatalError(f"Bluesky answered an unexpected shape: {exc}", code="bad_response")
    return exc


# ---- the connector ------------------------------------------------------------------------------------


class BlueskyConnector(Connector):
    """Poll-only connector for a brand account on Bluesky (or any ATProto PDS with the app view)."""

    name = NETWORK
    display_name = "Bluesky"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[tuple[str, str], _Session] = {}

    # -- sessions

    def _session(self, account: AccountContext) -> _Session:
        identifier = account.credentials.get("identifier") or account.handle or ""
        if not identifier or not account.credentials.get("app_password"):
            raise AuthError("Bluesky account needs identifier and app_password", code="missing_credentials")
        base = (account.api_base or DEFAULT_PDS).rstrip("/")
        key = (base, identifier)
        with self._lock:
            session = self._sessions.get(key)
            if session is None:
                timeout = float(account.settings.get("timeout", 30))
                session = self._sessions[key] = _Session(Client(base_url=base, request=Request(timeout=timeout)))
        return session

    def _login(self, session: _Session, account: AccountContext) -> None:
        identifier = account.credentials.get("identifier") or account.handle or ""
        try:
            session.client.login(identifier, account.credentials["app_password"], fetch_bsky_profile=False)
        except at_exc.AtProtocolError as exc:
            raise _translate(exc, posting=False) from exc
        session.logged_in = True

    def _refresh(self, session: _Session, account: AccountContext) -> None:
        """Rotate tokens with the refresh JWT; when that is spent or expired, log in again."""
        current = Session.decode(session.client.export_session_string())
        try:
            fresh = session.client.com.atproto.server.refresh_session(
                headers={"Authorization": f"Bearer {current.refresh_jwt}"}
            )
        except (at_exc.BadRequestError, at_exc.UnauthorizedError) as exc:
            if not _is_auth_failure(exc):
                raise _translate(exc, posting=False) from exc
            self._login(session, account)
            return
        except at_exc.AtProtocolError as exc:
            raise _translate(exc, posting=False) from exc
        renewed = Session(fresh.handle, fresh.did, fresh.access_jwt, fresh.refresh_jwt, current.pds_endpoint)
        session.client.login(session_string=renewed.encode(), fetch_bsky_profile=False)

    def _run(self, account: AccountContext, action: Callable[[Client], T], *, posting: bool = False) -> T:
        session = self._session(account)
        with session.lock:
            if not session.logged_in:
                self._login(session, account)
        for attempt in (1, 2):
            generation = session.generation
            try:
                return action(session.client)
            except at_exc.AtProtocolError as exc:
                if attempt == 1 and _is_auth_failure(exc):
                    with session.lock:
                        if session.generation == generation:
                            self._refresh(session, account)
                            session.generation += 1
                    continue
                raise _translate(exc, posting=posting) from exc
        raise AssertionError("unreachable")

    def _did(self, account: AccountContext) -> str:
        session = self._session(account)
        return Session.decode(session.client.export_session_string()).did

    # -- webhooks: none on Bluesky

    def verify_request(self, request: Any, secrets: Mapping[str, str]) -> bool:
        """Always False: Bluesky pushes no webhooks for account notifications; this connector polls."""
        return False

    def parse_payload(self, payload: Any, account: str | None = None) -> list[Mention]:
        return parse_bluesky_payload(payload, account)

    # -- receive

    def poll(self, account: AccountContext, cursor: str | None) -> PollPage:
        """One page of new mentions/replies/quotes; see the module docstring for the cursor design."""
        page_size = max(1, min(int(account.settings.get("page_size", 50)), 100))
        max_pages = int(account.settings.get("max_walk_pages", 20))
        state = _decode_cursor(cursor)
        walk = state.get("walk") if state else None
        params: dict[str, Any] = {"limit": page_size, "reasons": list(REASONS)}
        if walk:
            params["cursor"] = walk["next"]
        response = self._run(account, lambda c: c.app.bsky.notification.list_notifications(params=params))
        raw = get_model_as_dict(response)
        items = [dict(n) for n in raw.get("notifications") or []]
        api_cursor = raw.get("cursor")
        pages = int((walk or {}).get("pages", 0)) + 1
        if state is None:
            # Start now: take the newest page once and remember its top.
            hwm: dict[str, Any] = _top(items) or {"at": "", "uris": []}
            fresh, done = items, True
        else:
            hwm = state["hwm"]
            fresh = [i for i in items if _is_new(i, hwm)]
            # Reaching an item we already handed over, or the end of the history, ends the catch-up.
            done = len(fresh) < len(items) or not api_cursor or pages >= max_pages
        top = (walk or {}).get("top") or _top(items)
        next_state: dict[str, Any] = {"hwm": _merge_marks(hwm, top) if done else dict(hwm)}
        if not done:
            next_state["walk"] = {"next": api_cursor, "top": top, "pages": pages}
        if raw.get("seenAt"):
            next_state["seenAt"] = raw["seenAt"]
        mentions = []
        for item in sorted(fresh, key=lambda i: (str(i.get("indexedAt") or ""), str(i.get("uri")))):
            found = notification_to_mention(item, account.external_id)
            if found is not None:
                mentions.append(found)
        return PollPage(mentions=mentions, cursor=_encode_cursor(next_state), more=not done)

    # -- send

    def post_reply(self, account: AccountContext, reply: Reply) -> PostResult:
        """A post in the thread of ``reply.in_reply_to`` (an at:// URI) with correct root/parent refs."""
        if not reply.in_reply_to or not reply.in_reply_to.startswith("at://"):
            raise FatalError("a Bluesky reply needs in_reply_to (the post's at:// URI)", code="missing_parent")
        parent_uri = reply.in_reply_to
        found = self._run(account, lambda c: c.app.bsky.feed.get_posts(params={"uris": [parent_uri]}))
        posts = get_model_as_dict(found).get("posts") or []
        if not posts:
            raise FatalError(f"post {parent_uri} not found (deleted or blocked)", code="not_found")
        parent = posts[0]
        parent_ref = {"uri": parent["uri"], "cid": parent["cid"]}
        record = parent.get("record") or {}
        root_ref = _ref((record.get("reply") or {}).get("root")) or parent_ref
        author = parent.get("author") or {}
        handle, author_did = author.get("handle"), author.get("did")
        text = reply.text
        if handle and f"@{handle}".lower() not in text.lower():
            text = f"@{handle} {text}"
        if grapheme_count(text) > MAX_GRAPHEMES:
            raise FatalError(f"reply is {grapheme_count(text)} graphemes; Bluesky allows 300", code="too_long")
        did = self._did(account)
        earlier = self._find_earlier(account, did, parent_ref["uri"], text)
        if earlier is not None:
            return earlier
        facet = mention_facet(text, handle, author_did) if handle and author_did else None
        post = models.AppBskyFeedPost.Record(
            text=text,
            created_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            langs=list(account.settings.get("langs") or ["en"]),
            reply=models.AppBskyFeedPost.ReplyRef(
                root=models.ComAtprotoRepoStrongRef.Main(uri=root_ref["uri"], cid=root_ref["cid"]),
                parent=models.ComAtprotoRepoStrongRef.Main(uri=parent_ref["uri"], cid=parent_ref["cid"]),
            ),
            facets=[
                models.AppBskyRichtextFacet.Main(
                    index=models.AppBskyRichtextFacet.ByteSlice(
                        byte_start=facet["index"]["byteStart"], byte_end=facet["index"]["byteEnd"]
                    ),
                    features=[models.AppBskyRichtextFacet.Mention(did=author_did)],
                )
            ]
            if facet and author_did
            else None,
        )
        created = self._run(account, lambda c: c.app.bsky.feed.post.create(did, post), posting=True)
        return PostResult(external_id=created.uri, url=post_url(account.handle, did, created.uri))

    def _find_earlier(self, account: AccountContext, did: str, parent_uri: str, text: str) -> PostResult | None:
        """The brand's recent post answering the same parent with the same text: an earlier attempt."""
        scan = int(account.settings.get("dedupe_scan", 25))
        if scan <= 0:
            return None
        listed = self._run(
            account,
            lambda c: c.com.atproto.repo.list_records(
                params={"repo": did, "collection": "app.bsky.feed.post", "limit": min(scan, 100)}
            ),
        )
        for item in get_model_as_dict(listed).get("records") or []:
            value = item.get("value") or {}
            replied_to = ((value.get("reply") or {}).get("parent") or {}).get("uri")
            if replied_to == parent_uri and value.get("text") == text:
                return PostResult(external_id=item["uri"], url=post_url(account.handle, did, item["uri"]))
        return None

    def send_private(self, account: AccountContext, reply: Reply) -> PostResult:
        """A chat message to ``reply.recipient_id`` (a DID) through the bsky chat proxy, when enabled."""
        if not account.settings.get("chat_enabled", False):
            raise FatalError("Bluesky chat is not enabled for this account", code="unsupported")
        recipient = reply.recipient_id
        if not recipient or not recipient.startswith("did:"):
            raise FatalError("a Bluesky message needs recipient_id (a DID)", code="missing_recipient")

        def send(client: Client) -> tuple[str, str]:
            chat = client.with_bsky_chat_proxy()
            convo = chat.chat.bsky.convo.get_convo_for_members(params={"members": [recipient]}).convo
            message = chat.chat.bsky.convo.send_message(data={"convo_id": convo.id, "message": {"text": reply.text}})
            return convo.id, message.id

        convo_id, message_id = self._run(account, send, posting=True)
        return PostResult(external_id=f"{convo_id}:{message_id}")

    def fetch_profile(self, account: AccountContext, author_external_id: str) -> SocialProfile | None:
        try:
            found = self._run(account, lambda c: c.app.bsky.actor.get_profile(params={"actor": author_external_id}))
        except FatalError as exc:
            if exc.code in ("not_found", "rejected"):
                return None
            raise
        return SocialProfile(
            network=NETWORK,
            external_id=found.did,
            handle=found.handle,
            name=found.display_name,
            avatar_url=found.avatar,
            profile_url=f"https://bsky.app/profile/{found.handle}",
        )

    def limits(self) -> Limits:
        return Limits(
            max_text_length=MAX_GRAPHEMES,
            requests_per_window=3000,
            window_seconds=300,
            poll_interval_seconds=30,
            page_size=50,
        )


@hookimpl
def horseshoe_register_connectors() -> list[Connector]:
    return [BlueskyConnector()]
