"""An image host for attachment tests: what an agent's attachment URL points at (a Zendesk or
Salesforce file link), served on localhost, with a few misbehaving files."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator

import pytest
from werkzeug.wrappers import Request, Response

from plugin.testing import serve_in_thread


def png(width: int = 2, height: int = 2) -> bytes:
    """A valid PNG, small and real (networks and fakes may check the signature)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


PNG = png()
FILES = {
    "/photo.png": (PNG, "image/png"),
    "/big.png": (PNG + b"\x00" * (6 * 1024 * 1024), "image/png"),  # over every network's image limit
    "/notes.pdf": (b"%PDF-1.4", "application/pdf"),
}


@Request.application
def _app(request: Request) -> Response:
    found = FILES.get(request.path)
    if found is None:
        return Response("not found", status=404)
    body, mime = found
    return Response(body, content_type=mime)


class ImageHost:
    def __init__(self, url: str):
        self.url = url

    def __call__(self, name: str) -> str:
        return f"{self.url}/{name}"


@pytest.fixture(scope="session")
def image_host() -> Iterator[ImageHost]:
    server = serve_in_thread(_app)
    try:
        yield ImageHost(server.url)
    finally:
        server.stop()
