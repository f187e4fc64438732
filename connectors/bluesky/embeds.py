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

from plugin.models import Attachment

from .models import Blob, Embed

CDN = "https://cdn.bsky.app"
IMAGES = "app.bsky.embed.images"
RECORD_WITH_MEDIA = "app.bsky.embed.recordWithMedia"
VIDEO_VIEW = "app.bsky.embed.video#view"


def image_url(did: str, cid: str) -> str:
    """The app view's full-size CDN URL of an image blob."""
    return f"{CDN}/img/feed_fullsize/plain/{did}/{cid}@jpeg"


def _blob_cid(blob: Blob | None) -> str | None:
    if blob is None:
        return None
    if blob.ref is not None:
        return blob.ref.link
    return blob.cid or None  # pre-2023 "legacy blob" records


def _from_embed(embed: Embed | None, did: str) -> list[Attachment]:
    if embed is None:
        return []
    kind = embed.type
    if kind == RECORD_WITH_MEDIA or kind == f"{RECORD_WITH_MEDIA}#view":
        return _from_embed(embed.media, did)
    found: list[Attachment] = []
    if kind == IMAGES:
        for image in embed.images or ():
            cid = _blob_cid(image.image)
            if cid:
                found.append(Attachment(url=image_url(did, cid), type="image"))
    elif kind == f"{IMAGES}#view":
        for image in embed.images or ():
            if image.fullsize and image.fullsize.startswith("https://"):
                found.append(Attachment(url=image.fullsize, type="image"))
    elif kind == VIDEO_VIEW and embed.playlist:
        found.append(Attachment(url=embed.playlist, type="video"))
    return found


def attachments(view: Embed | None, record: Embed | None, did: str) -> list[Attachment]:
    """The hydrated view's media when the item has one (postView), else the record's blobs."""
    return _from_embed(view, did) or _from_embed(record, did)
