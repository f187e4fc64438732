"""Mastodon payloads (notifications, statuses, streaming events) -> Mention; HTML -> text."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlparse

from pydantic import ValidationError

from plugin.connector import ParseResult, Skipped, item_boundary
from plugin.errors import BadInput
from plugin.models import (
    Attachment,
    Author,
    Kind,
    Mention,
    Visibility,
)

from .models import Account, Conversation, Notification, Status, StreamEvent, parse

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


def opt_text(value: Any) -> str | None:
    return None if value is None else str(value)


def _host(url: str | None) -> str | None:
    return (urlparse(url).hostname or None) if url else None


def full_acct(account: Account) -> str | None:
    """``user@domain`` for any account: local accounts' ``acct`` lacks the domain (docs: Account)."""
    acct = account.acct
    if not acct:
        return None
    if "@" in acct:
        return acct
    host = _host(account.url)
    return f"{acct}@{host}" if host else acct


def author_of(account: Account) -> Author:
    return Author(
        external_id=account.id,
        handle=full_acct(account),
        name=account.display_name or account.username,
        avatar_url=account.avatar,
        profile_url=account.url,
    )


def status_to_mention(status: Any, account: str, *, event: str = "created", reason: str = "mention") -> Mention:
    """One Status entity (docs: entities/Status) as a normalized mention."""
    return _status_mention(parse(Status, status, "status"), account, event=event, reason=reason)


def _status_mention(status: Status, account: str, *, event: str, reason: str) -> Mention:
    parent = status.in_reply_to_id
    visibility = status.visibility or "public"
    if visibility == "direct":
        kind = Kind.DIRECT
    elif reason == "quote" or status.quote:
        kind = Kind.QUOTE
    elif parent:
        kind = Kind.REPLY
    else:
        kind = Kind.POST
    try:
        # Inside the try: Author and Attachment validate too (bench fuzz seed 24 found a 300-digit
        # account id escaping as a raw ValidationError from Author).
        attachments = [
            Attachment(url=str(m.url or m.remote_url), type=m.type or "file")
            for m in status.media_attachments or ()
            if m.url or m.remote_url
        ]
        author = author_of(status.account)
        return Mention(
            network=NETWORK,
            external_id=status.id,
            # Without a lookup the thread root is unknown; the parent is the best cheap guess and
            # ``MastodonConnector.poll`` replaces it with the real root when resolving is enabled.
            thread_id=parent or status.id,
            parent_id=parent,
            kind=kind,
            visibility=Visibility.PRIVATE if visibility == "direct" else Visibility.PUBLIC,
            author=author,
            text=html_to_text(status.content or ""),
            created_at=status.created_at,
            url=status.url or status.uri,
            lang=status.language,
            attachments=attachments,
            account=account,
            event="edited" if event == "edited" else "created",
            extra={
                "visibility": visibility,
                "acct": author.handle,
                "in_reply_to_account_id": status.in_reply_to_account_id,
                "thread_root_resolved": parent is None,
            },
        )
    except ValidationError as exc:
        raise BadInput(f"mastodon: status {status.id} does not normalize: {exc.errors()[0].get('msg')}") from exc


def notification_to_mention(
    notification: Any, account: str, skipped: list[Skipped] | None = None, where: str = "notification"
) -> Mention | None:
    """A Notification entity; None for types that carry no customer status (follow, favourite...).

    ``where`` names it in a refusal (``[3]`` in a notifications array)."""
    found = parse(Notification, notification, where)
    if found.type not in _STATUS_TYPES or not found.status:
        if skipped is not None:
            wanted = ", ".join(_STATUS_TYPES)
            reason = f"type {found.type!r} carries no status to answer ({wanted} do)"
            skipped.append(Skipped(f"notification {found.id}", reason))
        return None
    status = parse(Status, found.status, f"{where}.status")
    mention = _status_mention(status, account, event=_STATUS_TYPES[found.type], reason=found.type)
    extra = {**mention.extra, "notification_id": found.id, "notification_type": found.type}
    return mention.model_copy(update={"extra": extra})


def conversation_to_mention(
    conversation: Any, account: str, skipped: list[Skipped], where: str = "conversation"
) -> Mention | None:
    """A Conversation entity (``GET /api/v1/conversations``): its ``last_status``, a direct message."""
    found = parse(Conversation, conversation, where)
    if found.last_status is None:
        skipped.append(Skipped(f"conversation {found.id}", "no last_status (nothing said yet)"))
        return None
    last = parse(Status, found.last_status, f"{where}.last_status")
    if account != "unknown" and last.account.id == account:
        skipped.append(Skipped(f"conversation {found.id}", "the last status is our own"))
        return None
    mention = _status_mention(last, account, event="created", reason="mention")
    extra = {**mention.extra, "conversation_id": str(found.id)}
    return mention.model_copy(update={"extra": extra})


def explain_mastodon_payload(payload: Any, account: str | None = None) -> ParseResult:
    """A notifications array, a conversations array (``/api/v1/conversations``), a single Notification,
    Conversation or Status, or a streaming event envelope."""
    brand = account or "unknown"
    result = ParseResult()
    # Which entity a payload is, is told by its keys: the entities share no discriminator field.
    items = payload if isinstance(payload, list) else [payload] if _is_conversation(payload) else None
    if items is not None:
        listed = isinstance(payload, list)
        for index, item in enumerate(items):
            conversation = _is_conversation(item)
            where = (
                (f"conversations[{index}]" if listed else "conversation") if conversation else f"notifications[{index}]"
            )
            with item_boundary(where, [item]):
                if conversation:
                    found = conversation_to_mention(item, brand, result.skipped, where)
                else:
                    found = notification_to_mention(item, brand, result.skipped, where)
                if found is not None:
                    result.mentions.append(found)
        return result
    if not isinstance(payload, Mapping):
        raise BadInput("mastodon: expected a JSON object or array")
    if "event" in payload and "payload" in payload:
        result.mentions.extend(_parse_stream_event(payload, brand, result.skipped))
        return result
    if "type" in payload and "account" in payload and "content" not in payload:
        found = notification_to_mention(payload, brand, result.skipped)
        result.mentions.extend([found] if found else [])
        return result
    if "content" in payload:
        result.mentions.append(status_to_mention(payload, brand))
        return result
    raise BadInput("mastodon: not a Mastodon notification, conversation or status")


def _is_conversation(item: Any) -> bool:
    return isinstance(item, Mapping) and "accounts" in item and "last_status" in item


def parse_mastodon_payload(payload: Any, account: str | None = None) -> list[Mention]:
    return explain_mastodon_payload(payload, account).mentions


def _deleted(status_id: Any) -> Mention:
    """Streaming ``delete``: the payload is only the deleted status's id (no author, no time), so the
    author is recorded as unknown; the stored mention keeps its real author (only its flag changes)."""
    if not isinstance(status_id, str) or not status_id.isdigit() or len(status_id) > 255:
        raise BadInput("mastodon: stream event delete.payload must be a status id")
    return Mention(
        network=NETWORK,
        external_id=status_id,
        thread_id=status_id,
        author=Author(external_id="unknown"),
        created_at=datetime.now(UTC),
        account="unknown",
        event="deleted",
    )


def _parse_stream_event(envelope: Any, account: str, skipped: list[Skipped]) -> list[Mention]:
    """Streaming API events (methods/streaming): ``notification`` and ``status.update`` carry JSON."""
    import json

    found = parse(StreamEvent, envelope, "stream event")
    if found.event == "delete":
        return [_deleted(found.payload)]
    if found.event not in ("notification", "status.update", "update"):
        skipped.append(Skipped(f"stream event {found.event}", "carries no status we can turn into a mention"))
        return []
    raw = found.payload
    try:
        body = json.loads(raw) if isinstance(raw, str) else raw  # a JSON text on the wire, an object once read
    except ValueError as exc:
        raise BadInput("mastodon: stream event.payload is not JSON") from exc
    if found.event == "notification":
        notified = notification_to_mention(body, account, skipped)
        return [notified] if notified else []
    return [status_to_mention(body, account, event="edited" if found.event == "status.update" else "created")]


# ---- id ordering ------------------------------------------------------------------------------------


def id_key(value: str) -> tuple[int, str]:
    """Mastodon ids are integers cast to strings; compare by length then text."""
    return (len(value), value)
