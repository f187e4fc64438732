"""Facebook Pages connector: visitor posts and comments on the Page, public replies and private replies.

Receive: Webhooks for Pages, object ``page``, field ``feed``: ``entry[].changes[].value`` with
``item`` (comment/post/status/photo/video/share/reaction...), ``verb`` (add/edited/remove),
``comment_id``, ``post_id``, ``parent_id``, ``from{id,name}``, ``message``, ``created_time`` (unix s).

Normalization (docs/ARCHITECTURE.md):
* comment: ``external_id`` = Graph comment id (``{post}_{comment}``), ``thread_id`` = post id (a whole
  post conversation is one ticket), ``parent_id`` = parent comment id, or the post id for a top-level
  comment; kind ``comment`` (top level) or ``reply`` (a reply to a comment).
* visitor post (item post/status/photo/video/share by someone else): kind ``post``, external_id =
  thread_id = post id.
* ``verb: edited`` -> ``event="edited"``; ``verb: remove`` -> ``event="deleted"`` (kept, not dropped).
  Meta may omit ``from`` on a removal; the author is then the sentinel ``"unknown"``.
* skipped: anything ``from`` our own Page (echoes of our replies, our own posts), reactions/likes,
  ``hide``/``unhide`` moderation verbs, and ``messaging`` events (the ``messenger`` connector's part).

Webhooks for the ``page`` object (feed and Messenger fields alike) arrive at one callback URL per app;
each Meta connector reads only its own part of the body, so the host may hand one body to both.

Reply: ``post_reply`` -> ``POST /{in_reply_to}/comments`` (a comment id answers in that comment's
thread; a post id comments on the post). ``send_private`` with ``in_reply_to`` = a comment or visitor
post id -> a private reply (``POST /{page-id}/messages`` with ``recipient: {comment_id}``), allowed once
per comment and within 7 days of its creation. Before sending, the connector asks Graph for the
comment's ``created_time`` and ``can_reply_privately`` and refuses with ``FatalError(code=
"window_closed")`` / ``FatalError(code="already_replied")`` so an agent is told instead of a silent drop.

Poll (backfill/fallback): ``GET /{page-id}/feed`` newest first, then ``GET /{post-id}/comments``
(``filter=stream``, ``order=chronological``, ``since``) for every post updated since the watermark,
with cursor pagination (``paging.cursors.after`` while ``paging.next`` exists). Settings:
``lookback_days`` (default 7: how far back posts are still scanned for new comments),
``backfill_since`` / ``backfill_hours`` (where a fresh cursor starts; default now).

Credentials: see ``connectors.meta`` (page_access_token, app_secret, verify_token, page_id).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pluggy

from plugin.connector import AccountContext, Connector, ParseResult, PollPage, Skipped, item_boundary
from plugin.errors import BadInput, FatalError, OutcomeUnknown
from plugin.longreply import refuse_if_too_long
from plugin.models import Attachment, Author, Kind, Limits, Mention, PostResult, Reply, SocialProfile

from . import meta
from .meta.outbound import comment_photo, send_conversation

MAX_COMMENT = 8000  # Facebook comment text

hookimpl = pluggy.HookimplMarker("horseshoe")

NAME = "facebook"
POST_ITEMS = frozenset({"post", "status", "photo", "video", "share", "album"})
VERBS = {"add": "created", "edited": "edited", "remove": "deleted"}
UNKNOWN_AUTHOR = "unknown"
COMMENT_FIELDS = "id,message,from{id,name},created_time,parent{id},permalink_url,attachment"
POST_FIELDS = "id,message,from{id,name},created_time,updated_time,permalink_url"


def _url(object_id: str) -> str:
    return f"https://www.facebook.com/{object_id}"


def _feed_attachments(value: dict[str, Any]) -> list[Attachment]:
    found: list[Attachment] = []
    for key, kind in (("photo", "image"), ("video", "video"), ("link", "link")):
        url = value.get(key)
        if isinstance(url, str) and url.startswith("http"):
            found.append(Attachment(url=url, type=kind))
    for url in value.get("photos") or [] if isinstance(value.get("photos"), list) else []:
        if isinstance(url, str) and url.startswith("http"):
            found.append(Attachment(url=url, type="image"))
    return found


def _sender(change: meta.FeedChange) -> meta.Sender | None:
    """``from{id,name}``, or the flat ``sender_id``/``sender_name`` of older feed payloads."""
    if change.sender is not None:
        return change.sender
    if change.sender_id is not None:
        return meta.Sender(id=change.sender_id, name=change.sender_name)
    return None


def parse_feed_change(
    page_id: str, value: dict[str, Any], where: str, entry_time: datetime | None, skipped: list[Skipped]
) -> Mention | None:
    """One ``feed`` change -> Mention, or None with the reason appended to ``skipped``."""
    item = value.get("item")
    verb = value.get("verb")
    if not isinstance(item, str) or not isinstance(verb, str):
        raise BadInput(f"{where}: feed change without item/verb")
    event = VERBS.get(verb)
    if event is None:
        skipped.append(Skipped(where, f"verb {verb!r} is moderation, not something a customer said"))
        return None
    if item != "comment" and item not in POST_ITEMS:
        skipped.append(Skipped(where, f"item {item!r} has no text to answer"))
        return None
    change = meta.parse(meta.FeedChange, value, where)
    author_id, name = UNKNOWN_AUTHOR, None
    sender = _sender(change)
    if sender is not None:
        author_id, name = sender.id, sender.name
    elif event != "deleted":
        raise BadInput(f"{where}: feed change without from (or sender_id)")
    if author_id == page_id:
        skipped.append(Skipped(where, "written by the Page itself (our own post or reply)"))
        return None
    created = change.created_time or entry_time
    if created is None:
        raise BadInput(f"{where}: no created_time")
    post_id = change.post_id
    text = change.message or ""
    common: dict[str, Any] = {
        "network": NAME,
        "thread_id": post_id,
        "author": Author(external_id=author_id, name=name),
        "text": text,
        "created_at": created,
        "account": page_id,
        "event": event,
        "attachments": _feed_attachments(value),
    }
    if item == "comment":
        if change.comment_id is None:
            raise BadInput(f"{where}.comment_id: missing id")
        comment_id = change.comment_id
        parent_id = change.parent_id or post_id
        return meta.build_mention(
            external_id=comment_id,
            parent_id=parent_id,
            kind=Kind.COMMENT if parent_id == post_id else Kind.REPLY,
            url=_url(comment_id),
            extra={"post_id": post_id, "item": item, "verb": verb},
            **common,
        )
    return meta.build_mention(
        external_id=post_id,
        kind=Kind.POST,
        url=_url(post_id),
        extra={"post_id": post_id, "item": item, "verb": verb},
        **common,
    )


def explain_feed_payload(payload: Any, account: str | None) -> ParseResult:
    result = ParseResult()
    for entry in meta.entries(payload, "page", account):
        # Only the feed field: other page fields (mention, ratings...) are not subscribed to.
        for value, where, body in meta.changes(entry, ("feed",)):
            with item_boundary(where, body):
                change = meta.as_dict(value, where)
                mention = parse_feed_change(entry.id, change, where, entry.time, result.skipped)
                if mention is not None:
                    result.mentions.append(mention)
        if entry.messaging:
            result.skipped.append(
                Skipped(f"{entry.where}.messaging", "direct messages: the messenger connector's part")
            )
    return result


def explain_feed_answer(payload: dict[str, Any], account: str | None) -> ParseResult:
    """``/{page-id}/feed`` (posts carry ``updated_time``); a ``/{post-id}/comments`` answer is refused:
    its Comment nodes do not name their post, which the poll knows from the URL it asked (the quarantine
    keeps a comment with its post id under ``COMMENTS_OF``, and that is read)."""
    if COMMENTS_OF in payload:
        return _explain_comments(payload, account)
    items = [meta.as_dict(item, f"data[{n}]") for n, item in enumerate(meta.as_list(payload.get("data"), "data"))]
    if items and not any("updated_time" in item for item in items):
        raise BadInput(
            "this looks like a /{post-id}/comments answer: Graph comment nodes do not name their post, so "
            "their thread cannot be told; parse the feed webhook body or the /{page-id}/feed answer instead"
        )
    if account is None:
        raise BadInput("a /{page-id}/feed answer needs --account (the Page id) to tell the Page's own posts apart")
    result = ParseResult()
    for index, item in enumerate(items):
        with item_boundary(f"data[{index}]", {"data": [item]}):
            found = post_from_graph(account, item)
            if found is not None:
                result.mentions.append(found)
            else:
                reason = "the Page's own post (or its author is hidden)"
                result.skipped.append(Skipped(f"post {item.get('id')}", reason))
    return result


# Key of horseshoe's own envelope for comments of one post: ``{COMMENTS_OF: post_id, "data": [...]}``.
COMMENTS_OF = "horseshoe_comments_of"


def _explain_comments(payload: dict[str, Any], account: str | None) -> ParseResult:
    if account is None:
        raise BadInput("comments need --account (the Page id) to tell the Page's own comments apart")
    post_id = meta.id_str(payload.get(COMMENTS_OF), COMMENTS_OF)
    result = ParseResult()
    for index, item in enumerate(meta.as_list(payload.get("data"), "data")):
        with item_boundary(f"comments[{index}]", {COMMENTS_OF: post_id, "data": [item]}):
            found = comment_from_graph(account, post_id, meta.as_dict(item, f"comments[{index}]"))
            if found is None:
                result.skipped.append(Skipped(f"comment {index}", "the Page's own comment (or its author is hidden)"))
            else:
                result.mentions.append(found)
    return result


def comment_from_graph(page_id: str, post_id: str, raw: dict[str, Any]) -> Mention | None:
    """A Comment node from ``/{post-id}/comments`` -> Mention (None for the Page's own comments)."""
    sender = raw.get("from")
    if not isinstance(sender, dict) or not sender.get("id"):
        return None  # Graph hides the author of comments we may not see; nothing to answer to
    author_id = meta.id_str(sender.get("id"), "comment.from.id")
    if author_id == page_id:
        return None
    comment_id = meta.id_str(raw.get("id"), "comment.id")
    parent = raw.get("parent")
    parent_id = meta.id_str(parent.get("id"), "comment.parent.id") if isinstance(parent, dict) else post_id
    attachments: list[Attachment] = []
    attachment = raw.get("attachment")
    if isinstance(attachment, dict):
        media = attachment.get("media")
        image = media.get("image") if isinstance(media, dict) else None
        src = image.get("src") if isinstance(image, dict) else None
        if isinstance(src, str) and src:
            attachments.append(Attachment(url=src, type=str(attachment.get("type") or "image")))
    return meta.build_mention(
        network=NAME,
        external_id=comment_id,
        thread_id=post_id,
        parent_id=parent_id,
        kind=Kind.COMMENT if parent_id == post_id else Kind.REPLY,
        author=Author(external_id=author_id, name=meta.opt_str(sender.get("name"), "comment.from.name")),
        text=meta.opt_str(raw.get("message"), "comment.message") or "",
        created_at=meta.to_datetime(raw.get("created_time"), "comment.created_time"),
        url=raw.get("permalink_url") if isinstance(raw.get("permalink_url"), str) else _url(comment_id),
        attachments=attachments,
        account=page_id,
        extra={"post_id": post_id},
    )


def post_from_graph(page_id: str, raw: dict[str, Any]) -> Mention | None:
    sender = raw.get("from")
    if not isinstance(sender, dict) or not sender.get("id"):
        return None
    author_id = meta.id_str(sender.get("id"), "post.from.id")
    if author_id == page_id:
        return None  # the Page's own post: its comments matter, the post itself is not a mention
    post_id = meta.id_str(raw.get("id"), "post.id")
    return meta.build_mention(
        network=NAME,
        external_id=post_id,
        thread_id=post_id,
        kind=Kind.POST,
        author=Author(external_id=author_id, name=meta.opt_str(sender.get("name"), "post.from.name")),
        text=meta.opt_str(raw.get("message"), "post.message") or "",
        created_at=meta.to_datetime(raw.get("created_time"), "post.created_time"),
        url=raw.get("permalink_url") if isinstance(raw.get("permalink_url"), str) else _url(post_id),
        account=page_id,
        extra={"post_id": post_id},
    )


class FacebookConnector(meta.MetaWebhookConnector):
    name = NAME
    credentials_model = meta.FacebookCredentials
    settings_model = meta.FacebookSettings
    display_name = "Facebook Pages"
    link_hosts = ("facebook.com", "fb.com")
    # One Meta app has one callback URL for the ``page`` object: feed changes and messages arrive in
    # the same body, and the host hands it to the Page's messenger account too.
    webhook_siblings = ("messenger",)

    def parse_payload(self, payload: Any, account: str | None = None) -> list[Mention]:
        return self.explain_payload(payload, account).mentions

    def explain_payload(self, payload: Any, account: str | None = None) -> ParseResult:
        """A ``page`` webhook body, or a ``/{page-id}/feed`` poll answer (needs the Page id)."""
        if isinstance(payload, dict) and "data" in payload and "object" not in payload:
            return explain_feed_answer(payload, account)
        return explain_feed_payload(payload, account)

    # -- poll --------------------------------------------------------------------------------

    def poll(self, account: AccountContext, cursor: str | None) -> PollPage:
        client = meta.GraphClient(account)
        page_id = meta.credential(account, meta.PAGE_ID, account.external_id)
        limit = int(account.settings.get("page_size", self.limits().page_size))
        state = meta.resume(account.settings, cursor)
        if isinstance(state, PollPage):
            return state
        since_ts = state.since

        def parents(after: str | None) -> tuple[list[dict[str, Any]], str | None]:
            data = client.get(f"{page_id}/feed", {"fields": POST_FIELDS, "limit": limit, "after": after})
            return meta.page_of(data, "feed")

        def parent_mentions(raw: dict[str, Any]) -> list[Mention]:
            found = post_from_graph(page_id, raw)
            return [found] if found else []

        def parent_time(raw: dict[str, Any]) -> datetime:
            return meta.to_datetime(raw.get("updated_time") or raw.get("created_time"), "post.updated_time")

        def wants_children(raw: dict[str, Any], since: datetime) -> bool:
            return parent_time(raw) >= since

        def children(post_id: str, after: str | None) -> tuple[list[Mention], str | None]:
            data = client.get(
                f"{post_id}/comments",
                {
                    "fields": COMMENT_FIELDS,
                    "filter": "stream",
                    "order": "chronological",
                    "since": since_ts,
                    "limit": limit,
                    "after": after,
                },
            )
            items, next_after = meta.page_of(data, "comments")
            found: list[Mention] = []
            for index, item in enumerate(items):
                with item_boundary(f"comments[{index}]", {COMMENTS_OF: post_id, "data": [item]}):
                    comment = comment_from_graph(page_id, post_id, item)
                    if comment is not None:
                        found.append(comment)
            return found, next_after

        spec = meta.SweepSpec(
            parents=parents,
            parent_mentions=parent_mentions,
            parent_time=parent_time,
            wants_children=wants_children,
            children=children,
            lookback=timedelta(days=float(account.settings.get("lookback_days", 7))),
        )
        return meta.run_sweep(spec, state)

    # -- replies -----------------------------------------------------------------------------

    def post_reply(self, account: AccountContext, reply: Reply) -> PostResult:
        target = reply.in_reply_to or reply.thread_id
        if not target:
            raise FatalError("a Facebook reply needs in_reply_to (a comment or post id)", code="no_target")
        refuse_if_too_long(reply.text, MAX_COMMENT, network="Facebook")
        body = {"message": reply.text, **comment_photo(reply.attachments, "facebook")}
        with meta.gone_as_deleted("Facebook", target):
            result = meta.GraphClient(account).post(f"{target}/comments", body)
        comment_id = result.get("id") if isinstance(result, dict) else None
        if not isinstance(comment_id, str):
            raise OutcomeUnknown("Graph answered a comment without an id")
        return PostResult(external_id=comment_id, url=_url(comment_id))

    def send_private(self, account: AccountContext, reply: Reply) -> PostResult:
        """Private reply to a comment/visitor post: once per comment, within 7 days of its creation."""
        if not reply.in_reply_to:
            raise FatalError(
                "Facebook commenters can only be contacted privately through a private reply to their "
                "comment; set in_reply_to to the comment id (or use the messenger network for a PSID)",
                code="unsupported",
            )
        client = meta.GraphClient(account)
        page_id = meta.credential(account, meta.PAGE_ID, account.external_id)
        target = reply.in_reply_to
        # A visitor post is its own thread; anything else answered privately is a comment.
        is_comment = reply.thread_id != target
        fields = "id,created_time,can_reply_privately" if is_comment else "id,created_time"
        with meta.gone_as_deleted("Facebook", target):
            node = client.get(target, {"fields": fields})
        created = meta.to_datetime(node.get("created_time") if isinstance(node, dict) else None, "created_time")
        age = meta.now_utc() - created
        if age > meta.PRIVATE_REPLY_WINDOW:
            raise FatalError(
                f"private replies are allowed within 7 days; {target} is {age.days} days old",
                code="window_closed",
            )
        if is_comment and isinstance(node, dict) and node.get("can_reply_privately") is False:
            raise FatalError(
                f"{target} was already answered privately (one private reply per comment)",
                code="already_replied",
            )
        recipient = {"comment_id": target} if is_comment else {"post_id": target}
        with meta.gone_as_deleted("Facebook", target):
            return send_conversation(client, page_id, recipient, reply.text, {"messaging_type": "RESPONSE"},
                                     reply.attachments)  # fmt: skip

    def fetch_profile(self, account: AccountContext, author_external_id: str) -> SocialProfile | None:
        if author_external_id == UNKNOWN_AUTHOR:
            return None
        try:
            data = meta.GraphClient(account).get(author_external_id, {"fields": "id,name,link,picture"})
        except FatalError as exc:
            if exc.code == "100":  # "Unsupported get request": the person's node is not visible to us
                return None
            raise
        if not isinstance(data, dict):
            return None
        picture = data.get("picture")
        avatar = None
        if isinstance(picture, dict) and isinstance(picture.get("data"), dict):
            avatar = picture["data"].get("url")
        return SocialProfile(
            network=NAME,
            external_id=author_external_id,
            name=data.get("name") if isinstance(data.get("name"), str) else None,
            avatar_url=avatar if isinstance(avatar, str) else None,
            profile_url=data.get("link") if isinstance(data.get("link"), str) else None,
        )

    def limits(self) -> Limits:
        # Comment text: 8000 characters (Facebook's comment length limit). Page token requests fall
        # under Business Use Case limits: 4800 calls x engaged users per rolling 24 h; we pace by the
        # usage headers instead of a fixed budget, so requests_per_window stays unset.
        return Limits(max_text_length=8000, poll_interval_seconds=300, page_size=100)


@hookimpl
def horseshoe_register_connectors() -> list[Connector]:
    return [FacebookConnector()]
