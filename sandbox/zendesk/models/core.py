"""What every part of ``ZendeskState`` builds on: the lock, the clock, the accounts and the id sequence."""

from __future__ import annotations

from datetime import UTC, datetime

from sandbox.base import FakeBackend

from .records import Clock, IntegrationInstance, ZendeskAccount


class StateCore(FakeBackend):
    """All fake Zendesk accounts. Thread-safe: every public method takes ``lock``."""

    def __init__(self, clock: Clock | None = None):
        super().__init__()
        self.clock: Clock = clock or (lambda: datetime.now(UTC))
        self.accounts: dict[str, ZendeskAccount] = {}
        self._next_id = 1000
        # instance_push_id -> (subdomain, instance) between opening the admin UI and its return post.
        self._pending_installs: dict[str, tuple[str, IntegrationInstance]] = {}

    def reset(self) -> None:
        with self.lock:
            self.accounts.clear()
            self._pending_installs.clear()
            self._next_id = 1000

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id

    def account(self, subdomain: str) -> ZendeskAccount:
        with self.lock:
            try:
                return self.accounts[subdomain]
            except KeyError:
                raise KeyError(f"no account {subdomain!r}") from None
