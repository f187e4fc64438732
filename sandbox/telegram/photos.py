"""``sendPhoto`` as the Bot API documents it: ``chat_id``, ``photo`` (a multipart upload, or a file_id /
HTTP URL string), optional ``caption`` (0-1024 characters) and ``reply_parameters`` (JSON-serialized in a
multipart body). Uploaded photos are at most 10 MB. The sent Message carries ``photo`` (PhotoSize list)
and ``caption`` instead of ``text``; the bytes are kept so tests can check what arrived."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

from .exceptions import bad_request

MAX_CAPTION = 1024
MAX_PHOTO_BYTES = 10 * 1024 * 1024


def send_photo(state: Any, params: dict[str, Any]) -> dict[str, Any]:
    if "chat_id" not in params:
        raise bad_request("chat_id is empty")
    photo = params.get("photo")
    if photo is None or isinstance(photo, str):
        # file_id / URL forms are not used by horseshoe (the connector uploads what it fetched).
        raise bad_request("there is no photo in the request")
    content = photo.read()
    if not content:
        raise bad_request("file must be non-empty")
    if len(content) > MAX_PHOTO_BYTES:
        raise bad_request("file is too big")
    caption = params.get("caption") or ""
    if len(caption) > MAX_CAPTION:
        raise bad_request("message caption is too long")
    reply = params.get("reply_parameters")
    if isinstance(reply, str):
        try:
            reply = json.loads(reply)
        except ValueError:
            raise bad_request("can't parse reply parameters JSON object") from None
    with state.lock:
        chat = state._resolve_chat(params["chat_id"])
        reply_to = None
        if reply:
            wanted = reply.get("message_id") if isinstance(reply, dict) else None
            if not isinstance(wanted, int):
                raise bad_request("invalid reply parameters specified")
            if wanted in state.messages.get(chat["id"], {}):
                reply_to = wanted
            elif not reply.get("allow_sending_without_reply"):
                raise bad_request("message to be replied not found")
        state._check_flood(chat["id"], chat["type"] != "private")
        msg = state._new_message(chat, state.bot_user(), caption, reply_to)
        del msg["text"]
        digest = hashlib.sha256(content).hexdigest()[:24]
        file_id = f"AgAC{digest}"
        msg["photo"] = [{"file_id": file_id, "file_unique_id": digest[:16], "width": 0, "height": 0,
                         "file_size": len(content)}]  # fmt: skip
        if caption:
            msg["caption"] = caption
        state.photos[file_id] = content
        state.sent.append(copy.deepcopy(msg))
        return copy.deepcopy(msg)
