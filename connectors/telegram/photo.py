"""A reply with an image: ``sendPhoto`` with the fetched bytes as a multipart upload and the agent's
text as its caption (Bot API: caption 0-1024 characters, photos up to 10 MB).

One request carries both, so there is no half-sent reply. A text over the caption limit is refused with
the limit named rather than sent as two messages (text, then photo) that could be split by a failure.
"""

from __future__ import annotations

import json
from typing import Any

from plugin.connector import AccountContext
from plugin.errors import FatalError
from plugin.http import HttpClient, fetch_media, json_body
from plugin.models import Attachment

MAX_CAPTION = 1024
MAX_PHOTO_BYTES = 10 * 1024 * 1024


def send_photo(
    http: HttpClient, account: AccountContext, base: str, params: dict[str, Any], attachments: list[Attachment]
) -> Any:
    """``params`` are the sendMessage parameters (chat_id, text, reply_parameters); returns the result."""
    if len(attachments) > 1:
        raise FatalError(f"telegram: {len(attachments)} attachments; a reply carries one photo", code="bad_attachment")
    text = str(params.get("text") or "")
    if len(text) > MAX_CAPTION:
        raise FatalError(
            f"telegram: text is {len(text)} characters; a photo's caption takes {MAX_CAPTION}", code="too_long"
        )
    token = account.credentials.get("bot_token") or ""
    media = fetch_media(attachments[0], max_bytes=MAX_PHOTO_BYTES, network="Telegram")
    form = {"chat_id": str(params["chat_id"]), "caption": text}
    if "reply_parameters" in params:
        # Multipart bodies carry objects JSON-serialized, as the Bot API documents.
        form["reply_parameters"] = json.dumps(params["reply_parameters"])
    response = http.send(
        (account.external_id, base), "POST", f"{base}/bot{token}/sendPhoto", what="telegram sendPhoto",
        mutating=True, data=form, files={"photo": (media.filename, media.content, media.mime_type)},
        secrets=(token,),
    )  # fmt: skip
    return json_body(response, "telegram sendPhoto", mutating=True).get("result")
