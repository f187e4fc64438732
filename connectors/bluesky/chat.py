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
from collections.abc import Callable, Mapping
from typing import Any

from atproto import Client
from atproto_client.models.utils import get_model_as_dict
from pydantic import ValidationError

from plugin.connector import Skipped
from plugin.errors import AuthError, BadInput
from plugin.models import Author, Kind, Mention, Visibility

from .values import NETWORK, as_datetime

log = logging.getLogger(__name__)
MESSAGE_VIEW = "chat.bsky.convo.defs#messageView"
DELETED_VIEW = "chat.bsky.convo.defs#deletedMessageView"
Run = Callable[[Callable[[Client], Any]], Any]


def message_to_mention(
    message: Mapping[str, Any], convo: Mapping[str, Any], account: str, skipped: list[Skipped]
) -> Mention | None:
    """A ``#messageView`` in ``convo`` (a ``#convoView``) -> a private mention; None (noted) otherwise."""
    convo_id = convo.get("id")
    message_id = message.get("id")
    if not isinstance(convo_id, str) or not isinstance(message_id, str):
        raise BadInput("chat message without a convo id or message id")
    where = f"convo {convo_id} message {message_id}"
    sender = message.get("sender")
    did = sender.get("did") if isinstance(sender, Mapping) else None
    if not isinstance(did, str) or not did.startswith("did:"):
        raise BadInput(f"{where}: sender.did is missing")
    if message.get("$type") == DELETED_VIEW or "text" not in message:
        skipped.append(Skipped(where, "the message was deleted"))
        return None
    if did == account:
        skipped.append(Skipped(where, "our own message"))
        return None
    text = message.get("text")
    if not isinstance(text, str):
        raise BadInput(f"{where}: text is not a string")
    members = convo.get("members")
    listed = members if isinstance(members, list) else []
    member = next((m for m in listed if isinstance(m, Mapping) and m.get("did") == did), {})
    handle = member.get("handle") if isinstance(member.get("handle"), str) else None
    try:
        return Mention(
            network=NETWORK,
            external_id=f"{convo_id}:{message_id}",
            thread_id=convo_id,
            kind=Kind.DIRECT,
            visibility=Visibility.PRIVATE,
            author=Author(
                external_id=did,
                handle=handle,
                name=member.get("displayName") if isinstance(member.get("displayName"), str) else None,
                avatar_url=member.get("avatar") if isinstance(member.get("avatar"), str) else None,
                profile_url=f"https://bsky.app/profile/{handle or did}",
            ),
            text=text,
            created_at=as_datetime(message.get("sentAt")),
            account=account,
            extra={"convo_id": convo_id, "message_id": message_id, "rev": message.get("rev")},
        )
    except ValidationError as exc:
        raise BadInput(f"{where} does not normalize: {exc.errors()[0].get('msg')}") from exc


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
    for convo in fresh:
        mentions.extend(_new_messages(run, account, convo, mark, page_size, max_pages, skipped))
    mentions.sort(key=lambda m: (m.created_at, m.external_id))
    return mentions, top, skipped


def _new_messages(
    run: Run, account: str, convo: dict[str, Any], mark: str, page_size: int, max_pages: int, skipped: list[Skipped]
) -> list[Mention]:
    found: list[Mention] = []
    cursor: str | None = None
    for _ in range(max_pages):
        params: dict[str, Any] = {"convo_id": convo["id"], "limit": page_size}
        if cursor:
            params["cursor"] = cursor
        page = _read(run, "get_messages", params)
        for message in page.get("messages") or []:
            if str(message.get("rev") or "") <= mark:
                return found  # newest first: the rest was handed over by an earlier poll
            mention = message_to_mention(message, convo, account, skipped)
            if mention is not None:
                found.append(mention)
        cursor = page.get("cursor")
        if not cursor:
            return found
    log.warning("bluesky chat: convo %s has over %s pages of new messages; older ones not read", convo["id"], max_pages)
    return found


def parse_convos(payload: Mapping[str, Any], account: str, skipped: list[Skipped]) -> list[Mention]:
    """``listConvos`` output (for ``horseshoe parse``): each conversation's ``lastMessage``."""
    convos = payload.get("convos")
    if not isinstance(convos, list):
        raise BadInput("convos must be an array")
    mentions: list[Mention] = []
    for convo in convos:
        if not isinstance(convo, Mapping):
            raise BadInput("each convo must be an object")
        last = convo.get("lastMessage")
        if not isinstance(last, Mapping):
            skipped.append(Skipped(f"convo {convo.get('id')}", "no lastMessage (empty conversation)"))
            continue
        found = message_to_mention(last, convo, account, skipped)
        if found is not None:
            mentions.append(found)
    return mentions
