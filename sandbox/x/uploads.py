"""``POST /2/media/upload`` (simple, one-request upload) and the media a new post may attach.

As documented (docs.x.com, "Upload media"): multipart/form-data with the raw bytes in ``media`` and a
``media_category`` (``tweet_image`` for posts, ``dm_image`` for DMs); images up to 5 MB; the answer is
``{"data": {"id", "media_key", "size", "expires_after_secs", "image": {"image_type"}}}``. A post then
attaches at most 4 images by ``{"media": {"media_ids": [...]}}``, only media its author uploaded.
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request

from .exceptions import XProblem

MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_MEDIA_PER_POST = 4
CATEGORIES = {"tweet_image", "dm_image"}
EXPIRES_AFTER_SECS = 86400


def _invalid(message: str) -> XProblem:
    return XProblem(400, "Invalid Request", message, "https://api.x.com/2/problems/invalid-request")


def upload(state: Any, request: Request, user_id: str) -> tuple[int, dict[str, Any]]:
    media = request.files.get("media")
    if media is None:
        raise _invalid("One or more parameters to your request was invalid: media is required (multipart)")
    category = request.form.get("media_category", "tweet_image")
    if category not in CATEGORIES:
        raise _invalid(f"media_category {category!r} is not supported here")
    content = media.read()
    mime = media.mimetype or "application/octet-stream"
    if not mime.startswith("image/"):
        raise _invalid(f"media type {mime} is not an image")
    if len(content) > MAX_IMAGE_BYTES:
        raise _invalid(f"File size exceeds {MAX_IMAGE_BYTES} bytes.")
    with state.lock:
        media_id = str(state.next_id(state.clock()))
        state.uploads[media_id] = {
            "user_id": user_id, "bytes": content, "mime": mime, "category": category, "media_key": f"3_{media_id}",
        }  # fmt: skip
    return 200, {
        "data": {
            "id": media_id, "media_key": f"3_{media_id}", "size": len(content),
            "expires_after_secs": EXPIRES_AFTER_SECS, "image": {"image_type": mime},
        }
    }  # fmt: skip


def attached(state: Any, body: dict[str, Any], user_id: str) -> list[str]:
    """The media ids a create-post body attaches, checked as X checks them."""
    media = body.get("media")
    if media is None:
        return []
    ids = media.get("media_ids") if isinstance(media, dict) else None
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise _invalid("$.media.media_ids: must be a non-empty array of strings")
    if len(ids) > MAX_MEDIA_PER_POST:
        raise _invalid(f"$.media.media_ids: at most {MAX_MEDIA_PER_POST} items")
    for media_id in ids:
        found = state.uploads.get(media_id)
        if found is None or found["user_id"] != user_id or found["category"] != "tweet_image":
            raise _invalid(f"Your media IDs are invalid: {media_id}")
    return list(ids)
