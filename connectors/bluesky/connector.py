"""``BlueskyConnector``: see the package docstring."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import pluggy
from atproto import Client, Session, models
from atproto_client import exceptions as at_exc
from atproto_client.models.utils import get_model_as_dict, get_or_create
from atproto_client.request import Request

from plugin.connector import AccountContext, Connector, ParseResult, PollPage, item_boundary
from plugin.errors import AuthError, BadInput, FatalError, OriginalDeleted
from plugin.http import Media, PinnedTransport, fetch_media
from plugin.longreply import ThreadPart, post_thread, split_numbered
from plugin.models import Attachment, Limits, Mention, PostResult, Reply, SocialProfile

from . import listen as bluesky_listen
from .chat import read_chat
from .config import BlueskyCredentials, BlueskySettings
from .connect import BlueskyConnect
from .cursor import decode_cursor, encode_cursor, is_new, merge_marks, top_mark
from .errors import SDK_ERRORS, is_auth_failure, translate_error
from .parse import (
    DEFAULT_PDS,
    MAX_GRAPHEMES,
    NETWORK,
    REASONS,
    explain_bluesky_payload,
    notification_to_mention,
    parse_bluesky_payload,
)
from .text import grapheme_count, mention_facet, post_url

hookimpl = pluggy.HookimplMarker("horseshoe")
MAX_IMAGES = 4  # app.bsky.embed.images: images maxLength 4
MAX_IMAGE_BYTES = 1_000_000  # app.bsky.embed.images#image: image blob maxSize
T = TypeVar("T")


# ---- sessions ------------------------------------------------------------------------------------------


class _Session:
    """One logged-in SDK client per account, shared by threads; ``lock`` serialises (re)login."""

    def __init__(self, client: Client):
        self.client = client
        self.lock = threading.Lock()
        self.logged_in = False
        # Bumped on every refresh, so threads failing on the same stale token refresh only once.
        self.generation = 0


# ---- the connector ------------------------------------------------------------------------------------


def list_notifications_as_sent(client: Client, params: dict[str, Any]) -> dict[str, Any]:
    """``app.bsky.notification.listNotifications`` as the server sent it. The SDK's ``Response`` model
    validates the whole page at once, so one notification with a field it rejects (an author handle
    that is no string) would fail every other one and stall the account; here each notification is
    validated on its own by ``notification_to_mention`` inside an ``item_boundary`` instead."""
    query = get_or_create(params, models.AppBskyNotificationListNotifications.Params)
    response = client.invoke_query(
        "app.bsky.notification.listNotifications", params=query, output_encoding="application/json"
    )
    content = response.content
    if not isinstance(content, dict):
        raise FatalError("Bluesky answered listNotifications with no JSON object", code="bad_response")
    return content


class BlueskyConnector(Connector):
    """Poll-only connector for a brand account on Bluesky (or any ATProto PDS with the app view)."""

    name = NETWORK
    display_name = "Bluesky"
    link_hosts = ("bsky.app",)
    self_hosted = True  # a PDS of one's own
    credentials_model = BlueskyCredentials
    settings_model = BlueskySettings

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
                # The PDS URL is an admin's: connections go only where the egress rule allows, to the
                # address it checked (DNS rebinding reaches nothing private).
                request = Request(timeout=timeout, transport=PinnedTransport())
                session = self._sessions[key] = _Session(Client(base_url=base, request=request))
        return session

    def _login(self, session: _Session, account: AccountContext) -> None:
        identifier = account.credentials.get("identifier") or account.handle or ""
        try:
            session.client.login(identifier, account.credentials["app_password"], fetch_bsky_profile=False)
        except SDK_ERRORS as exc:
            raise translate_error(exc, posting=False) from exc
        session.logged_in = True

    def _refresh(self, session: _Session, account: AccountContext) -> None:
        """Rotate tokens with the refresh JWT; when that is spent or expired, log in again."""
        current = Session.decode(session.client.export_session_string())
        try:
            fresh = session.client.com.atproto.server.refresh_session(
                headers={"Authorization": f"Bearer {current.refresh_jwt}"}
            )
        except (at_exc.BadRequestError, at_exc.UnauthorizedError) as exc:
            if not is_auth_failure(exc):
                raise translate_error(exc, posting=False) from exc
            self._login(session, account)
            return
        except SDK_ERRORS as exc:
            raise translate_error(exc, posting=False) from exc
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
            except SDK_ERRORS as exc:
                if attempt == 1 and isinstance(exc, at_exc.AtProtocolError) and is_auth_failure(exc):
                    with session.lock:
                        if session.generation == generation:
                            self._refresh(session, account)
                            session.generation += 1
                    continue
                raise translate_error(exc, posting=posting) from exc
        raise AssertionError("unreachable")

    def _did(self, account: AccountContext) -> str:
        session = self._session(account)
        return Session.decode(session.client.export_session_string()).did

    def connect_flow(self) -> BlueskyConnect:
        return BlueskyConnect()

    # -- webhooks: none on Bluesky

    def verify_request(self, request: Any, secrets: Mapping[str, str]) -> bool:
        """Always False: Bluesky pushes no webhooks for account notifications; this connector polls."""
        return False

    def parse_payload(self, payload: Any, account: str | None = None) -> list[Mention]:
        return parse_bluesky_payload(payload, account)

    def explain_payload(self, payload: Any, account: str | None = None) -> ParseResult:
        return explain_bluesky_payload(payload, account)

    # -- receive

    def poll(self, account: AccountContext, cursor: str | None) -> PollPage:
        """One page of new mentions/replies/quotes; see the module docstring for the cursor design."""
        page_size = max(1, min(int(account.settings.get("page_size", 50)), 100))
        max_pages = int(account.settings.get("max_walk_pages", 20))
        state = decode_cursor(cursor)
        walk = state.get("walk") if state else None
        params: dict[str, Any] = {"limit": page_size, "reasons": list(REASONS)}
        if walk:
            params["cursor"] = walk["next"]
        raw = self._run(account, lambda c: list_notifications_as_sent(c, params))
        listed = raw.get("notifications") or []
        if not isinstance(listed, list):
            raise FatalError("Bluesky answered listNotifications without a notifications list", code="bad_response")
        items = [n for n in listed if isinstance(n, dict)]
        for index, item in enumerate(listed):
            if not isinstance(item, dict):  # no uri, no time: it cannot be placed, only kept
                with item_boundary(f"notifications[{index}]", {"notifications": [item]}):
                    raise BadInput(f"notifications[{index}] must be a JSON object, got {type(item).__name__}")
        api_cursor = raw.get("cursor")
        pages = int((walk or {}).get("pages", 0)) + 1
        if state is None:
            # Start now: take the newest page once and remember its top.
            hwm: dict[str, Any] = top_mark(items) or {"at": "", "uris": []}
            fresh, done = items, True
        else:
            hwm = state["hwm"]
            fresh = [i for i in items if is_new(i, hwm)]
            # Reaching an item we already handed over, or the end of the history, ends the catch-up.
            done = len(fresh) < len(items) or not api_cursor or pages >= max_pages
        top = (walk or {}).get("top") or top_mark(items)
        next_state: dict[str, Any] = {"hwm": merge_marks(hwm, top) if done else dict(hwm)}
        if not done:
            next_state["walk"] = {"next": api_cursor, "top": top, "pages": pages}
        if raw.get("seenAt"):
            next_state["seenAt"] = raw["seenAt"]
        mentions = []
        for index, item in enumerate(sorted(fresh, key=lambda i: (str(i.get("indexedAt") or ""), str(i.get("uri"))))):
            where = f"notifications[{index}]"
            with item_boundary(where, {"notifications": [item]}):
                found = notification_to_mention(item, account.external_id, where=where)
                if found is not None:
                    mentions.append(found)
        dm_mark = state.get("dm") if state else None
        if account.settings.get("chat_enabled", False) and done:
            # Direct messages once the notifications are caught up (see chat.py for the mark).
            chat, dm_mark, _ = read_chat(
                lambda action: self._run(account, action),
                account.external_id,
                dm_mark if isinstance(dm_mark, str) else None,
                page_size=page_size,
                max_pages=max_pages,
            )
            mentions.extend(chat)
        if dm_mark is not None:
            next_state["dm"] = dm_mark
        return PollPage(mentions=mentions, cursor=encode_cursor(next_state), more=not done)

    # -- send

    def listen(self, account: AccountContext, terms: list[str], cursor: str | None) -> PollPage:
        """searchPosts for one term per call (connectors/bluesky/listen.py)."""

        def search(params: dict[str, Any]) -> dict[str, Any]:
            found = self._run(account, lambda c: c.app.bsky.feed.search_posts(params=params))
            return dict(get_model_as_dict(found))

        return bluesky_listen.listen(account, terms, cursor, search)

    def post_reply(self, account: AccountContext, reply: Reply) -> PostResult:
        """A post in the thread of ``reply.in_reply_to`` (an at:// URI) with correct root/parent refs."""
        if not reply.in_reply_to or not reply.in_reply_to.startswith("at://"):
            raise FatalError("a Bluesky reply needs in_reply_to (the post's at:// URI)", code="missing_parent")
        parent_uri = reply.in_reply_to
        found = self._run(account, lambda c: c.app.bsky.feed.get_posts(params={"uris": [parent_uri]}))
        posts = get_model_as_dict(found).get("posts") or []
        if not posts:
            raise OriginalDeleted(f"post {parent_uri} not found on Bluesky (deleted or blocked)")
        parent = posts[0]
        parent_ref = {"uri": parent["uri"], "cid": parent["cid"]}
        record = parent.get("record") or {}
        root = (record.get("reply") or {}).get("root") or {}
        root_ref = {"uri": str(root["uri"]), "cid": str(root.get("cid") or "")} if root.get("uri") else parent_ref
        author = parent.get("author") or {}
        handle, author_did = author.get("handle"), author.get("did")
        address = f"@{handle} " if handle and f"@{handle}".lower() not in reply.text.lower() else ""
        if grapheme_count(address + reply.text) <= MAX_GRAPHEMES:
            parts = [address + reply.text]
        else:
            # A numbered thread, every part addressed to the customer (the mention facet notifies them).
            room = MAX_GRAPHEMES - grapheme_count(f"@{handle} " if handle else "")
            parts = [
                (f"@{handle} " if handle else "") + part
                for part in split_numbered(reply.text, room, grapheme_count, what="graphemes (Bluesky allows 300)")
            ]
        did = self._did(account)
        cids = {parent_ref["uri"]: parent_ref["cid"]}
        # Images are uploaded before anything is posted (a failed upload publishes nothing) and are
        # embedded in the first part, the reply proper.
        embed = self._images(account, reply.attachments)

        def post(part: ThreadPart) -> PostResult:
            target = {"uri": part.in_reply_to, "cid": cids[part.in_reply_to]}
            # Resumable: an earlier attempt's part (same parent, same text) is found and reused.
            earlier = self._find_earlier(account, did, target["uri"], part.text)
            if earlier is None:
                record = self._post_record(account, part.text, root_ref, target, handle, author_did)
                if part.index == 1 and embed is not None:
                    record.embed = embed
                earlier = self._run(account, lambda c: c.app.bsky.feed.post.create(did, record), posting=True)
                earlier = {"uri": earlier.uri, "cid": earlier.cid}
            cids[earlier["uri"]] = earlier["cid"]
            return PostResult(external_id=earlier["uri"], url=post_url(account.handle, did, earlier["uri"]))

        if len(parts) == 1:
            return post(ThreadPart(1, 1, parts[0], parent_ref["uri"]))
        return post_thread(parts, parent_ref["uri"], post, resumable=True)

    def _images(self, account: AccountContext, attachments: list[Attachment]) -> models.AppBskyEmbedImages.Main | None:
        """``uploadBlob`` per image -> one ``app.bsky.embed.images`` (at most 4, each at most 1,000,000 bytes)."""
        if not attachments:
            return None
        if len(attachments) > MAX_IMAGES:
            raise FatalError(f"{len(attachments)} attachments; a Bluesky post carries at most {MAX_IMAGES} images",
                             code="bad_attachment")  # fmt: skip
        images = []
        for attachment in attachments:
            media = fetch_media(attachment, max_bytes=MAX_IMAGE_BYTES, network="Bluesky")

            def upload(client: Client, media: Media = media) -> models.ComAtprotoRepoUploadBlob.Response:
                # The real type, not the SDK's "*/*": the PDS then need not sniff it.
                return client.com.atproto.repo.upload_blob(media.content, headers={"Content-Type": media.mime_type})

            images.append(models.AppBskyEmbedImages.Image(alt="", image=self._run(account, upload).blob))
        return models.AppBskyEmbedImages.Main(images=images)

    @staticmethod
    def _post_record(account: AccountContext, text: str, root_ref: dict[str, str], parent_ref: dict[str, str],
                     handle: str | None, author_did: str | None) -> models.AppBskyFeedPost.Record:  # fmt: skip
        facet = mention_facet(text, handle, author_did) if handle and author_did else None
        return models.AppBskyFeedPost.Record(
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

    def _find_earlier(self, account: AccountContext, did: str, parent_uri: str, text: str) -> dict[str, str] | None:
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
                return {"uri": str(item["uri"]), "cid": str(item["cid"])}
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
