"""Bluesky text rules: grapheme counting (maxGraphemes), mention facets, post URLs."""

from __future__ import annotations

import unicodedata
from typing import Any

# ---- text helpers --------------------------------------------------------------------------------------


def grapheme_count(text: str) -> int:
    """Extended grapheme clusters, approximately: combining marks, ZWJ sequences, variation selectors,
    skin-tone modifiers, tags and regional-indicator pairs extend the previous cluster."""
    count = 0
    previous = ""
    regional_open = False
    for ch in text:
        code = ord(ch)
        extends = (
            unicodedata.combining(ch) != 0
            or unicodedata.category(ch) in ("Mc", "Me")
            or 0xFE00 <= code <= 0xFE0F
            or 0x1F3FB <= code <= 0x1F3FF
            or 0xE0020 <= code <= 0xE007F
            or code == 0x200D
            or previous == "\u200d"
        )
        if 0x1F1E6 <= code <= 0x1F1FF:
            extends = regional_open
            regional_open = not regional_open
        else:
            regional_open = False
        if not extends or count == 0:
            count += 1
        previous = ch
    return count


def mention_facet(text: str, handle: str, did: str) -> dict[str, Any] | None:
    """A mention facet for the first ``@handle`` in ``text``, with UTF-8 byte offsets."""
    tag = f"@{handle}".encode()
    start = text.encode().find(tag)
    if start < 0:
        return None
    return {
        "index": {"byteStart": start, "byteEnd": start + len(tag)},
        "features": [{"$type": "app.bsky.richtext.facet#mention", "did": did}],
    }


def post_url(handle: str | None, did: str, uri: str) -> str:
    rkey = uri.rsplit("/", 1)[-1]
    return f"https://bsky.app/profile/{handle or did}/post/{rkey}"

