"""``com.atproto.repo.uploadBlob`` and the ``app.bsky.embed.images`` a post may carry.

As documented (lexicons com.atproto.repo.uploadBlob, app.bsky.embed.images): the raw bytes are the
request body, their type the Content-Type (``*/*`` lets the PDS sniff it); the answer is ``{"blob":
{"$type": "blob", "ref": {"$link": cid}, "mimeType", "size"}}``. Restrictions are enforced when a record
references the blob: at most 4 images, each an ``image/*`` blob of at most 1,000,000 bytes that the
poster uploaded.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from werkzeug.wrappers import Request

from .exceptions import InvalidRequest

MAX_IMAGE_BYTES = 1_000_000
MAX_IMAGES = 4
_SIGNATURES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg", b"GIF8": "image/gif"}


def blob_cid(content: bytes) -> str:
    """A CIDv1 (raw codec, sha2-256) in base32, as a PDS names blobs."""
    raw = b"\x01\x55\x12\x20" + hashlib.sha256(content).digest()
    return "b" + base64.b32encode(raw).decode().lower().rstrip("=")


def upload_blob(state: Any, request: Request, caller: str | None) -> Any:
    assert caller is not None
    content = request.get_data()
    mime = (request.content_type or "*/*").split(";")[0].strip()
    if mime in ("*/*", "application/octet-stream", ""):
        mime = next((m for sig, m in _SIGNATURES.items() if content.startswith(sig)), "application/octet-stream")
    cid = blob_cid(content)
    with state.lock:
        state.blobs[cid] = {"owner": caller, "bytes": content, "mimeType": mime}
    return {"blob": {"$type": "blob", "ref": {"$link": cid}, "mimeType": mime, "size": len(content)}}


def validate_embed(state: Any, record: dict[str, Any], caller: str, prefix: str) -> None:
    embed = record.get("embed")
    if not isinstance(embed, dict) or embed.get("$type") != "app.bsky.embed.images":
        return
    images = embed.get("images")
    if not isinstance(images, list) or not images or len(images) > MAX_IMAGES:
        raise InvalidRequest(prefix + f"Record/embed/images must have 1 to {MAX_IMAGES} elements")
    for image in images:
        blob = image.get("image") if isinstance(image, dict) else None
        cid = ((blob or {}).get("ref") or {}).get("$link") if isinstance(blob, dict) else None
        with state.lock:
            stored = state.blobs.get(cid) if isinstance(cid, str) else None
        if stored is None or stored["owner"] != caller:
            raise InvalidRequest("Could not find blob: " + str(cid))
        if not isinstance(image.get("alt"), str):
            raise InvalidRequest(prefix + 'Record/embed/images/0 must have the property "alt"')
        if not str(stored["mimeType"]).startswith("image/"):
            raise InvalidRequest(prefix + "Record/embed/images/0/image has an invalid mime type")
        if len(stored["bytes"]) > MAX_IMAGE_BYTES:
            raise InvalidRequest(prefix + f"Record/embed/images/0/image is too big (max {MAX_IMAGE_BYTES} bytes)")
