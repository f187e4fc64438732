"""Bot API Updates -> Mention (see the package docstring for which messages count).

Anything of the wrong shape is BadInput with a reason, never a KeyError/TypeError.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from plugin.connector import Skipped, file_reference
from plugin.errors import BadInput
from plugin.models import Attachment, Author, Kind, Mention, Visibility

from .models import Message, Update, UpdatesAnswer, parse

# Account setting ``group_messages``: which messages in groups become mentions.
ADDRESSED = "addressed"  # @mentions of the bot, /commands to it, replies to its messages
ALL = "all"  # every message a human writes in a group the bot is in


def opt_str(value: str | None) -> str | None:
    return value or None


def _utf16_slice(text: str, offset: int, length: int) -> str:
    """MessageEntity offsets and lengths are in UTF-16 code units (Bot API, MessageEntity)."""
    encoded = text.encode("utf-16-le")
    return encoded[offset * 2 : (offset + length) * 2].decode("utf-16-le", errors="ignore")


def bot_id_from_token(token: str | None) -> str | None:
    if not token or ":" not in token:
        return None
    head = token.split(":", 1)[0]
    return head if head.isdigit() else None


# --------------------------------------------------------------------------------------------------
# Parsing


def _author(msg: Message) -> Author:
    if msg.sender is not None:
        user = msg.sender
        name = " ".join(p for p in (user.first_name, user.last_name) if p)
        return Author(
            external_id=str(user.id),
            handle=opt_str(user.username),
            name=name or None,
            profile_url=f"https://t.me/{user.username}" if user.username else None,
        )
    if msg.sender_chat is not None:  # anonymous admins and channels speak as a chat
        chat = msg.sender_chat
        return Author(
            external_id=str(chat.id),
            handle=opt_str(chat.username),
            name=opt_str(chat.title),
            profile_url=f"https://t.me/{chat.username}" if chat.username else None,
        )
    raise BadInput("telegram: message has neither from nor sender_chat")


def _addressed(msg: Message, text: str, bot_id: str | None, username: str | None) -> bool:
    entities = msg.entities if msg.text is not None else msg.caption_entities
    wanted = f"@{username.lower()}" if username else None
    for ent in entities or ():
        if ent.type == "text_mention":
            if bot_id and ent.user is not None and str(ent.user.id) == bot_id:
                return True
            continue
        if ent.type not in ("mention", "bot_command") or wanted is None:
            continue
        if ent.offset < 0 or ent.length < 0:
            continue
        piece = _utf16_slice(text, ent.offset, ent.length).lower()
        if ent.type == "mention" and piece == wanted:
            return True
        if ent.type == "bot_command" and piece.endswith(wanted):
            return True
    return False


def _replies_to_bot(msg: Message, bot_id: str | None) -> bool:
    parent = msg.reply_to_message
    if not (bot_id and parent is not None and parent.sender is not None):
        return False
    return str(parent.sender.id) == bot_id


def _files(msg: Message) -> list[dict[str, str]]:
    files: list[dict[str, str]] = []
    if msg.photo:
        files.append({"type": "image", "file_id": msg.photo[-1].file_id})  # sizes ascend; last = largest
    for key, item in (("document", msg.document), ("video", msg.video), ("voice", msg.voice), ("audio", msg.audio)):
        if item is not None:
            files.append({"type": key, "file_id": item.file_id})
    return files


def parse_update(
    update: Any,
    bot_id: str | None,
    bot_username: str | None,
    account: str | None = None,
    *,
    group_messages: str = ADDRESSED,
    skipped: list[Skipped] | None = None,
) -> list[Mention]:
    """One Bot API Update -> zero or one Mention (see the package docstring for the rules).

    ``group_messages``: ``addressed`` (default) keeps only group messages addressed to the bot, ``all``
    keeps every group message. What is left out is appended to ``skipped`` with the reason.
    """
    notes: list[Skipped] = [] if skipped is None else skipped
    upd = parse(Update, update, "update")
    where = f"update {upd.update_id}"
    if upd.message is not None:
        msg, event = upd.message, "created"
    elif upd.edited_message is not None:
        msg, event = upd.edited_message, "edited"
    else:
        kinds = ", ".join(sorted(k for k in update if k != "update_id")) or "nothing"  # a dict: it parsed
        notes.append(Skipped(where, f"carries {kinds}, not a message (channel posts, callbacks... are not mentions)"))
        return []
    chat = msg.chat
    if msg.sender is not None and msg.sender.is_bot is True:
        notes.append(Skipped(where, "sent by a bot (our own echo or another bot)"))
        return []
    text = (msg.text if msg.text is not None else msg.caption) or ""

    external_id = f"{chat.id}:{msg.message_id}"
    parent_id = f"{chat.id}:{msg.reply_to_message.message_id}" if msg.reply_to_message is not None else None

    addressed = True
    if chat.type == "private":
        kind, visibility, thread_id = Kind.DIRECT, Visibility.PRIVATE, str(chat.id)
    elif chat.type in ("group", "supergroup"):
        to_bot = _replies_to_bot(msg, bot_id)
        addressed = to_bot or _addressed(msg, text, bot_id, bot_username)
        if not addressed and group_messages != ALL:
            reason = "group message not addressed to the bot (no @mention, /command or reply to it)"
            if not bot_username:
                reason += "; bot_username is not set, so @mentions cannot be recognised"
            notes.append(Skipped(where, f"{reason}; account setting group_messages={ADDRESSED}"))
            return []
        kind = Kind.REPLY if to_bot else (Kind.COMMENT if parent_id else Kind.POST)
        visibility = Visibility.PUBLIC
        root = msg.message_thread_id
        thread_id = f"{chat.id}:{root}" if root is not None else parent_id or external_id
    else:
        notes.append(Skipped(where, f"chat type {chat.type!r} is not a private chat or a group"))
        return []

    username = opt_str(chat.username)
    url = f"https://t.me/{username}/{msg.message_id}" if chat.type == "supergroup" and username else None
    files = _files(msg)
    # The download URL would carry the bot token, so the file is stored as a reference to its file_id
    # (stable for the bot) and fetched with getFile when someone opens it (``open_attachment``).
    attachments = [Attachment(url=file_reference(f["file_id"]), type=f["type"]) for f in files]
    extra: dict[str, Any] = {
        "update_id": upd.update_id,
        "chat_id": chat.id,
        "chat_type": chat.type,
        "message_id": msg.message_id,
    }
    if files:
        extra["files"] = files  # file_ids need getFile (and the token) to become URLs
    if chat.type in ("group", "supergroup"):
        extra["addressed"] = addressed  # group_messages=all: agents and triage can tell chatter apart
    if msg.edit_date is not None:
        extra["edit_date"] = msg.edit_date
    try:
        mention = Mention(
            network="telegram",
            external_id=external_id,
            thread_id=thread_id,
            parent_id=parent_id,
            kind=kind,
            visibility=visibility,
            author=_author(msg),
            text=text,
            created_at=datetime.fromtimestamp(msg.date, UTC),
            url=url,
            attachments=attachments,
            account=account or bot_id or "unknown",
            event=event,  # type: ignore[arg-type]
            extra=extra,
        )
    except (ValueError, OverflowError, OSError) as exc:  # pydantic ValidationError is a ValueError
        raise BadInput(f"telegram: cannot normalize message {external_id}: {exc}") from None
    return [mention]


def updates_of(payload: Any) -> list[Any]:
    """The Updates of a payload: one Update, a list of them, or a getUpdates answer."""
    if isinstance(payload, list):
        return payload
    if isinstance(payload, dict) and "result" in payload:  # a getUpdates response envelope
        return parse(UpdatesAnswer, payload, "getUpdates").result
    if isinstance(payload, dict):
        return [payload]
    raise BadInput("telegram: payload must be an Update, a list of Updates or a getUpdates response")
