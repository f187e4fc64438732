"""The ``includes`` of an X v2 response (``users`` and ``media`` expansions), read entry by entry.

An expansion only adds to the posts that point at it: a user's handle, name and avatar, a media's
URL. So one malformed expansion must not cost the page: every entry is validated on its own; a user
that cannot be read leaves its posts with the author's id only (``degraded`` names why, kept in the
mention's ``extra``), a media that cannot be read leaves its attachment out. Only when ``includes``
itself is not an object are all expansions unread, and every post says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from plugin.errors import BadInput

from .models import Media, User, parse_model


@dataclass(frozen=True)
class Expansions:
    users: dict[str, User] = field(default_factory=dict)
    media: dict[str, Media] = field(default_factory=dict)
    # user id -> why its expansion could not be read; "*" when it cannot be told whose it was
    broken_users: dict[str, str] = field(default_factory=dict)
    broken_media: dict[str, str] = field(default_factory=dict)

    def author_problem(self, user_id: str) -> str | None:
        """Why this author's profile fields are missing, if an expansion for it (or one nobody can
        attribute) was unreadable; None when it was read or never sent."""
        if user_id in self.users:
            return None
        return self.broken_users.get(user_id) or self.broken_users.get("*")


def read_includes(payload: Mapping[str, Any]) -> Expansions:
    raw = payload.get("includes")
    if raw is None:
        return Expansions()
    if not isinstance(raw, Mapping):
        why = f"includes must be a JSON object, got {type(raw).__name__}"
        return Expansions(broken_users={"*": why}, broken_media={"*": why})
    users, broken_users = _entries(User, raw.get("users"), "includes.users", "id")
    media, broken_media = _entries(Media, raw.get("media"), "includes.media", "media_key")
    return Expansions(
        users={u.id: u for u in users if u.id},
        media={m.media_key: m for m in media if m.media_key},
        broken_users=broken_users,
        broken_media=broken_media,
    )


def _entries(model: type[Any], value: Any, where: str, key: str) -> tuple[list[Any], dict[str, str]]:
    if value is None:
        return [], {}
    if not isinstance(value, list):
        return [], {"*": f"{where} must be a JSON array, got {type(value).__name__}"}
    read: list[Any] = []
    broken: dict[str, str] = {}
    for index, item in enumerate(value):
        try:
            read.append(parse_model(model, item, f"{where}[{index}]"))
        except BadInput as exc:
            ident = item.get(key) if isinstance(item, Mapping) else None
            readable = isinstance(ident, str | int) and not isinstance(ident, bool) and str(ident)
            owner = str(ident) if readable else "*"
            broken.setdefault(owner, str(exc))
    return read, broken
