"""VK's photo upload flow, as documented ("Uploading files", photos.* methods):

1. ``photos.getWallUploadServer(group_id)`` / ``photos.getMessagesUploadServer(peer_id)`` -> ``upload_url``;
2. ``POST upload_url`` multipart ``photo`` -> ``{"server", "photo", "hash"}`` (the upload server's answer);
3. ``photos.saveWallPhoto(group_id, server, photo, hash)`` / ``photos.saveMessagesPhoto(server, photo, hash)``
   -> ``[{"id", "owner_id", ...}]``;
4. the comment / message names it in ``attachments`` as ``photo{owner_id}_{id}``.

The fake keeps the bytes so tests can check what arrived, and refuses a save without a matching upload
or an attachment that was never saved (VK error 100, "one of the parameters specified was missing or
invalid").
"""

from __future__ import annotations

import hashlib
import itertools
import json
from typing import Any

from flask import Request

from .exceptions import invalid_request

MAX_PHOTO_BYTES = 50 * 1024 * 1024  # photos: up to 50 MB per file
_ids = itertools.count(457_239_001)


def upload_server(state: Any, kind: str, host_url: str) -> dict[str, Any]:
    return {"upload_url": f"{host_url}upload/photo?kind={kind}", "album_id": -14, "user_id": 0}


def receive_upload(state: Any, request: Request) -> dict[str, Any]:
    photo = request.files.get("photo")
    if photo is None:
        return {"error": "ERR_UPLOAD_FILE_NOT_UPLOADED: file not uploaded"}
    content = photo.read()
    if not content or len(content) > MAX_PHOTO_BYTES:
        return {"error": "ERR_UPLOAD_BAD_IMAGE_SIZE: photo size is invalid"}
    token = json.dumps([{"photo": hashlib.sha256(content).hexdigest()[:16], "kind": request.args.get("kind")}])
    digest = hashlib.md5(token.encode(), usedforsecurity=False).hexdigest()
    with state.lock:
        state.photo_uploads[token] = content
    return {"server": 1, "photo": token, "hash": digest}


def save(state: Any, params: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    token = str(params.get("photo") or "")
    with state.lock:
        content = state.photo_uploads.pop(token, None)
        if content is None or hashlib.md5(token.encode(), usedforsecurity=False).hexdigest() != params.get("hash"):
            raise invalid_request("photo: not a valid upload")
        photo_id = next(_ids)
        owner_id = -state.group_id
        state.photos[f"photo{owner_id}_{photo_id}"] = {"bytes": content, "kind": kind}
    return [{"id": photo_id, "owner_id": owner_id, "album_id": -14 if kind == "wall" else -3, "sizes": []}]


def attachments(state: Any, params: dict[str, Any]) -> list[str]:
    """The ``attachments`` of a comment / message, each a photo saved before."""
    raw = str(params.get("attachments") or "")
    names = [a for a in raw.split(",") if a]
    with state.lock:
        for name in names:
            if name not in state.photos:
                raise invalid_request(f"attachments: {name} not found")
    return names
