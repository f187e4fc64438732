"""What Facebook Login knows in the Meta fake: the app's redirect URIs, the Page admins, codes, user
tokens and each Page's app subscription (served by ``login.py``; reset with the rest of the state)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEFAULT_APP_ID = "100000000000001"


@dataclass
class Admin:
    id: str
    name: str
    page_ids: list[str]


@dataclass
class MetaLogin:
    """The app's login settings and the users, codes and tokens of Facebook Login in the fake."""

    app_id: str = DEFAULT_APP_ID
    redirect_uris: set[str] = field(default_factory=set)
    admins: dict[str, Admin] = field(default_factory=dict)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    user_tokens: dict[str, tuple[str, bool]] = field(default_factory=dict)  # token -> (user id, long-lived)
    subscriptions: dict[str, list[str]] = field(default_factory=dict)  # page id -> subscribed fields

    def add_admin(self, user_id: str, name: str, page_ids: list[str]) -> Admin:
        admin = Admin(user_id, name, list(page_ids))
        self.admins[user_id] = admin
        return admin
