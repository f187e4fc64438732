"""An agent's attachment, fetched once so a connector can upload it to its network.

The URL comes from a CRM (a Zendesk ``file_urls`` entry, a Salesforce attachment link), so it is checked
before anything is fetched: http(s) only (a ``file://`` or ``ftp://`` URL would read the host's own
files or reach odd services), and the download connects only under the egress rule, to the address
it checked (``pinned.py``: https on a public address, each redirect hop too; ``EgressRefused``
otherwise), a size limit the connector sets from its network's rule, enforced while
reading (a server that lies about Content-Length, or sends none, cannot make us hold more), and an image
type when the network's path only takes images.

Errors: a refused URL, a 4xx, an oversized or non-image body are ``FatalError`` (no retry fixes them;
the agent is told which and why); a 5xx or a connection failure is ``RetriableError`` (a GET: nothing was
posted yet, so retrying is safe).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from plugin.errors import FatalError, RetriableError
from plugin.models import Attachment

from .client import HttpClient

CHUNK = 64 * 1024
MEDIA_HTTP = HttpClient("attachments", timeout=(5.0, 30.0))


@dataclass(frozen=True)
class Media:
    url: str
    content: bytes
    mime_type: str

    @property
    def filename(self) -> str:
        name = urlsplit(self.url).path.rsplit("/", 1)[-1]
        return name or "attachment"


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise FatalError(
            f"attachment {url[:200]!r} is not an http(s) URL; only those are fetched", code="bad_attachment"
        )
    return url


def fetch_media(
    attachment: Attachment, *, max_bytes: int, network: str, images_only: bool = True, http: HttpClient = MEDIA_HTTP
) -> Media:
    """The attachment's bytes and type, at most ``max_bytes`` (the network's limit, named if exceeded)."""
    url = check_url(attachment.url)
    response = http.send(("media", urlsplit(url).netloc), "GET", url, what="attachment GET", stream=True)
    try:
        mime = (response.headers.get("Content-Type") or "application/octet-stream").split(";")[0].strip().lower()
        if images_only and not mime.startswith("image/"):
            raise FatalError(
                f"attachment {url[:200]} is {mime}; {network} replies carry images only", code="bad_attachment"
            )
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise _too_large(url, int(declared), max_bytes, network)
        body = bytearray()
        try:
            for chunk in response.iter_content(CHUNK):
                body.extend(chunk)
                if len(body) > max_bytes:
                    raise _too_large(url, len(body), max_bytes, network)
        except requests.RequestException as exc:
            raise RetriableError(f"attachment {url[:200]}: download broke off ({exc.__class__.__name__})") from exc
        return Media(url=url, content=bytes(body), mime_type=mime)
    finally:
        response.close()


def _too_large(url: str, size: int, max_bytes: int, network: str) -> FatalError:
    return FatalError(
        f"attachment {url[:200]} is over {max_bytes} bytes ({size} read); {network} takes images up to {max_bytes}",
        code="attachment_too_large",
    )
