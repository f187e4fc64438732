"""Mastodon payloads (notifications, statuses, streaming events) -> Mention; HTML -> text."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlparse

from pydantic import ValidationError

from plugin.errors import BadInput
from plugin.models import (
    Attachment,
    Author,
    Kind,
    Mention,
    Visibility,
)

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
    acct = opt_text(account.get("acct"))
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
        name=opt_text(account.get("display_name")) or opt_text(account.get("username")),
        avatar_url=opt_text(account.get("avatar")),
        profile_url=opt_text(account.get("url")),
    )


def status_to_mention(
    status: Mapping[str, Any], account: str, *, event: str = "created", reason: str = "mention"
) -> Mention:
    """One Status entity (docs: entities/Status) as a normalized mention."""
    if not isinstance(status, Mapping) or not status.get("id"):
        raise BadInput("status.id is missing")
    status_id = str(status["id"])
    parent = opt_text(status.get("in_reply_to_id"))
    visibility = opt_text(status.get("visibility")) or "public"
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
        url=opt_text(status.get("url")) or opt_text(status.get("uri")),
        lang=opt_text(status.get("language")),
        attachments=attachments,
        account=account,
        event="edited" if event == "edited" else "created",
        extra={
            "visibility": visibility,
            "acct": author.handle,
            "in_reply_to_account_id": opt_text(status.get("in_reply_to_account_id")),
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


def id_key(value: str) -> tuple[int, str]:
    """Mastodon ids are integers cast to strings; compare by length then text."""
    return (len(value), value)

