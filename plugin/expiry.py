"""Tokens that expire and that horseshoe cannot renew: told to the admin ahead of time (issue 15).

Some networks hand out tokens horseshoe renews alone (X's 2-hour user tokens: ``plugin/renewal.py``).
Others expire on a date only the admin can push back: a Meta Page token from Facebook Login never
expires itself, but the app's access to the admin's data does, 90 days after their last login to
the app (``data_access_expires_at``), and the admin must log in again.

``check`` runs in the worker every ``CHECK_SECONDS``: it records every account's token expiry in its
health (so doctor, the admin page, ``/healthz`` and ``/metrics`` show it, webhook-only accounts too),
and for an account whose connector ``cannot renew`` the token (``Connector.renews_tokens``) and
whose expiry is within ``token_warning_days``, raises a *warning* "needs attention" that tells the
admin once and pauses nothing (``attention.token_expiring``).

Why not pause at the expiry time: the stored time is what Meta said at the last login, and Meta
pushes data access back whenever the admin uses the app, so pausing on our clock could stop an
account that still works. The network's own refusal (Graph code 190) is what pauses it, after one
refused call rather than blind retries (``attention.account_refused``), and reconnecting clears it.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from plugin import attention
from plugin.store.db import utcnow

if TYPE_CHECKING:
    from plugin.runtime import Runtime

log = logging.getLogger(__name__)
CHECK_SECONDS = 600.0


def check(runtime: Runtime, now: datetime | None = None) -> int:
    """Record each enabled account's token expiry and warn about the ones due; how many were warned."""
    now = now or utcnow()
    ahead = timedelta(days=runtime.settings.token_warning_days)
    warned = 0
    for row in runtime.store.accounts():
        if not row.enabled or row.network not in runtime.registry.connectors:
            continue
        found = runtime.store.account(row.id)
        if found is None:
            continue
        connector = runtime.registry.connector(row.network)
        context = found[1]
        expires = connector.token_expires_at(context)
        runtime.store.health.token_expiry(row.id, expires)
        if expires is None or expires - ahead > now or connector.renews_tokens(context):
            continue
        attention.token_expiring(runtime, row.id, expires, now)
        warned += 1
    return warned


class Schedule:
    """One worker's turn of ``check``: on its first tick, then every ``CHECK_SECONDS``."""

    def __init__(self) -> None:
        self._due = 0.0  # monotonic

    def run_if_due(self, runtime: Runtime) -> None:
        if time.monotonic() >= self._due:
            self._due = time.monotonic() + CHECK_SECONDS
            check(runtime)
