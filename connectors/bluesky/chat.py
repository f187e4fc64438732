"""Bluesky direct messages in: ``chat.bsky.convo.listConvos`` -> ``getMessages``, as private mentions.

Chat is served by the chat service behind the PDS proxy (header ``atproto-proxy:
did:web:api.bsky.chat#bsky_chat``; the SDK's ``with_bsky_chat_proxy()``), and an app password reaches it
only when created with "Allow access to your direct messages" — hence the opt-in ``chat_enabled``.

The durable cursor is one high-water mark: the newest ``rev`` handed to the host. Revs are TIDs, ordered
in time, and a conversation's ``rev`` moves with its latest activity, so a poll lists conversations
(most recently active first) until one is at or below the mark, then reads each such conversation's
messages (newest first) down to the mark. The mark moves only in the cursor returned with the
mentions, so a crash before the host stores them replays the same messages (deduplicated by id).

Normalization: ``external_id`` = ``"{convoId}:{messageId}"`` (what ``send_private`` returns for our own
messages), ``thread_id`` = the convo id, kind ``direct``, visibility ``private``, author = the sender's
DID with the handle from the conversation's members. Our own messages and deleted ones are skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from atproto import Client
from atproto_client.models.utils import get_model_as_dict
from pydantic import ValidationError

from plugin.connector import Skipped, item_boundary
from plugin.errors import AuthError, BadInput
from plugin.models import Author, Kind, Mention, Visibility

from .models import ChatMessage, Convo, ConvoMember, Convos, parse
from .values import NETWORK, as_datetime

log = logging.getLogger(__name__)
MESSAGE_VIEW = "chat.bsky.convo.defs#messageView"
DELETED_VIEW = "chat.bsky.convo.defs#deletedMessageView"
Run = Callable[[Callable[[Client], Any]], Any]


def message_to_mention(
    message: Any, view: Convo, account: str, skipped: list[Skipped], path: str = "message"
) -> Mention | None:
    """A ``#messageView`` in ``view`` (a ``#convoView``) -> a private mention; None (noted) otherwise.

    ``path`` names the message in a refusal (``listConvos.convos[0].lastMessage``)."""
    found = parse(ChatMessage, message, path)
    where = f"convo {view.id} message {found.id}"
    did = found.sender.did
    if found.type == DELETED_VIEW or found.text is None:
        skipped.append(Skipped(where, "the message was deleted"))
        return None
    if did == account:
        skipped.append(Skipped(where, "our own message"))
        return None
    member = next((m for m in view.members or () if m.did == did), ConvoMember())
    handle = member.handle
    try:
        return Mention(
            network=NETWORK,
            external_id=f"{view.id}:{found.id}",
            thread_id=view.id,
            kind=Kind.DIRECT,
            visibility=Visibility.PRIVATE,
            author=Author(
                external_id=did,
                handle=handle,
                name=member.display_name,
                avatar_url=member.avatar,
                profile_url=f"https://bsky.app/profile/{handle or did}",
            ),
            text=found.text,
            created_at=as_datetime(found.sent_at),
            account=account,
            extra={"convo_id": view.id, "message_id": found.id, "rev": found.rev},
        )
    except ValidationError as exc:
        raise BadInput(f"bluesky: {where} does not normalize: {exc.errors()[0].get('msg')}") from exc


def _call(method: str, params: dict[str, Any]) -> Callable[[Client], Any]:
    """A ``chat.bsky.convo.<method>`` call through the chat proxy, for the connector's ``_run``."""

    def call(client: Client) -> Any:
        return getattr(client.with_bsky_chat_proxy().chat.bsky.convo, method)(params=params)

    return call


def _read(run: Run, method: str, params: dict[str, Any]) -> dict[str, Any]:
    try:
        found: dict[str, Any] = get_model_as_dict(run(_call(method, params)))
    except AuthError as exc:
        # The session works for everything else: what is missing is the app password's chat scope.
        raise AuthError(
            "Bluesky refused the chat service: the app password needs 'Allow access to your direct "
            f"messages' (or turn this account's chat_enabled off): {exc}",
            code="chat_scope",
        ) from exc
    return found


def read_chat(
    run: Run, account: str, mark: str | None, *, page_size: int, max_pages: int
) -> tuple[list[Mention], str, list[Skipped]]:
    """New messages after ``mark`` (None = start now: remember the newest rev, read nothing).

    Returns (mentions oldest first, the new mark, what was skipped)."""
    fresh: list[dict[str, Any]] = []
    top = mark or ""
    cursor: str | None = None
    for _ in range(max_pages):
        params: dict[str, Any] = {"limit": page_size, **({"cursor": cursor} if cursor else {})}
        page = _read(run, "list_convos", params)
        reached = False
        for convo in page.get("convos") or []:
            rev = str(convo.get("rev") or "")
            if mark is not None and rev <= mark:
                reached = True  # most recently active first: everything further is older
                break
            top = max(top, rev)
            fresh.append(convo)
        cursor = page.get("cursor")
        if reached or not cursor:
            break
    else:
        # More active conversations than one poll may walk: keep the old mark, so the ones not reached
        # are not skipped over (what was read is handed over again next time; the inbox deduplicates).
        log.warning("bluesky chat: more than %s pages of active conversations since the last poll", max_pages)
        top = mark or top
    if mark is None:
        return [], top, []
    mentions: list[Mention] = []
    skipped: list[Skipped] = []
    for index, convo in enumerate(fresh):
        with item_boundary(f"listConvos.convos[{index}]", {"convos": [convo]}):
            mentions.extend(_new_messages(run, account, convo, mark, page_size, max_pages, skipped))
    mentions.sort(key=lambda m: (m.created_at, m.external_id))
    return mentions, top, skipped


def _new_messages(
    run: Run, account: str, convo: dict[str, Any], mark: str, page_size: int, max_pages: int, skipped: list[Skipped]
) -> list[Mention]:
    view = parse(Convo, convo, "listConvos convo")
    found: list[Mention] = []
    cursor: str | None = None
    for _ in range(max_pages):
        params: dict[str, Any] = {"convo_id": view.id, "limit": page_size}
        if cursor:
            params["cursor"] = cursor
        page = _read(run, "get_messages", params)
        for message in page.get("messages") or []:
            if str(message.get("rev") or "") <= mark:
                return found  # newest first: the rest was handed over by an earlier poll
            where = f"convo {view.id} message {message.get('id')}"
            # Re-parsed alone as the conversation with this message as its last one (parse_convos).
            with item_boundary(where, {"convos": [{**convo, "lastMessage": message}]}):
                mention = message_to_mention(message, view, account, skipped, where)
                if mention is not None:
                    found.append(mention)
        cursor = page.get("cursor")
        if not cursor:
            return found
    log.warning("bluesky chat: convo %s has over %s pages of new messages; older ones not read", convo["id"], max_pages)
    return found


def parse_convos(payload: Any, account: str, skipped: list[Skipped]) -> list[Mention]:
    """``listConvos`` output (for ``horseshoe parse``): each conversation's ``lastMessage``."""
    mentions: list[Mention] = []
    for index, convo in enumerate(parse(Convos, payload, "listConvos").convos):
        with item_boundary(f"listConvos.convos[{index}]", {"convos": [convo]}):
            found = _last_message(convo, index, account, skipped)
            if found is not None:
                mentions.append(found)
    return mentions


def _last_message(convo: Any, index: int, account: str, skipped: list[Skipped]) -> Mention | None:
    view = parse(Convo, convo, f"listConvos.convos[{index}]")
    if view.last_message is None:
        skipped.append(Skipped(f"convo {view.id}", "no lastMessage (empty conversation)"))
        return None
    where = f"listConvos.convos[{index}].lastMessage"
    return message_to_mention(view.last_message, view, account, skipped, where)
