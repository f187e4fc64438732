"""What Facebook Login knows in the Meta fake: the app's redirect URIs, the Page admins, codes, user
tokens and each Page's app subscription (served by ``login.py``; reset with the rest of the state)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

DEFAULT_APP_ID = "100000000000001"
SHORT_LIVED_SECONDS = 5400  # a user token from the login code: about an hour or two
LONG_LIVED_SECONDS = 5183944  # fb_exchange_token: about 60 days
DATA_ACCESS_SECONDS = 90 * 86400  # "data access expires" 90 days after the person last used the app


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
    clock: Callable[[], float] = time.time  # epoch seconds; tests move it to expire tokens
    issued: dict[str, float] = field(default_factory=dict)  # user token -> when issued
    data_access: dict[str, float] = field(default_factory=dict)  # user id -> when their data access expires
    # Page token -> (user id, long-lived) of the user token /me/accounts handed it out with: a Page token
    # from a long-lived user token never expires, one from a short-lived token expires with it.
    page_tokens: dict[str, tuple[str, bool]] = field(default_factory=dict)
    invalid: dict[str, int] = field(default_factory=dict)  # token -> error_subcode (460, 463, 467...)
    app_tokens: set[str] = field(default_factory=set)  # issued by grant_type=client_credentials

    def add_admin(self, user_id: str, name: str, page_ids: list[str]) -> Admin:
        admin = Admin(user_id, name, list(page_ids))
        self.admins[user_id] = admin
        return admin

    def invalidate(self, token: str, subcode: int = 460) -> None:
        """Meta invalidated ``token`` (460: the password changed, 463: expired, 467: invalid; 458: the
        app was removed): Graph refuses it with code 190 and this subcode, ``debug_token`` says so."""
        self.invalid[token] = subcode

    def expires_at(self, token: str) -> int | None:
        """``debug_token``'s ``expires_at`` of a user or Page token (0 = never); None: not a login's token."""
        if token in self.user_tokens:
            long_lived = self.user_tokens[token][1]
            return int(self.issued[token] + (LONG_LIVED_SECONDS if long_lived else SHORT_LIVED_SECONDS))
        found = self.page_tokens.get(token)
        if found is None:
            return None
        user, long_lived = found
        if long_lived:
            return 0
        # A Page token from a short-lived user token lives as long as that user token.
        issued = [self.issued[t] for t, (u, lived) in self.user_tokens.items() if u == user and not lived]
        return int(max(issued, default=self.clock()) + SHORT_LIVED_SECONDS)
