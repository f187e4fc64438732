"""Sending the notices outbox (``store/notices.py``): at least once, retried with backoff, deduplicable.

``deliver_due`` is one worker turn: it claims the due notices under a lease and POSTs each to its
webhook as JSON with an ``Idempotency-Key`` header (the same key is in the body as
``idempotency_key``), so a receiver that got a notice twice (a process killed after the POST, before
recording it) can drop the repeat. A 2xx is sent; anything else waits for the next attempt, after
``RetryPolicy``'s backoff (the receiver's ``Retry-After`` honoured), and is never given up: a notice
that an admin must act on is worth a retry a day. URLs pass the egress rule on every attempt.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

import requests

from plugin import egress
from plugin.errors import BadInput
from plugin.http import pinned_session
from plugin.retry import RetryPolicy
from plugin.store.notices import NoticeRow

if TYPE_CHECKING:
    from plugin.runtime import Runtime

log = logging.getLogger(__name__)
TIMEOUT_SECONDS = 10.0
HEADER = "Idempotency-Key"
_sessions: dict[int, requests.Session] = {}
_guard = threading.Lock()


def _session(runtime: Runtime) -> requests.Session:
    with _guard:
        found = _sessions.get(id(runtime))
        if found is None:
            policy = egress.Policy(egress.allowed_hosts(runtime.settings.allowed_private_hosts))
            found = _sessions[id(runtime)] = pinned_session(policy)
        return found


def _retry_after(response: requests.Response) -> float | None:
    try:
        return float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None


def send(runtime: Runtime, notice: NoticeRow) -> tuple[bool, str | None, float | None]:
    """One attempt: (delivered, error in plain words, the receiver's Retry-After)."""
    allowed = egress.allowed_hosts(runtime.settings.allowed_private_hosts)
    try:
        egress.check_url(notice.url, allowed, what="admin notice webhook")
        response = _session(runtime).post(
            notice.url,
            json={**notice.payload, "idempotency_key": notice.key},
            headers={HEADER: notice.key},
            timeout=TIMEOUT_SECONDS,
        )
    except (BadInput, requests.RequestException, OSError) as exc:
        return False, f"{type(exc).__name__}: {exc}", None
    if 200 <= response.status_code < 300:
        return True, None, None
    return False, f"the webhook answered {response.status_code}", _retry_after(response)


def deliver_due(runtime: Runtime, owner: str, limit: int = 20) -> int:
    """Send what is due; the number delivered."""
    store, policy = runtime.store.notices, RetryPolicy.from_settings(runtime.settings)
    delivered = 0
    for notice in store.claim_due(owner, limit, runtime.settings.lease_seconds):
        ok, error, retry_after = send(runtime, notice)
        if ok:
            delivered += store.sent(notice.id, owner)
            if notice.kind == "needs_attention":
                runtime.store.health.mark_notified(notice.target)
            continue
        when = policy.next_attempt(notice.attempts + 1, retry_after)
        store.failed(notice.id, owner, error or "not delivered", when)
        log.warning("admin notice %s (%s) not delivered, attempt %s; again at %s: %s",
                    notice.key, notice.target, notice.attempts + 1, when.isoformat(), error)  # fmt: skip
    return delivered


def drain(runtime: Runtime, timeout: float, owner: str = "drain") -> bool:
    """Deliver until nothing is pending (tests, shutdown); True when nothing is left."""
    deadline = time.monotonic() + timeout
    while True:
        deliver_due(runtime, owner)
        if runtime.store.notices.pending() == 0:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
