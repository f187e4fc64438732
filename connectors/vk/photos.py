"""Images on VK replies: the documented upload flow, run before anything is published.

``photos.getWallUploadServer`` (comments) or ``photos.getMessagesUploadServer`` (messages) gives an
upload URL; the fetched image is POSTed there as multipart ``photo``; ``photos.saveWallPhoto`` /
``photos.saveMessagesPhoto`` turns the upload server's answer into a photo, named ``photo{owner}_{id}``
in the comment's or message's ``attachments``. None of these steps publishes anything, so a failure in
them is safe to retry and leaves no half-sent reply; the comment / message itself stays the one
idempotent call (``guid`` / ``random_id``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from plugin.connector import AccountContext
from plugin.errors import FatalError
from plugin.http import HttpClient, fetch_media, json_body
from plugin.models import Attachment

MAX_ATTACHMENTS = 10  # a comment or message carries at most 10 attachments
MAX_PHOTO_BYTES = 50 * 1024 * 1024

Call = Callable[..., Any]
# The upload server answers plain JSON ({"server", "photo", "hash"} or {"error"}), not the API's
# {"response": ...} envelope, so it gets its own client without the API's error hook.
UPLOAD_HTTP = HttpClient("vk-upload", user_agent="horseshoe-vk/0.1")


def photo_attachments(
    call: Call, account: AccountContext, attachments: list[Attachment], *,
    group_id: int | None, peer_id: int | None,
) -> str | None:  # fmt: skip
    """``attachments`` for wall.createComment (``peer_id=None``) or messages.send, or None without images."""
    if not attachments:
        return None
    if len(attachments) > MAX_ATTACHMENTS:
        raise FatalError(f"vk: {len(attachments)} attachments; VK allows {MAX_ATTACHMENTS}", code="bad_attachment")
    names = []
    for attachment in attachments:
        media = fetch_media(attachment, max_bytes=MAX_PHOTO_BYTES, network="VK")
        if peer_id is None:
            server = call(account, "photos.getWallUploadServer", {"group_id": group_id}, mutating=False)
        else:
            server = call(account, "photos.getMessagesUploadServer", {"peer_id": peer_id}, mutating=False)
        url = server.get("upload_url") if isinstance(server, dict) else None
        if not isinstance(url, str):
            raise FatalError("vk: the upload server answer has no upload_url", code="shape")
        response = UPLOAD_HTTP.send(
            (account.external_id, "vk-upload"), "POST", url, what="vk photo upload", mutating=False,
            files={"photo": (media.filename, media.content, media.mime_type)},
        )  # fmt: skip
        uploaded = json_body(response, "vk photo upload", mutating=False)
        if not isinstance(uploaded, dict) or uploaded.get("error") or not uploaded.get("photo"):
            reason = uploaded.get("error") if isinstance(uploaded, dict) else uploaded
            raise FatalError(f"vk photo upload refused: {reason}", code="bad_attachment")
        fields = {k: uploaded[k] for k in ("server", "photo", "hash")}
        if peer_id is None:
            saved = call(account, "photos.saveWallPhoto", {"group_id": group_id, **fields}, mutating=False)
        else:
            saved = call(account, "photos.saveMessagesPhoto", fields, mutating=False)
        photo = saved[0] if isinstance(saved, list) and saved else None
        if not isinstance(photo, dict) or "id" not in photo or "owner_id" not in photo:
            raise FatalError("vk: saving the photo gave no id", code="shape")
        names.append(f"photo{photo['owner_id']}_{photo['id']}")
    return ",".join(names)
