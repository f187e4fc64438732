"""``MastodonConnector``: see the package docstring."""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import pluggy
from mastodon import (
    Mastodon,
    MastodonAPIError,
    MastodonNetworkError,
    MastodonRatelimitError,
)

from plugin.connector import AccountContext, Connector, ParseResult, PollPage, item_boundary
from plugin.errors import AuthError, FatalError, OriginalDeleted
from plugin.http import fetch_media, pinned_session
from plugin.longreply import ThreadPart, post_thread, split_numbered
from plugin.models import (
    Attachment,
    Limits,
    Mention,
    PostResult,
    Reply,
    SocialProfile,
    Visibility,
)

from . import listen as mastodon_listen
from .config import MastodonCredentials, MastodonSettings
from .connect import MastodonConnect
from .errors import translate_error
from .parse import (
    DEFAULT_MAX_CHARACTERS,
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    NETWORK,
    explain_mastodon_payload,
    full_acct,
    html_to_text,
    id_key,
    notification_to_mention,
    opt_text,
    parse_mastodon_payload,
    status_to_mention,
)

hookimpl = pluggy.HookimplMarker("horseshoe")
# An image a status can carry: 16 MB on current Mastodon (configuration.media_attachments.image_size_limit);
# smaller instances refuse larger ones themselves and the agent sees their reason.
MAX_IMAGE_BYTES = 16 * 1024 * 1024
# ---- the connector -------------------------------------------------------------------------------------


class MastodonConnector(Connector):
    """Poll-only connector for a brand account on any Mastodon instance."""

    name = NETWORK
    display_name = "Mastodon"
    link_hosts = ("mastodon.social",)  # plus the account's own instance (self_hosted)
    self_hosted = True
    credentials_model = MastodonCredentials
    settings_model = MastodonSettings

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
            # The instance URL is an admin's: connections go only where the egress rule allows, to the
            # address it checked (a name answering 127.0.0.1 on the second lookup reaches nothing).
            session=pinned_session(),
        )

    def _call(self, api: Mastodon, func: Any, *args: Any, posting: bool = False, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (MastodonAPIError, MastodonNetworkError, MastodonRatelimitError) as exc:
            raise translate_error(exc, api, posting=posting) from exc

    def connect_flow(self) -> MastodonConnect:
        return MastodonConnect()

    # -- webhooks: none on Mastodon

    def verify_request(self, request: Any, secrets: Mapping[str, str]) -> bool:
        """Always False: Mastodon offers no webhooks for user accounts; this connector only polls."""
        return False

    def parse_payload(self, payload: Any, account: str | None = None) -> list[Mention]:
        return parse_mastodon_payload(payload, account)

    def explain_payload(self, payload: Any, account: str | None = None) -> ParseResult:
        return explain_mastodon_payload(payload, account)

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
        # An item without an id sorts first and is quarantined below; it must not fail the page.
        items = sorted((dict(n) for n in page), key=lambda n: id_key(str(n.get("id", ""))))
        if not items:
            # Starting on an empty inbox: "now" is before every future id, so walk from the start.
            return PollPage(mentions=[], cursor=cursor or "0", more=False)
        newest = str(items[-1]["id"])
        prev = getattr(page, "_pagination_prev", None)
        link_min = str(prev["min_id"]) if prev and prev.get("min_id") is not None else None
        # The Link header's min_id is the page's newest id; fall back to our own reading of the page.
        next_cursor = link_min if link_min and id_key(link_min) >= id_key(newest) else newest
        mentions = []
        for index, item in enumerate(items):
            where = f"notifications[{index}]"
            with item_boundary(where, [item]):
                found = notification_to_mention(item, account.external_id, where=where)
                if found is not None:
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
            raise FatalError(f"reply is {len(text)} characters; this instance allows {limit}", code="too_long")
        status = self._call(api, api.status_post, text, posting=True, **kwargs)
        return PostResult(external_id=str(status["id"]), url=opt_text(status.get("url")) or opt_text(status.get("uri")))

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

    def listen(self, account: AccountContext, terms: list[str], cursor: str | None) -> PollPage:
        """Hashtag timelines, one hashtag per call (connectors/mastodon/listen.py)."""
        api = self._api(account)

        def timeline(tag: str, since_id: str | None, limit: int) -> list[dict[str, Any]]:
            return list(self._call(api, api.timeline_hashtag, tag, since_id=since_id, limit=limit))

        def to_mention(status: dict[str, Any]) -> Mention:
            return status_to_mention(status, account.external_id)

        return mastodon_listen.listen(account, terms, cursor, timeline, to_mention)

    def post_reply(self, account: AccountContext, reply: Reply) -> PostResult:
        """Reply in the thread of ``reply.in_reply_to`` with the original's visibility."""
        if not reply.in_reply_to:
            raise FatalError("a Mastodon reply needs in_reply_to (the status id)", code="missing_parent")
        api = self._api(account)
        try:
            original = self._call(api, api.status, reply.in_reply_to)
        except FatalError as exc:
            if exc.code == "not_found":  # deleted by its author (or no longer visible to us)
                raise OriginalDeleted(f"Mastodon status {reply.in_reply_to} is gone: {exc}") from exc
            raise
        visibility = str(original.get("visibility") or "public")
        if reply.visibility == Visibility.PRIVATE:
            visibility = "direct"
        author = original.get("account") or {}
        # The reply goes from our instance, so the author's acct as our instance sees it addresses them.
        acct = opt_text(author.get("acct"))
        return self._post_parts(api, account, reply, acct, str(original["id"]), visibility=visibility)

    def _post_parts(self, api: Mastodon, account: AccountContext, reply: Reply, acct: str | None,
                    in_reply_to: str | None, **kwargs: Any) -> PostResult:  # fmt: skip
        """One status, or a numbered thread when the text is over the instance's limit. Every part
        addresses the customer (a ``direct`` part without the mention would reach nobody) and carries
        its own Idempotency-Key; Mastodon forgets keys after an hour, so a thread stopped half-way is
        not resumed automatically (see plugin.longreply)."""
        limit = self._max_characters(api, account)
        text = self._addressed(reply.text, acct)
        room = limit - (len(f"@{acct} ") if acct else 0)
        # Split (or refuse) before uploading anything, so a refused reply leaves no orphan media.
        what = f"characters (this instance allows {limit})"
        parts = [] if len(text) <= limit else split_numbered(reply.text, room, what=what)
        # Images before any status (a failed upload publishes nothing); they ride on the first status.
        media_ids = [self._upload(api, a) for a in reply.attachments]
        if media_ids:
            kwargs["media_ids"] = media_ids
        if not parts:
            if in_reply_to:
                kwargs["in_reply_to_id"] = in_reply_to
            return self._publish(api, account, text, idempotency_key=reply.idempotency_key, **kwargs)

        def post(part: ThreadPart) -> PostResult:
            key = reply.idempotency_key if part.index == 1 else f"{reply.idempotency_key}:{part.index}/{part.total}"
            extra: dict[str, Any] = {"in_reply_to_id": part.in_reply_to} if part.in_reply_to else {}
            if part.index > 1:
                extra["media_ids"] = None
            return self._publish(api, account, self._addressed(part.text, acct), idempotency_key=key[:255],
                                 **{**kwargs, **extra})  # fmt: skip

        return post_thread(parts, in_reply_to or "", post, resumable=False)

    def _upload(self, api: Mastodon, attachment: Attachment) -> str:
        """``POST /api/v2/media`` with the fetched image; the status then names it in ``media_ids``."""
        media = fetch_media(attachment, max_bytes=MAX_IMAGE_BYTES, network="Mastodon")
        uploaded = self._call(
            api, api.media_post, io.BytesIO(media.content), mime_type=media.mime_type, file_name=media.filename,
            posting=True,
        )  # fmt: skip
        return str(uploaded["id"])

    def send_private(self, account: AccountContext, reply: Reply) -> PostResult:
        """A direct status to ``reply.recipient_id`` (an account id), in the thread when given."""
        if not reply.recipient_id:
            raise FatalError("a private Mastodon message needs recipient_id", code="missing_recipient")
        api = self._api(account)
        recipient = self._call(api, api.account, reply.recipient_id)
        acct = opt_text(recipient.get("acct"))
        return self._post_parts(api, account, reply, acct, reply.in_reply_to, visibility="direct")

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
            name=opt_text(found.get("display_name")) or opt_text(found.get("username")),
            avatar_url=opt_text(found.get("avatar")),
            profile_url=opt_text(found.get("url")),
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
