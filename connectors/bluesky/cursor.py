"""The opaque poll cursor: high-water marks of the notifications already seen."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from plugin.errors import FatalError

# ---- poll cursor ---------------------------------------------------------------------------------------


def encode_cursor(state: dict[str, Any]) -> str:
    return json.dumps(state, separators=(",", ":"), sort_keys=True)


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        state = json.loads(cursor)
    except ValueError as exc:
        raise FatalError("Bluesky poll cursor is corrupt", code="bad_cursor") from exc
    if not isinstance(state, dict) or not isinstance(state.get("hwm"), dict):
        raise FatalError("Bluesky poll cursor is corrupt", code="bad_cursor")
    return state


def is_new(item: Mapping[str, Any], hwm: Mapping[str, Any]) -> bool:
    at = str(item.get("indexedAt") or "")
    return at > hwm["at"] or (at == hwm["at"] and item.get("uri") not in hwm["uris"])


def top_mark(items: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not items:
        return None
    newest = max(str(i.get("indexedAt") or "") for i in items)
    return {"at": newest, "uris": sorted(str(i["uri"]) for i in items if i.get("indexedAt") == newest)}


def merge_marks(old: Mapping[str, Any], new: Mapping[str, Any] | None) -> dict[str, Any]:
    if new is None or new["at"] < old["at"]:
        return dict(old)
    if new["at"] == old["at"]:
        return {"at": old["at"], "uris": sorted(set(old["uris"]) | set(new["uris"]))}
    return dict(new)

