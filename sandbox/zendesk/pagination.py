"""Zendesk pagination ("Pagination" in the API reference).

* Offset: ``page``/``per_page`` (max 100); body carries ``next_page``, ``previous_page`` (full URLs or
  null) and ``count``.
* Cursor: ``page[size]`` (max 100), ``page[after]``/``page[before]``; body carries
  ``meta: {has_more, after_cursor, before_cursor}`` and ``links: {next, prev}``. zenpy asks for cursor
  pagination on the endpoints that support it by sending ``page[size]``.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import urlencode

from .exceptions import BadRequest

T = TypeVar("T")
MAX_PAGE_SIZE = 100


def _encode(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def _decode(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, number = raw.partition(":")
        if kind != "o":
            raise ValueError(cursor)
        return int(number)
    except ValueError as exc:
        raise BadRequest("invalid cursor") from exc


def _int(args: Mapping[str, str], key: str, default: int) -> int:
    try:
        value = int(args.get(key, default))
    except ValueError as exc:
        raise BadRequest(f"{key} must be an integer") from exc
    if value < 1:
        raise BadRequest(f"{key} must be positive")
    return value


def uses_cursor(args: Mapping[str, str]) -> bool:
    return any(key.startswith("page[") for key in args)


def paginate(items: Sequence[T], args: Mapping[str, str], url: str) -> tuple[list[T], dict[str, Any]]:
    """Return (page items, pagination fields to merge into the body). ``url`` is the endpoint URL
    without query string; other query args are carried into the next/prev links."""
    keep = {k: v for k, v in args.items() if not k.startswith("page") and k != "per_page"}
    if uses_cursor(args):
        size = min(_int(args, "page[size]", MAX_PAGE_SIZE), MAX_PAGE_SIZE)
        if "page[before]" in args:
            end = _decode(args["page[before]"])
            start = max(0, end - size)
        else:
            start = _decode(args["page[after]"]) if "page[after]" in args else 0
        end = min(start + size, len(items))
        page = list(items[start:end])
        has_more = end < len(items)
        after = _encode(end) if page else None
        before = _encode(start) if page else None
        links = {
            "next": f"{url}?{urlencode({**keep, 'page[size]': size, 'page[after]': after})}" if after else None,
            "prev": f"{url}?{urlencode({**keep, 'page[size]': size, 'page[before]': before})}"
            if before and start > 0
            else None,
        }
        meta = {"has_more": has_more, "after_cursor": after, "before_cursor": before}
        return page, {"meta": meta, "links": links}
    per_page = min(_int(args, "per_page", MAX_PAGE_SIZE), MAX_PAGE_SIZE)
    number = _int(args, "page", 1)
    start = (number - 1) * per_page
    page = list(items[start : start + per_page])
    next_page = (
        f"{url}?{urlencode({**keep, 'page': number + 1, 'per_page': per_page})}"
        if start + per_page < len(items)
        else None
    )
    previous = f"{url}?{urlencode({**keep, 'page': number - 1, 'per_page': per_page})}" if number > 1 else None
    return page, {"next_page": next_page, "previous_page": previous, "count": len(items)}
