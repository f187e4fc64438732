"""Agents' replies with images on Meta's networks, where each network's API decides what is possible.

* Messenger and Instagram conversations (Send API): a message is text *or* one attachment, so a reply
  with images is the text message followed by one image message per attachment (``attachment.payload.url``:
  Meta fetches the image itself). Several messages under one reply: if an image fails after the text went
  out, the reply becomes ``OutcomeUnknown`` naming what was sent (``plugin.longreply.post_thread``), so a
  retry never sends the text twice.
* A private reply to a comment (``recipient.comment_id``) is exactly one message, so text and image cannot
  both go: refused with that reason.
* Facebook comments take one photo by URL (``attachment_url``); Instagram comments take text only.

URLs are checked (http(s) only) before anything is sent; Meta itself downloads them.
"""

from __future__ import annotations

from typing import Any

from plugin.errors import FatalError
from plugin.http import check_url
from plugin.longreply import ThreadPart, post_thread, refuse_if_too_long
from plugin.models import Attachment, PostResult

from .graph import GraphClient
from .messaging import send_message

MEDIA_TYPES = {"image", "video", "audio", "file"}
# Message text limits: Messenger Send API 2000 characters; Instagram messaging 1000.
MAX_DM_TEXT = {"messenger": 2000, "instagram": 1000}


def _kind(attachment: Attachment) -> str:
    kind = attachment.type.lower()
    return kind if kind in MEDIA_TYPES else "image" if kind in ("photo", "picture") else "file"


def send_conversation(
    client: GraphClient, page_id: str, recipient: dict[str, str], text: str, kind: dict[str, str],
    attachments: list[Attachment], platform: str = "messenger",
) -> PostResult:  # fmt: skip
    """The text, then each attachment, as messages to a conversation recipient ``{"id": PSID/IGSID}``."""
    limit = MAX_DM_TEXT.get(platform, 2000)
    refuse_if_too_long(text, limit, network=platform.title())
    if not attachments:
        return PostResult(external_id=send_message(client, page_id, recipient, text, kind))
    if "id" not in recipient:
        raise FatalError(
            "a private reply to a comment is a single message: it cannot carry both the text and an image; "
            "send the image once the customer answers in the conversation",
            code="unsupported",
        )
    urls = [check_url(a.url) for a in attachments]

    def post(part: ThreadPart) -> PostResult:
        if part.index == 1:
            return PostResult(external_id=send_message(client, page_id, recipient, text, kind))
        attachment = attachments[part.index - 2]
        payload: dict[str, Any] = {"attachment": {"type": _kind(attachment), "payload": {"url": urls[part.index - 2]}}}
        result = client.post(f"{page_id}/messages", {"recipient": recipient, "message": payload, **kind})
        mid = result.get("message_id") if isinstance(result, dict) else None
        if not isinstance(mid, str) or not mid:
            raise FatalError("Send API answered an attachment without a message_id", code="bad_answer")
        return PostResult(external_id=mid)

    parts = [text, *(a.url for a in attachments)]
    return post_thread(parts, recipient["id"], post, resumable=False)


def comment_photo(attachments: list[Attachment], network: str) -> dict[str, str]:
    """Extra comment fields for a Facebook photo comment (``attachment_url``)."""
    if not attachments:
        return {}
    if network != "facebook":
        raise FatalError(f"{network} comments carry text only (no images); answer in a direct message to send one",
                         code="unsupported")  # fmt: skip
    if len(attachments) > 1:
        raise FatalError(f"{len(attachments)} attachments; a Facebook comment carries one photo", code="bad_attachment")
    return {"attachment_url": check_url(attachments[0].url)}
