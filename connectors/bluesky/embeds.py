"""Post embeds -> attachments: ``app.bsky.embed.images`` and the media half of ``recordWithMedia``.

Two shapes reach us (lexicons ``app.bsky.embed.images`` / ``#view``, ``app.bsky.embed.recordWithMedia``):

* a record (notifications carry the raw ``record``): each image is a blob ``{"$type": "blob", "ref":
  {"$link": cid}, "mimeType"}`` (older records: ``{"cid", "mimeType"}``). The app view serves it at
  ``https://cdn.bsky.app/img/feed_fullsize/plain/{author did}/{cid}@jpeg`` — the URL it puts in
  ``#viewImage.fullsize`` itself — so we build the same URL;
* a hydrated view (``postView.embed``, ``$type`` ending ``#view``): ``images[].fullsize`` is the URL.

Video (``app.bsky.embed.video#view``) gives its HLS ``playlist`` URL. Anything else (external links,
quoted records alone) is not an attachment.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plugin.models import Attachment

CDN = "https://cdn.bsky.app"
IMAGES = "app.bsky.embed.images"
RECORD_WITH_MEDIA = "app.bsky.embed.recordWithMedia"
VIDEO_VIEW = "app.bsky.embed.video#view"


def image_url(did: str, cid: str) -> str:
    """The app view's full-size CDN URL of an image blob."""
    return f"{CDN}/img/feed_fullsize/plain/{did}/{cid}@jpeg"


def _blob_cid(blob: Any) -> str | None:
    if not isinstance(blob, Mapping):
        return None
    ref = blob.get("ref")
    if isinstance(ref, Mapping) and isinstance(ref.get("$link"), str):
        return str(ref["$link"])
    legacy = blob.get("cid")  # pre-2023 "legacy blob" records
    return legacy if isinstance(legacy, str) and legacy else None


def _from_embed(embed: Any, did: str) -> list[Attachment]:
    if not isinstance(embed, Mapping):
        return []
    kind = embed.get("$type")
    if kind == RECORD_WITH_MEDIA or kind == f"{RECORD_WITH_MEDIA}#view":
        return _from_embed(embed.get("media"), did)
    found: list[Attachment] = []
    if kind == IMAGES:
        for image in embed.get("images") or []:
            cid = _blob_cid(image.get("image")) if isinstance(image, Mapping) else None
            if cid:
                found.append(Attachment(url=image_url(did, cid), type="image"))
    elif kind == f"{IMAGES}#view":
        for image in embed.get("images") or []:
            url = image.get("fullsize") if isinstance(image, Mapping) else None
            if isinstance(url, str) and url.startswith("https://"):
                found.append(Attachment(url=url, type="image"))
    elif kind == VIDEO_VIEW and isinstance(embed.get("playlist"), str):
        found.append(Attachment(url=str(embed["playlist"]), type="video"))
    return found


def attachments(item: Mapping[str, Any], record: Mapping[str, Any], did: str) -> list[Attachment]:
    """The hydrated view's media when the item has one (postView), else the record's blobs."""
    return _from_embed(item.get("embed"), did) or _from_embed(record.get("embed"), did)
