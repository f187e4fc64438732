"""``POST /api/v2/media`` and ``media_ids`` on a new status, as the Mastodon API documents them.

Upload (methods/media): multipart ``file`` (+ optional ``description``); answers a MediaAttachment
``{id, type, url, preview_url, description, meta}`` (200 when processed at once, as images are). A
status (methods/statuses) then takes ``media_ids[]``: at most 4 (``max_media_attachments``), each the
poster's own and not yet attached to another status; the status renders them in ``media_attachments``.
"""

from __future__ import annotations

import itertools
from typing import Any

from werkzeug.wrappers import Request, Response

from sandbox.base import json_response

from .exceptions import JSON_TYPE, Unprocessable

MAX_IMAGE_BYTES = 16 * 1024 * 1024  # configuration.media_attachments.image_size_limit on 4.x
MAX_ATTACHMENTS = 4
_ids = itertools.count(210_000_000_000_000_001)


def upload_media(state: Any, request: Request, viewer: str | None) -> Response:
    assert viewer is not None
    upload = request.files.get("file")
    if upload is None:
        raise Unprocessable("Validation failed: File can't be blank")
    content = upload.read()
    mime = upload.mimetype or "application/octet-stream"
    if not mime.startswith("image/"):
        raise Unprocessable(f"Validation failed: File content type {mime} is not supported")
    if len(content) > MAX_IMAGE_BYTES:
        raise Unprocessable(f"Validation failed: File file size must be less than {MAX_IMAGE_BYTES} Bytes")
    media_id = str(next(_ids))
    url = f"https://{state.domain}/system/media_attachments/{media_id}/original.{mime.split('/')[-1]}"
    entity: dict[str, Any] = {
        "id": media_id, "type": "image", "url": url, "preview_url": url, "remote_url": None,
        "description": request.form.get("description") or None, "blurhash": None, "meta": {},
    }  # fmt: skip
    with state.lock:
        state.media[media_id] = {"entity": entity, "owner": viewer, "bytes": content, "mime": mime, "status": None}
    return json_response(entity, 200, None, JSON_TYPE)


def requested_ids(request: Request, params: dict[str, Any]) -> list[str]:
    if request.is_json:
        ids = params.get("media_ids") or []
        return [str(i) for i in ids] if isinstance(ids, list) else []
    return request.form.getlist("media_ids[]") or request.form.getlist("media_ids")


def claim(state: Any, ids: list[str], viewer: str) -> list[dict[str, Any]]:
    """The attachments a new status takes (validated first, so a refused status claims nothing)."""
    if len(ids) > MAX_ATTACHMENTS:
        raise Unprocessable(f"Validation failed: Media attachments can't be more than {MAX_ATTACHMENTS}")
    with state.lock:
        found = [state.media.get(i) for i in ids]
        if any(m is None or m["owner"] != viewer or m["status"] is not None for m in found):
            raise Unprocessable("Validation failed: Media attachments are not valid")
        return [dict(m["entity"]) for m in found if m is not None]


def attach(state: Any, status_id: str, ids: list[str]) -> None:
    with state.lock:
        for media_id in ids:
            state.media[media_id]["status"] = status_id
        state.statuses[status_id]["media_attachments"] = [dict(state.media[i]["entity"]) for i in ids]
