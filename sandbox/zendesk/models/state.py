"""``ZendeskState``: the fake Zendesk's whole state, assembled from one module per resource.

Each layer builds on the one before (core -> users -> instances -> tickets -> imports), so a method
only calls what its own or an earlier layer defines.
"""

from __future__ import annotations

from .imports import ImportsState
from .records import ZendeskAccount


class ZendeskState(ImportsState):
    """All fake Zendesk accounts. Thread-safe: every public method takes ``lock``."""

    def create_account(
        self, subdomain: str, *, admin_name: str = "Admin", admin_email: str | None = None
    ) -> ZendeskAccount:
        with self.lock:
            if subdomain in self.accounts:
                raise ValueError(f"account {subdomain!r} exists")
            account = ZendeskAccount(subdomain)
            self.accounts[subdomain] = account
            self.add_user(subdomain, admin_name, email=admin_email or f"admin@{subdomain}.example", role="admin")
            return account
