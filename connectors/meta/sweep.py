"""Poll sweep used by every Meta ``poll``: parents (posts, conversations, media; newest first) -> their
children, one Graph page per call, resumable from an opaque cursor."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from plugin.connector import PollPage, item_boundary
from plugin.errors import BadInput
from plugin.models import Mention

from .fields import id_str, now_utc, to_datetime


@dataclass
class SweepCursor:
    """Opaque-to-the-host poll state (serialized as base64 JSON).

    ``since`` is the watermark of the previous finished sweep (unix seconds); ``hw`` the newest
    created time seen in the current sweep. A finished sweep advances ``since`` to ``hw``. Items at
    exactly ``since`` are emitted again on purpose: the inbox dedups by external_id, nothing is missed.
    """

    since: int
    hw: int
    parents_after: str | None = None
    parents_done: bool = False
    queue: list[str] = field(default_factory=list)
    child_after: str | None = None

    def encode(self) -> str:
        raw = json.dumps(self.__dict__, separators=(",", ":"), sort_keys=True).encode("utf-8")
        return base64.urlsafe_b64encode(raw).decode("ascii")

    @classmethod
    def decode(cls, value: str) -> SweepCursor:
        try:
            data = json.loads(base64.urlsafe_b64decode(value.encode("ascii")))
            cursor = cls(
                since=int(data["since"]),
                hw=int(data["hw"]),
                parents_after=data.get("parents_after"),
                parents_done=bool(data.get("parents_done", False)),
                queue=[str(item) for item in data.get("queue", [])],
                child_after=data.get("child_after"),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise BadInput(f"unreadable poll cursor: {exc}") from exc
        return cursor

    @classmethod
    def starting(cls, since: datetime) -> SweepCursor:
        ts = int(since.timestamp())
        return cls(since=ts, hw=ts)


@dataclass
class SweepSpec:
    """How one network walks its two levels.

    ``parents(after)`` -> (items, next after); ``parent_mentions(item)`` -> mentions for the parent
    itself; ``parent_time(item)`` -> the time used to stop walking (created/updated); ``wants_children``
    decides whether a parent's children are read; ``children(parent_id, after)`` -> (mentions, after).
    """

    parents: Callable[[str | None], tuple[list[dict[str, Any]], str | None]]
    parent_mentions: Callable[[dict[str, Any]], list[Mention]]
    parent_time: Callable[[dict[str, Any]], datetime]
    wants_children: Callable[[dict[str, Any], datetime], bool]
    children: Callable[[str, str | None], tuple[list[Mention], str | None]]
    lookback: timedelta
    # A parent alone as ``explain_payload`` reads it (kept by the quarantine when it cannot be read).
    parent_payload: Callable[[dict[str, Any]], Any] = lambda item: {"data": [item]}


def initial_cursor(settings: Mapping[str, Any], now: datetime) -> SweepCursor:
    """Cursor None = start now, unless settings say ``backfill_since`` (ISO time) or ``backfill_hours``."""
    since = settings.get("backfill_since")
    if isinstance(since, str) and since:
        return SweepCursor.starting(to_datetime(since, "settings.backfill_since"))
    hours = settings.get("backfill_hours")
    if isinstance(hours, int | float) and not isinstance(hours, bool) and hours > 0:
        return SweepCursor.starting(now - timedelta(hours=float(hours)))
    return SweepCursor.starting(now)


def resume(settings: Mapping[str, Any], cursor: str | None) -> SweepCursor | PollPage:
    """The sweep cursor to continue from, or, for a first poll that starts now, the page to return
    (nothing yet, and the cursor that marks "now")."""
    if cursor is not None:
        return SweepCursor.decode(cursor)
    start = initial_cursor(settings, now_utc())
    if start.since >= int(now_utc().timestamp()) - 1:
        return PollPage(mentions=[], cursor=start.encode(), more=False)
    return start


def run_sweep(spec: SweepSpec, cursor: SweepCursor) -> PollPage:
    """One step of a sweep: one Graph page of children, or one page of parents. ``more`` = call again."""
    since = datetime.fromtimestamp(cursor.since, tz=UTC)
    mentions: list[Mention] = []
    if cursor.queue:
        parent_id = cursor.queue[0]
        found, after = spec.children(parent_id, cursor.child_after)
        mentions = [m for m in found if m.created_at >= since]
        if after:
            cursor.child_after = after
        else:
            cursor.queue.pop(0)
            cursor.child_after = None
    elif not cursor.parents_done:
        items, after = spec.parents(cursor.parents_after)
        floor = since - spec.lookback
        reached_floor = False
        for index, item in enumerate(items):
            # An unreadable parent is quarantined (inside the host's scope) and the walk goes on.
            with item_boundary(f"parents[{index}]", spec.parent_payload(item)):
                when = spec.parent_time(item)
                if when < floor:
                    reached_floor = True  # parents come newest first: everything further is older
                    break
                found = [m for m in spec.parent_mentions(item) if m.created_at >= since]
                if spec.wants_children(item, since):
                    cursor.queue.append(id_str(item.get("id"), "parent.id"))
                mentions.extend(found)
        cursor.parents_after = after
        cursor.parents_done = reached_floor or after is None
    for mention in mentions:
        cursor.hw = max(cursor.hw, int(mention.created_at.timestamp()))
    if cursor.parents_done and not cursor.queue:
        finished = SweepCursor(since=cursor.hw, hw=cursor.hw)
        return PollPage(mentions=mentions, cursor=finished.encode(), more=False)
    return PollPage(mentions=mentions, cursor=cursor.encode(), more=True)
