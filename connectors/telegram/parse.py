"""Bot API Updates -> Mention (see the package docstring for which messages count).

Anything of the wrong shape is BadInput with a reason, never a KeyError/TypeError.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from plugin.errors import BadInput
from plugin.models import Author, Kind, Mention, Visibility


def obj(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadInput(f"telegram: {what} must be an object")
    return value


def integer(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadInput(f"telegram: {what} must be an integer")
    return value


def opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


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


def _author(msg: dict[str, Any]) -> Author:
    user = msg.get("from")
    if isinstance(user, dict):
        uid = integer(user.get("id"), "message.from.id")
        username = opt_str(user.get("username"))
        name = " ".join(p for p in (opt_str(user.get("first_name")), opt_str(user.get("last_name"))) if p)
        return Author(
            external_id=str(uid),
            handle=username,
            name=name or None,
            profile_url=f"https://t.me/{username}" if username else None,
        )
    sender = msg.get("sender_chat")  # anonymous admins and channels speak as a chat
    if isinstance(sender, dict):
        cid = integer(sender.get("id"), "message.sender_chat.id")
        username = opt_str(sender.get("username"))
        return Author(
            external_id=str(cid),
            handle=username,
            name=opt_str(sender.get("title")),
            profile_url=f"https://t.me/{username}" if username else None,
        )
    raise BadInput("telegram: message has neither from nor sender_chat")


def _addressed(msg: dict[str, Any], text: str, bot_id: str | None, username: str | None) -> bool:
    entities = msg.get("entities") if "text" in msg else msg.get("caption_entities")
    wanted = f"@{username.lower()}" if username else None
    if isinstance(entities, list):
        for ent in entities:
            if not isinstance(ent, dict):
                continue
            kind = ent.get("type")
            offset, length = ent.get("offset"), ent.get("length")
            if kind == "text_mention":
                user = ent.get("user")
                if bot_id and isinstance(user, dict) and str(user.get("id")) == bot_id:
                    return True
                continue
            if kind not in ("mention", "bot_command") or wanted is None:
                continue
            if not (isinstance(offset, int) and isinstance(length, int)) or offset < 0 or length < 0:
                continue
            piece = _utf16_slice(text, offset, length).lower()
            if kind == "mention" and piece == wanted:
                return True
            if kind == "bot_command" and piece.endswith(wanted):
                return True
    return False


def _replies_to_bot(msg: dict[str, Any], bot_id: str | None) -> bool:
    parent = msg.get("reply_to_message")
    if not (bot_id and isinstance(parent, dict)):
        return False
    user = parent.get("from")
    return isinstance(user, dict) and str(user.get("id")) == bot_id


def parse_update(
    update: Any, bot_id: str | None, bot_username: str | None, account: str | None = None
) -> list[Mention]:
    """One Bot API Update -> zero or one Mention (see the module docstring for the rules)."""
    upd = obj(update, "update")
    update_id = integer(upd.get("update_id"), "update.update_id")
    if "message" in upd:
        msg, event = obj(upd["message"], "update.message"), "created"
    elif "edited_message" in upd:
        msg, event = obj(upd["edited_message"], "update.edited_message"), "edited"
    else:
        return []  # channel posts, callback queries, member updates... are not mentions
    chat = obj(msg.get("chat"), "message.chat")
    chat_id = integer(chat.get("id"), "message.chat.id")
    chat_type = chat.get("type")
    message_id = integer(msg.get("message_id"), "message.message_id")
    date = integer(msg.get("date"), "message.date")
    sender = msg.get("from")
    if isinstance(sender, dict) and sender.get("is_bot") is True:
        return []  # our own echoes and other bots
    text_value = msg.get("text", msg.get("caption", ""))
    text = text_value if isinstance(text_value, str) else ""

    external_id = f"{chat_id}:{message_id}"
    parent = msg.get("reply_to_message")
    parent_id = None
    if isinstance(parent, dict) and isinstance(parent.get("message_id"), int):
        parent_id = f"{chat_id}:{parent['message_id']}"

    if chat_type == "private":
        kind, visibility, thread_id = Kind.DIRECT, Visibility.PRIVATE, str(chat_id)
    elif chat_type in ("group", "supergroup"):
        to_bot = _replies_to_bot(msg, bot_id)
        if not (to_bot or _addressed(msg, text, bot_id, bot_username)):
            return []
        kind = Kind.REPLY if to_bot else (Kind.COMMENT if parent_id else Kind.POST)
        visibility = Visibility.PUBLIC
        root = msg.get("message_thread_id")
        if isinstance(root, int) and not isinstance(root, bool):
            thread_id = f"{chat_id}:{root}"
        else:
            thread_id = parent_id or external_id
    else:
        return []

    username = opt_str(chat.get("username"))
    url = f"https://t.me/{username}/{message_id}" if chat_type == "supergroup" and username else None
    files = []
    photo = msg.get("photo")
    if isinstance(photo, list) and photo and isinstance(photo[-1], dict):
        files.append({"type": "image", "file_id": photo[-1].get("file_id")})  # sizes ascend; last = largest
    for key in ("document", "video", "voice", "audio"):
        item = msg.get(key)
        if isinstance(item, dict):
            files.append({"type": key, "file_id": item.get("file_id")})
    extra: dict[str, Any] = {
        "update_id": update_id,
        "chat_id": chat_id,
        "chat_type": chat_type,
        "message_id": message_id,
    }
    if files:
        extra["files"] = files  # file_ids need getFile (and the token) to become URLs
    if isinstance(msg.get("edit_date"), int):
        extra["edit_date"] = msg["edit_date"]
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
            created_at=datetime.fromtimestamp(date, UTC),
            url=url,
            account=account or bot_id or "unknown",
            event=event,  # type: ignore[arg-type]
            extra=extra,
        )
    except (ValueError, OverflowError, OSError) as exc:  # pydantic ValidationError is a ValueError
        raise BadInput(f"telegram: cannot normalize message {external_id}: {exc}") from None
    return [mention]


def updates_of(payload: Any) -> list[Any]:
    if isinstance(payload, list):
        return payload
    if isinstance(payload, dict) and "result" in payload:  # a getUpdates response envelope
        if payload.get("ok") is not True or not isinstance(payload["result"], list):
            raise BadInput("telegram: getUpdates envelope without ok=true and a result list")
        return list(payload["result"])
    if isinstance(payload, dict):
        return [payload]
    raise BadInput("telegram: payload must be an Update, a list of Updates or a getUpdates response")

