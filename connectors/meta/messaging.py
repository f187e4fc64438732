"""Messaging events (Messenger Platform ``messaging[]``; Instagram Messaging uses the same shape) and
the Send API with its messaging-window policy, shared by Messenger and Instagram."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from plugin.connector import Skipped, item_boundary
from plugin.errors import BadInput, FatalError, OutcomeUnknown
from plugin.models import Attachment, Author, Kind, Mention, Visibility

from .fields import as_dict, build_mention, to_datetime
from .graph import GraphClient, page_of
from .models import MessagingEvent, parse
from .webhook import entries, parts


def _attachments(raw: list[Any] | None, where: str) -> list[Attachment]:
    found: list[Attachment] = []
    for index, value in enumerate(raw or []):
        item = as_dict(value, f"{where}.attachments[{index}]")
        payload = item.get("payload")
        url = payload.get("url") if isinstance(payload, dict) else None
        if isinstance(url, str) and url:
            kind = item.get("type")
            found.append(Attachment(url=url, type=kind if isinstance(kind, str) and kind else "file"))
    return found


def parse_messaging_event(
    network: str, account: str, raw: Any, where: str, *, entry_time: datetime | None
) -> Mention | None:
    """One ``messaging[]`` item -> Mention, or None for what is not a customer's message.

    Skipped (documented): echoes of our own messages (``is_echo`` or sender == our account),
    deliveries, reads, reactions, postbacks, referrals and optins. ``message_edit`` ->
    ``event="edited"``; an Instagram ``is_deleted`` (unsent) message -> ``event="deleted"``.
    thread_id is the customer's PSID/IGSID: one conversation per customer per account.
    """
    event = parse(MessagingEvent, as_dict(raw, where), where)
    sender = event.sender.id
    if sender == account:
        return None  # the page/IG account itself (echo of our own send)
    created = event.timestamp or entry_time
    if created is None:
        raise BadInput(f"{where}: no timestamp")
    common: dict[str, Any] = {
        "network": network,
        "kind": Kind.DIRECT,
        "visibility": Visibility.PRIVATE,
        "thread_id": sender,
        "author": Author(external_id=sender),
        "created_at": created,
        "account": account,
    }
    if event.message is not None:
        message = event.message
        if message.is_echo is True:
            return None
        reply_to = message.reply_to
        parent = None
        if isinstance(reply_to, dict) and isinstance(reply_to.get("mid"), str):
            parent = reply_to["mid"]
        return build_mention(
            external_id=message.mid,
            parent_id=parent,
            text=message.text or "",
            attachments=_attachments(message.attachments, f"{where}.message"),
            event="deleted" if message.is_deleted is True else "created",
            extra={"mid": message.mid, "recipient_id": sender},
            **common,
        )
    if event.message_edit is not None:
        edit = event.message_edit
        return build_mention(
            external_id=edit.mid,
            text=edit.text or "",
            event="edited",
            extra={"mid": edit.mid, "recipient_id": sender, "num_edit": edit.num_edit},
            **common,
        )
    return None  # delivery / read / reaction / postback / referral / optin: not a customer text


def parse_messaging_payload(
    network: str, payload: Any, expected_object: str, account: str | None, skipped: list[Skipped] | None = None
) -> list[Mention]:
    """Every customer message in a webhook body of ``object == expected_object``; the other
    ``messaging[]`` items are noted in ``skipped``."""
    mentions: list[Mention] = []
    for entry in entries(payload, expected_object, account):
        for index, raw in parts(entry, "messaging"):
            where = f"{entry.where}.messaging[{index}]"
            with item_boundary(where, entry.body_with(messaging=raw)):
                mention = parse_messaging_event(network, entry.id, raw, where, entry_time=entry.time)
                if mention is not None:
                    mentions.append(mention)
                elif skipped is not None:
                    skipped.append(Skipped(where, "not a customer's message (our echo, a delivery, read or reaction)"))
    return mentions


# Messaging window (Send API policy)

STANDARD_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
PRIVATE_REPLY_WINDOW = timedelta(days=7)


def messaging_type_for(last_inbound: datetime | None, now: datetime, *, human_agent: bool) -> dict[str, str]:
    """RESPONSE inside 24 h, MESSAGE_TAG/HUMAN_AGENT up to 7 days, else FatalError(window_closed)."""
    if last_inbound is None:
        raise FatalError("the customer has not messaged this account: no messaging window", code="window_closed")
    age = now - last_inbound
    if age <= STANDARD_WINDOW:
        return {"messaging_type": "RESPONSE"}
    if human_agent and age <= HUMAN_AGENT_WINDOW:
        return {"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}
    limit = "7 days (HUMAN_AGENT)" if human_agent else "24 hours"
    raise FatalError(f"last customer message is {age} old, beyond the {limit} messaging window", code="window_closed")


def last_inbound_time(client: GraphClient, page_id: str, platform: str, user_id: str) -> datetime | None:
    """Time of the customer's latest message to us, read from ``/{page-id}/conversations?user_id=``."""
    data = client.get(
        f"{page_id}/conversations",
        {
            "platform": platform,
            "user_id": user_id,
            "fields": "id,updated_time,messages.limit(25){id,from,created_time}",
        },
    )
    conversations, _ = page_of(data, "conversations")
    latest: datetime | None = None
    for conversation in conversations:
        messages = conversation.get("messages")
        for message in messages.get("data", []) if isinstance(messages, dict) else []:
            sender = message.get("from") if isinstance(message, dict) else None
            if isinstance(sender, dict) and str(sender.get("id")) == user_id and message.get("created_time"):
                when = to_datetime(message["created_time"], "message.created_time")
                latest = when if latest is None or when > latest else latest
    return latest


def send_message(
    client: GraphClient,
    page_id: str,
    recipient: dict[str, str],
    text: str,
    kind: dict[str, str],
    attachments: Iterable[Attachment] = (),
) -> str:
    """``POST /{page-id}/messages``; returns the ``message_id`` (mid). Attachments go as extra messages
    would double-send on a retry, so only the first attachment URL rides along when there is no text."""
    message: dict[str, Any] = {"text": text}
    body: dict[str, Any] = {"recipient": recipient, "message": message, **kind}
    files = list(attachments)
    if files and not text:
        body["message"] = {"attachment": {"type": files[0].type, "payload": {"url": files[0].url}}}
    result = client.post(f"{page_id}/messages", body)
    mid = result.get("message_id") if isinstance(result, dict) else None
    if not isinstance(mid, str) or not mid:
        raise OutcomeUnknown("Send API answered without a message_id")
    return mid
