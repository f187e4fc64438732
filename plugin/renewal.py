"""Token renewal: short-lived tokens (X's OAuth 2.0 user tokens live 2 h) are renewed without an admin.

Two moments, both through ``Connector.refresh_credentials`` (the public API):

- ahead of time: before a poll or a reply, an account whose token expires within ``RENEW_AHEAD``
  (``Connector.token_expires_at``) is renewed first;
- after a refusal: when the network refuses the token anyway (a clock apart, a token revoked early),
  it is renewed once and the refused call retried once. Only when the renewal itself is refused
  does the account "need attention" (``plugin/attention.py``).

The renewed credentials replace the stored ones encrypted, compare-and-swap: of two workers renewing
at once only one writes, the other reads what the first stored (X rotates refresh tokens, so the
loser's would be dead already). ``account:token_renewed`` is recorded, never with a secret.

A connector that cannot renew (``refresh_credentials`` None: a Meta Page token whose data access ends
90 days after the admin's login) costs nothing here and is never retried blindly: ``renew`` returns
None, a refused call's ``AuthError`` stands and pauses the account (``plugin/attention.py``). Its
expiry is told to the admin ahead of time instead, without pausing (``plugin/expiry.py``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from plugin.connector import AccountContext, Connector
from plugin.errors import AuthError, FatalError, RetriableError
from plugin.http import metering
from plugin.store.db import utcnow

if TYPE_CHECKING:
    from plugin.runtime import Runtime

log = logging.getLogger(__name__)
RENEW_AHEAD = timedelta(minutes=15)
T = TypeVar("T")

_locks: dict[int, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock(account_id: int) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(account_id, threading.Lock())


def due(connector: Connector, context: AccountContext, now: datetime | None = None) -> bool:
    """The account's token expires within ``RENEW_AHEAD`` (or has expired)."""
    expires = connector.token_expires_at(context)
    return expires is not None and expires - RENEW_AHEAD <= (now or utcnow())


def renew(runtime: Runtime, account_id: int, context: AccountContext, connector: Connector) -> AccountContext | None:
    """Renew now; the account's context with the new credentials, or None when there was nothing to
    renew. ``AuthError`` from the network (the grant itself was revoked) propagates."""
    with _lock(account_id):
        found = runtime.store.account(account_id)
        if found is None:
            return None
        row, stored = found
        if dict(stored.credentials) != dict(context.credentials):
            return stored  # renewed meanwhile (this or another process): use what is stored
        # The token endpoint is not the account's rate-limited API: its answer must neither be
        # charged to the account's budget nor correct it, whatever poll or reply is metering.
        with metering():
            renewed = connector.refresh_credentials(stored)
        if renewed is None:
            return None
        credentials = {k: str(v) for k, v in renewed.credentials.items()}
        if not runtime.store.brand_accounts.replace_credentials(account_id, stored.credentials, credentials):
            again = runtime.store.account(account_id)
            return None if again is None else again[1]
        runtime.store.health.token_renewed(account_id, renewed.expires_at)
        expires = renewed.expires_at.isoformat() if renewed.expires_at else None
        runtime.store.events.record(
            row.tenant_id,
            "account:token_renewed",
            {"account_id": account_id, "network": row.network, "expires_at": expires},
        )
        log.info("renewed the token of %s account %s (expires %s)", row.network, account_id, expires or "never")
        updated = runtime.store.account(account_id)
        return None if updated is None else updated[1]


def fresh(runtime: Runtime, account_id: int, context: AccountContext, connector: Connector) -> AccountContext:
    """``context``, renewed first when its token is about to expire. A passing failure of the renewal
    keeps the current token (it may still work; the next call tries again)."""
    if not due(connector, context):
        return context
    try:
        return renew(runtime, account_id, context, connector) or context
    except (RetriableError, FatalError) as exc:
        if isinstance(exc, AuthError):
            raise
        log.warning("renewing the token of account %s failed, keeping the current one: %s", account_id, exc)
        return context


def call(
    runtime: Runtime,
    account_id: int,
    context: AccountContext,
    connector: Connector,
    action: Callable[[AccountContext], T],
) -> T:
    """``action(context)`` with a fresh token; when the network refuses the token, renew once and
    retry once. The refusal stands when nothing could be renewed."""
    context = fresh(runtime, account_id, context, connector)
    try:
        return action(context)
    except AuthError:
        renewed = renew(runtime, account_id, context, connector)
        if renewed is None or dict(renewed.credentials) == dict(context.credentials):
            raise
    return action(renewed)
