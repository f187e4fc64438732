"""Messenger connector: customers' direct messages to a Facebook Page, answered with the Send API.

Receive: Messenger Platform webhooks (object ``page``), ``entry[].messaging[]`` items:
``messages`` (``sender.id`` = PSID, ``recipient.id`` = Page id, ``timestamp`` ms, ``message{mid, text,
attachments, reply_to}``), ``message_edits`` (``message_edit{mid, text, num_edit}``) -> event
``edited``. Echoes (``message.is_echo`` / sender == Page), deliveries, reads, reactions and postbacks
are skipped. Feed ``changes`` in the same body are the ``facebook`` connector's part.

Normalization: ``external_id`` = ``mid``, kind ``direct``, visibility ``private``, author = PSID,
``thread_id`` = the PSID itself (PSIDs are page-scoped and unique, so "one customer, one thread";
it is also the Send API recipient, so a reply needs nothing else), ``parent_id`` = ``reply_to.mid``.

Reply (``post_reply`` and ``send_private`` both send a message; a Messenger thread is private):
``POST /{page-id}/messages {recipient: {id: PSID}, messaging_type, message: {text}}``. The connector
reads the customer's latest message time from ``/{page-id}/conversations?platform=messenger&user_id=``
and picks ``RESPONSE`` within the 24-hour standard window, ``MESSAGE_TAG`` + ``HUMAN_AGENT`` up to 7
days (setting ``human_agent``, default true: the app needs the Human Agent permission), else raises
``FatalError(code="window_closed")`` so the agent is told. If Meta itself answers "(#10) outside of
allowed window" (code 10 / subcode 2018278) that is also ``window_closed``.

Poll (fallback/backfill): ``GET /{page-id}/conversations?platform=messenger`` (most recently updated
first; conversations have no time-based pagination, so we walk ``after`` cursors until a conversation
was last updated before the watermark), then ``GET /{conversation-id}/messages`` per updated thread.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pluggy

from plugin.connector import AccountContext, Connector, ParseResult, PollPage, Skipped, item_boundary
from plugin.errors import BadInput, FatalError
from plugin.models import Author, Kind, Limits, Mention, PostResult, Reply, SocialProfile, Visibility

from . import meta
from .meta.outbound import send_conversation

hookimpl = pluggy.HookimplMarker("horseshoe")

NAME = "messenger"
MESSAGE_FIELDS = "id,message,from,to,created_time,attachments"


def message_from_graph(network: str, account: str, raw: dict[str, Any]) -> Mention | None:
    """A Message node from ``/{conversation-id}/messages`` -> Mention (None for our own messages)."""
    sender = raw.get("from")
    if not isinstance(sender, dict) or not sender.get("id"):
        return None
    author_id = meta.id_str(sender.get("id"), "message.from.id")
    if author_id == account:
        return None
    mid = meta.id_str(raw.get("id"), "message.id")
    handle = sender.get("username") if isinstance(sender.get("username"), str) else None
    name = sender.get("name") if isinstance(sender.get("name"), str) else None
    return meta.build_mention(
        network=network,
        external_id=mid,
        thread_id=author_id,
        kind=Kind.DIRECT,
        visibility=Visibility.PRIVATE,
        author=Author(external_id=author_id, handle=handle, name=name),
        text=meta.opt_str(raw.get("message"), "message.message") or "",
        created_at=meta.to_datetime(raw.get("created_time"), "message.created_time"),
        account=account,
        extra={"mid": mid, "recipient_id": author_id},
    )


def explain_graph_messages(network: str, payload: dict[str, Any], account: str | None) -> ParseResult:
    """A Graph poll answer: ``/{conversation-id}/messages`` (``{"data": [Message]}``) or
    ``/{page-id}/conversations?fields=messages{...}`` (``{"data": [{"id", "messages": {"data": [...]}}]}``)."""
    if account is None:
        raise BadInput(
            f"{network}: Graph conversation messages name sender and recipient but not which one is us; "
            "pass --account (the Page id, or the Instagram account id) to tell our own messages apart"
        )
    result = ParseResult()
    for index, item in enumerate(meta.as_list(payload.get("data"), "data")):
        node = meta.as_dict(item, f"data[{index}]")
        nested = node.get("messages")
        where = f"data[{index}].messages.data"
        messages = meta.as_list(nested.get("data"), where) if isinstance(nested, dict) else [node]
        for position, raw in enumerate(messages):
            spot = f"data[{index}].messages[{position}]"
            with item_boundary(spot, {"data": [raw]}):
                found = message_from_graph(network, account, meta.as_dict(raw, spot))
                if found is not None:
                    result.mentions.append(found)
                else:
                    result.skipped.append(Skipped(f"message {raw.get('id')}", "sent by us (or its sender is hidden)"))
    return result


def poll_conversations(
    network: str,
    platform: str,
    account: AccountContext,
    cursor: str | None,
    page_id: str,
    own_id: str,
    limit: int,
) -> PollPage:
    """Sweep ``/{page-id}/conversations?platform=`` -> ``/{conversation-id}/messages`` (shared with IG)."""
    client = meta.GraphClient(account)
    state = meta.resume(account.settings, cursor)
    if isinstance(state, PollPage):
        return state

    def parents(after: str | None) -> tuple[list[dict[str, Any]], str | None]:
        data = client.get(
            f"{page_id}/conversations",
            {"platform": platform, "fields": "id,updated_time", "limit": limit, "after": after},
        )
        return meta.page_of(data, "conversations")

    def parent_time(raw: dict[str, Any]) -> datetime:
        return meta.to_datetime(raw.get("updated_time"), "conversation.updated_time")

    def children(conversation_id: str, after: str | None) -> tuple[list[Mention], str | None]:
        data = client.get(f"{conversation_id}/messages", {"fields": MESSAGE_FIELDS, "limit": limit, "after": after})
        items, next_after = meta.page_of(data, "messages")
        mentions: list[Mention] = []
        oldest: list[datetime] = []
        for index, item in enumerate(items):
            with item_boundary(f"messages[{index}]", {"data": [item]}):
                oldest.append(meta.to_datetime(item.get("created_time"), "message.created_time"))
                found = message_from_graph(network, own_id, item)
                if found is not None:
                    mentions.append(found)
        # Messages come newest first: once a page reaches before the watermark, older pages are done.
        if oldest and min(oldest) < datetime.fromtimestamp(state.since, tz=UTC):
            next_after = None
        return mentions, next_after

    spec = meta.SweepSpec(
        parents=parents,
        parent_mentions=lambda raw: [],
        parent_time=parent_time,
        wants_children=lambda raw, since: parent_time(raw) >= since,
        children=children,
        lookback=timedelta(0),
    )
    return meta.run_sweep(spec, state)


def send_dm(network: str, platform: str, account: AccountContext, reply: Reply, page_id: str) -> PostResult:
    """Send API with the messaging type the customer's window allows (shared with Instagram)."""
    recipient = reply.recipient_id or reply.thread_id
    if not recipient:
        raise FatalError(f"a {network} message needs recipient_id (the customer's id)", code="no_recipient")
    client = meta.GraphClient(account)
    human_agent = bool(account.settings.get("human_agent", True))
    with meta.gone_as_deleted(platform.title(), recipient):
        last = meta.last_inbound_time(client, page_id, platform, recipient)
        kind = meta.messaging_type_for(last, meta.now_utc(), human_agent=human_agent)
        return send_conversation(client, page_id, {"id": recipient}, reply.text, kind, reply.attachments, platform)


class MessengerConnector(meta.MetaWebhookConnector):
    name = NAME
    credentials_model = meta.MessengerCredentials
    settings_model = meta.MessengerSettings
    display_name = "Facebook Messenger"
    link_hosts = ("facebook.com", "messenger.com", "m.me")
    # One Meta app has one callback URL for the ``page`` object: feed changes and messages arrive in
    # the same body, and the host hands it to the Page's facebook account too.
    webhook_siblings = ("facebook",)

    def parse_payload(self, payload: Any, account: str | None = None) -> list[Mention]:
        return self.explain_payload(payload, account).mentions

    def explain_payload(self, payload: Any, account: str | None = None) -> ParseResult:
        """A ``page`` webhook body, or a Graph conversation-messages poll answer."""
        if isinstance(payload, dict) and "data" in payload and "object" not in payload:
            return explain_graph_messages(NAME, payload, account)
        result = ParseResult()
        result.mentions.extend(meta.parse_messaging_payload(NAME, payload, "page", account, result.skipped))
        for entry in meta.entries(payload, "page", account):
            if entry.changes:
                result.skipped.append(Skipped(f"{entry.where}.changes", "feed changes: the facebook connector's part"))
        return result

    def poll(self, account: AccountContext, cursor: str | None) -> PollPage:
        page_id = meta.credential(account, meta.PAGE_ID, account.external_id)
        limit = int(account.settings.get("page_size", self.limits().page_size))
        return poll_conversations(NAME, "messenger", account, cursor, page_id, page_id, limit)

    def post_reply(self, account: AccountContext, reply: Reply) -> PostResult:
        """A Messenger conversation is private: answering "in the thread" is sending a message."""
        return self.send_private(account, reply)

    def send_private(self, account: AccountContext, reply: Reply) -> PostResult:
        page_id = meta.credential(account, meta.PAGE_ID, account.external_id)
        return send_dm(NAME, "messenger", account, reply, page_id)

    def fetch_profile(self, account: AccountContext, author_external_id: str) -> SocialProfile | None:
        """User Profile API: ``GET /{PSID}?fields=first_name,last_name,profile_pic``."""
        try:
            data = meta.GraphClient(account).get(author_external_id, {"fields": "first_name,last_name,profile_pic"})
        except FatalError as exc:
            if exc.code == "100":
                return None
            raise
        if not isinstance(data, dict):
            return None
        parts = [data.get("first_name"), data.get("last_name")]
        name = " ".join(p for p in parts if isinstance(p, str) and p) or None
        pic = data.get("profile_pic")
        return SocialProfile(
            network=NAME,
            external_id=author_external_id,
            name=name,
            avatar_url=pic if isinstance(pic, str) else None,
        )

    def limits(self) -> Limits:
        # Send API text: 2000 characters. Messenger rate: ~300 calls/s per page; budget via usage headers.
        return Limits(max_text_length=2000, poll_interval_seconds=300, page_size=25)


@hookimpl
def horseshoe_register_connectors() -> list[Connector]:
    return [MessengerConnector()]
