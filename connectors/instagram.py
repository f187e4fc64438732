"""Instagram connector (Instagram API with Facebook Login, host ``graph.facebook.com``).

Receive: Instagram webhooks, object ``instagram``:
* field ``comments`` (and ``live_comments``): ``value{id, text, from{id, username}, media{id,
  media_product_type}, parent_id}`` -> external_id = IG comment id, thread_id = media id, parent_id =
  ``parent_id`` (a reply) or the media id (top level), kind ``reply``/``comment``. The payload has no
  creation time: ``entry.time`` (when Meta sent it) stands in. Comments by our own account are skipped.
* ``messaging[]`` (Instagram Messaging: same shape as Messenger; IGSID instead of PSID) -> kind
  ``direct``, private, thread_id = the IGSID; echoes skipped (IG sends them in the ``messages`` field),
  ``message_edit`` -> edited, ``is_deleted`` (unsent) -> deleted.
* field ``mentions`` (``value{media_id, comment_id}``: the brand @-tagged in someone else's caption
  or comment) carries neither author nor text: ``receive_webhook`` looks each one up
  (``/{ig-user-id}?fields=mentioned_comment.comment_id(..){..}`` / ``mentioned_media.media_id(..){..}``,
  see ``meta/igmentions.py``) and yields a public ``comment`` / ``post`` mention. ``parse`` explains
  such a change and accepts the lookup's answer. Comments on our own media arrive via ``comments``.

Reply: ``post_reply`` -> ``POST /{ig-comment-id}/replies {message}``; replying to the media itself
(in_reply_to == thread_id) -> ``POST /{ig-media-id}/comments``. ``send_private``: with in_reply_to a
comment id -> private reply ``POST /{page-id}/messages {recipient: {comment_id}}`` (once, within 7
days; the comment's ``timestamp`` is read first, older -> ``FatalError(window_closed)``); otherwise a DM
to ``recipient_id`` with the Messenger window rules (RESPONSE 24 h / HUMAN_AGENT 7 days / closed).
Instagram messaging goes through the linked Facebook Page, so credential ``page_id`` is required.

Poll: ``GET /{ig-user-id}/media`` (newest first) for media posted within ``lookback_days`` (default 7;
IG media has no updated_time), then ``GET /{ig-media-id}/comments`` with their ``replies``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pluggy

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
from plugin.errors import BadInput, FatalError, OutcomeUnknown
from plugin.longreply import refuse_if_too_long
from plugin.models import Author, Kind, Limits, Mention, PostResult, Reply, SocialProfile

from . import meta
from .messenger import explain_graph_messages, send_dm
from .meta import hashtags as hashtag_search
from .meta import igmentions
from .meta.outbound import comment_photo, send_conversation

MAX_COMMENT = 2200  # Instagram comment text

hookimpl = pluggy.HookimplMarker("horseshoe")

NAME = "instagram"
COMMENT_FIELDS = "id,text,timestamp,from{id,username},parent_id,replies{id,text,timestamp,from{id,username},parent_id}"


def _ig_user(account: AccountContext) -> str:
    return meta.credential(account, meta.IG_USER_ID, account.external_id)


def parse_comment_change(
    ig_id: str, value: dict[str, Any], where: str, entry_time: datetime | None, skipped: list[Skipped]
) -> Mention | None:
    change = meta.parse(meta.CommentChange, value, where)
    author_id = change.sender.id
    if author_id == ig_id:
        skipped.append(Skipped(where, "written by our own Instagram account (our reply coming back)"))
        return None
    media_id = change.media.id
    created = change.timestamp or entry_time
    if created is None:
        raise BadInput(f"{where}: no time for the comment")
    return meta.build_mention(
        network=NAME,
        external_id=change.id,
        thread_id=media_id,
        parent_id=change.parent_id or media_id,
        kind=Kind.REPLY if change.parent_id is not None else Kind.COMMENT,
        author=Author(external_id=author_id, handle=change.sender.username),
        text=change.text or "",
        created_at=created,
        account=ig_id,
        extra={"media_id": media_id, "media_product_type": change.media.media_product_type},
    )


def explain_instagram_payload(payload: Any, account: str | None) -> ParseResult:
    """A webhook body (object ``instagram``), or a mention lookup answer (``mentioned_comment``/``_media``)."""
    if isinstance(payload, dict) and ("mentioned_comment" in payload or "mentioned_media" in payload):
        return ParseResult(mentions=igmentions.parse_lookup(payload))
    if isinstance(payload, dict) and COMMENTS_OF in payload:
        return _explain_comments(payload, account)
    if isinstance(payload, dict) and hashtag_search.HASHTAG_OF in payload:
        return hashtag_search.explain_recent_media(payload, account)
    if isinstance(payload, dict) and "data" in payload and "object" not in payload:
        items = payload.get("data")
        first = items[0] if isinstance(items, list) and items and isinstance(items[0], dict) else {}
        if "text" in first or "caption" in first:
            raise BadInput(
                "this looks like a /{ig-user-id}/media or /{media-id}/comments answer: comment nodes do not "
                "name their media, so their thread cannot be told; parse the comments webhook body instead "
                f"(a hashtag's recent_media answer: add \"{hashtag_search.HASHTAG_OF}\": NAME beside its data)"
            )
        return explain_graph_messages(NAME, payload, account)  # a conversations poll answer
    result = ParseResult()
    for entry in meta.entries(payload, "instagram", account):
        for value, where, body in meta.changes(entry, ("comments", "live_comments")):
            with item_boundary(where, body):
                mention = parse_comment_change(entry.id, meta.as_dict(value, where), where, entry.time, result.skipped)
                if mention is not None:
                    result.mentions.append(mention)
        for _, where, _body in meta.changes(entry, ("mentions",), refuse=False):  # refused in the pass above
            result.skipped.append(
                Skipped(
                    where,
                    "a mentions change carries only ids: the webhook looks it up in Graph (mentioned_comment / "
                    "mentioned_media); parse the lookup's answer to see the mention",
                )
            )
    result.mentions.extend(meta.parse_messaging_payload(NAME, payload, "instagram", account, result.skipped))
    return result


# Key of horseshoe's own envelope for comments of one media: ``{COMMENTS_OF: media_id, "data": [...]}``
# (what the quarantine keeps of a comment the poll could not read; Graph comment nodes do not name it).
COMMENTS_OF = "horseshoe_comments_of"


def _explain_comments(payload: dict[str, Any], account: str | None) -> ParseResult:
    if account is None:
        raise BadInput("comments need --account (the Instagram account id) to tell our own comments apart")
    media_id = meta.id_str(payload.get(COMMENTS_OF), COMMENTS_OF)
    result = ParseResult()
    for index, item in enumerate(meta.as_list(payload.get("data"), "data")):
        with item_boundary(f"comments[{index}]", {COMMENTS_OF: media_id, "data": [item]}):
            found = comment_from_graph(account, media_id, meta.as_dict(item, f"comments[{index}]"))
            if found is None:
                result.skipped.append(Skipped(f"comment {index}", "our own comment (or its author is hidden)"))
            else:
                result.mentions.append(found)
    return result


def comment_from_graph(ig_id: str, media_id: str, raw: dict[str, Any]) -> Mention | None:
    sender = raw.get("from")
    if not isinstance(sender, dict) or not sender.get("id"):
        return None
    author_id = meta.id_str(sender.get("id"), "comment.from.id")
    if author_id == ig_id:
        return None
    comment_id = meta.id_str(raw.get("id"), "comment.id")
    parent = raw.get("parent_id")
    return meta.build_mention(
        network=NAME,
        external_id=comment_id,
        thread_id=media_id,
        parent_id=str(parent) if parent else media_id,
        kind=Kind.REPLY if parent else Kind.COMMENT,
        author=Author(external_id=author_id, handle=meta.opt_str(sender.get("username"), "comment.from.username")),
        text=meta.opt_str(raw.get("text"), "comment.text") or "",
        created_at=meta.to_datetime(raw.get("timestamp"), "comment.timestamp"),
        account=ig_id,
        extra={"media_id": media_id},
    )


class InstagramConnector(meta.MetaWebhookConnector):
    name = NAME
    credentials_model = meta.InstagramCredentials
    settings_model = meta.InstagramSettings
    display_name = "Instagram"
    link_hosts = ("instagram.com",)
    account_key = meta.IG_USER_ID

    def parse_payload(self, payload: Any, account: str | None = None) -> list[Mention]:
        return self.explain_payload(payload, account).mentions

    def explain_payload(self, payload: Any, account: str | None = None) -> ParseResult:
        return explain_instagram_payload(payload, account)

    def receive_webhook(self, request: InboundRequest, account: AccountContext) -> WebhookResult:
        """As ``parse_webhook``, plus each ``mentions`` change looked up in Graph (it carries only ids)."""
        result = super().receive_webhook(request, account)
        if result.handshake is not None:
            return result
        refs = igmentions.mention_refs(meta.load_body(request), _ig_user(account))
        if not refs:
            return result
        client = meta.GraphClient(account)
        skipped: list[Skipped] = []
        found = [igmentions.resolve(client, ref, skipped) for ref in refs]
        return WebhookResult(mentions=[*result.mentions, *(m for m in found if m is not None)])

    def poll(self, account: AccountContext, cursor: str | None) -> PollPage:
        client = meta.GraphClient(account)
        ig_id = _ig_user(account)
        limit = int(account.settings.get("page_size", self.limits().page_size))
        state = meta.resume(account.settings, cursor)
        if isinstance(state, PollPage):
            return state

        def parents(after: str | None) -> tuple[list[dict[str, Any]], str | None]:
            data = client.get(
                f"{ig_id}/media", {"fields": "id,caption,timestamp,permalink", "limit": limit, "after": after}
            )
            return meta.page_of(data, "media")

        def parent_time(raw: dict[str, Any]) -> datetime:
            return meta.to_datetime(raw.get("timestamp"), "media.timestamp")

        def children(media_id: str, after: str | None) -> tuple[list[Mention], str | None]:
            data = client.get(f"{media_id}/comments", {"fields": COMMENT_FIELDS, "limit": limit, "after": after})
            items, next_after = meta.page_of(data, "comments")
            found: list[Mention | None] = []
            for index, item in enumerate(items):
                with item_boundary(f"comments[{index}]", {COMMENTS_OF: media_id, "data": [item]}):
                    found.append(comment_from_graph(ig_id, media_id, item))
                replies = item.get("replies")
                for position, sub in enumerate(replies.get("data", []) if isinstance(replies, dict) else []):
                    if isinstance(sub, dict):
                        sub = {**sub, "parent_id": sub.get("parent_id") or item.get("id")}
                        where = f"comments[{index}].replies[{position}]"
                        with item_boundary(where, {COMMENTS_OF: media_id, "data": [sub]}):
                            found.append(comment_from_graph(ig_id, media_id, sub))
            return [m for m in found if m is not None], next_after

        spec = meta.SweepSpec(
            parents=parents,
            parent_mentions=lambda raw: [],
            parent_time=parent_time,
            wants_children=lambda raw, since: True,  # within the lookback floor, every media is read
            children=children,
            lookback=timedelta(days=float(account.settings.get("lookback_days", 7))),
        )
        return meta.run_sweep(spec, state)

    def listen(self, account: AccountContext, terms: list[str], cursor: str | None) -> PollPage:
        """Hashtag Search within its 30-hashtags-per-7-days limit (connectors/meta/hashtags.py)."""
        return hashtag_search.listen(account, terms, cursor, meta.GraphClient(account), _ig_user(account))

    def post_reply(self, account: AccountContext, reply: Reply) -> PostResult:
        if (reply.thread_id or "").startswith(hashtag_search.HASHTAG_THREAD):
            raise FatalError(hashtag_search.NO_COMMENTS, code="unsupported")
        target = reply.in_reply_to or reply.thread_id
        if not target:
            raise FatalError("an Instagram reply needs in_reply_to (a comment id)", code="no_target")
        refuse_if_too_long(reply.text, MAX_COMMENT, network="Instagram")
        comment_photo(reply.attachments, "instagram")  # refuses: Instagram comments carry text only
        client = meta.GraphClient(account)
        edge = "comments" if reply.thread_id is not None and target == reply.thread_id else "replies"
        with meta.gone_as_deleted("Instagram", target):
            result = client.post(f"{target}/{edge}", {"message": reply.text})
        comment_id = result.get("id") if isinstance(result, dict) else None
        if not isinstance(comment_id, str):
            raise OutcomeUnknown("Graph answered an IG reply without an id")
        return PostResult(external_id=comment_id)

    def send_private(self, account: AccountContext, reply: Reply) -> PostResult:
        if (reply.thread_id or "").startswith(hashtag_search.HASHTAG_THREAD):
            raise FatalError(hashtag_search.NO_COMMENTS, code="unsupported")
        page_id = meta.credential(account, meta.PAGE_ID)
        # A DM's thread is the customer (thread_id == recipient_id); a comment's thread is the media.
        is_dm = reply.in_reply_to is None or (reply.thread_id is not None and reply.thread_id == reply.recipient_id)
        if is_dm:
            return send_dm(NAME, "instagram", account, reply, page_id)
        assert reply.in_reply_to is not None
        client = meta.GraphClient(account)
        with meta.gone_as_deleted("Instagram", reply.in_reply_to):
            node = client.get(reply.in_reply_to, {"fields": "id,timestamp"})
        created = meta.to_datetime(node.get("timestamp") if isinstance(node, dict) else None, "comment.timestamp")
        age = meta.now_utc() - created
        if age > meta.PRIVATE_REPLY_WINDOW:
            raise FatalError(
                f"Instagram private replies are allowed within 7 days; the comment is {age.days} days old",
                code="window_closed",
            )
        with meta.gone_as_deleted("Instagram", reply.in_reply_to):
            return send_conversation(
                client, page_id, {"comment_id": reply.in_reply_to}, reply.text, {"messaging_type": "RESPONSE"},
                reply.attachments, "instagram",
            )  # fmt: skip

    def fetch_profile(self, account: AccountContext, author_external_id: str) -> SocialProfile | None:
        """Instagram user profile (messaging): ``GET /{IGSID}?fields=name,username,profile_pic``."""
        try:
            data = meta.GraphClient(account).get(author_external_id, {"fields": "name,username,profile_pic"})
        except FatalError as exc:
            if exc.code == "100":
                return None
            raise
        if not isinstance(data, dict):
            return None
        username = data.get("username") if isinstance(data.get("username"), str) else None
        return SocialProfile(
            network=NAME,
            external_id=author_external_id,
            handle=username,
            name=data.get("name") if isinstance(data.get("name"), str) else None,
            avatar_url=data.get("profile_pic") if isinstance(data.get("profile_pic"), str) else None,
            profile_url=f"https://www.instagram.com/{username}" if username else None,
        )

    def limits(self) -> Limits:
        # One limit for both reply kinds: Instagram DMs take 1000 characters, comments 2200; the
        # stricter value keeps every reply valid whichever way it goes out.
        return Limits(max_text_length=1000, poll_interval_seconds=300, page_size=50)


@hookimpl
def horseshoe_register_connectors() -> list[Connector]:
    return [InstagramConnector()]
