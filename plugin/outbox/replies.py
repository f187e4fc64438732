"""Outbound path: an agent's reply is recorded under its idempotency key before it is posted.

States: ``pending`` (nothing posted yet) -> ``sending`` (committed just before the network call)
-> ``sent`` | ``failed`` | ``uncertain``. A row found in ``sending`` after its lease expired belongs to a
process that died mid-call: it may have been posted, so it becomes ``uncertain`` and is never
re-posted automatically. That is how a reply is posted at most once.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from plugin import metrics
from plugin.connector import AccountContext, Connector
from plugin.errors import AuthError, FatalError, OutcomeUnknown, RateLimited, RetriableError
from plugin.heartbeat import Heartbeat
from plugin.models import PostResult, Reply, Visibility
from plugin.outbox import guard
from plugin.retry import RetryPolicy
from plugin.runtime import Runtime
from plugin.store.outbox import ReplyRow
from plugin.store.statuses import ReplyStatus

log = logging.getLogger(__name__)
CHANNELBACK = "zendesk_channelback"  # answered synchronously by the web request, never drained


@dataclass(frozen=True)
class ReplyState:
    id: int
    status: ReplyStatus
    external_id: str | None = None
    url: str | None = None
    error: str | None = None
    retry_after: float | None = None


def _state(row: ReplyRow) -> ReplyState:
    return ReplyState(id=row.id, status=row.status, external_id=row.external_id, url=row.url, error=row.last_error)


def enqueue(
    runtime: Runtime, tenant_id: int, account_id: int, reply: Reply, source: str, remote_id: str | None = None
) -> ReplyState:
    """Record the reply once; a second call with the same idempotency key returns the first row."""
    outbox = runtime.store.outbox
    reply_id = outbox.enqueue(tenant_id, account_id, reply, source, remote_id)
    if reply_id is not None:
        return ReplyState(id=reply_id, status=ReplyStatus.PENDING)
    row = outbox.by_key(reply.idempotency_key)
    if row.tenant_id != tenant_id:
        # Keys are namespaced per tenant by callers; a clash across tenants is refused, not shared.
        raise FatalError("idempotency key belongs to another tenant", code="key_conflict")
    return _state(row)


def _finish(
    runtime: Runtime,
    reply_id: int,
    owner: str,
    network: str,
    status: ReplyStatus,
    *,
    uncount: bool = False,
    **values: object,
) -> ReplyStatus:
    """Record an attempt's result while ``owner`` still holds the reply (see OutboxRepository.finish)."""
    recorded = runtime.store.outbox.finish(reply_id, status, owner, uncount=uncount, **values)
    metrics.REPLIES.labels(network, recorded).inc()
    return recorded


def _post(connector: Connector, context: AccountContext, reply: Reply, deadline: float) -> PostResult:
    """Post, waiting out a network's "retry after" while it ends before ``deadline`` (monotonic)."""
    while True:
        try:
            if reply.visibility == Visibility.PRIVATE:
                return connector.send_private(context, reply)
            return connector.post_reply(context, reply)
        except RateLimited as exc:
            # Nothing was posted. Only a synchronous caller (Zendesk's channelback, which needs the
            # posted message's id in its answer) passes a deadline; a worker never sleeps here.
            if exc.retry_after is None or time.monotonic() + exc.retry_after > deadline:
                raise
            time.sleep(exc.retry_after)


def attempt(runtime: Runtime, reply_id: int, owner: str, wait_seconds: float = 0.0) -> ReplyState:
    """Post one pending reply now. Safe to call concurrently: only one caller gets to send.

    ``wait_seconds``: how long a synchronous caller may wait for a network's pacing (a Telegram chat
    takes one message a second) before the reply is left pending for later."""
    outbox = runtime.store.outbox
    if not outbox.take(reply_id, owner, runtime.settings.lease_seconds):
        return _state(outbox.get(reply_id))
    row = outbox.get(reply_id)
    reply = row.reply()
    found = runtime.store.account(row.account_id) if row.account_id is not None else None
    if found is None:
        error = "account no longer connected"
        _finish(runtime, reply_id, owner, reply.network, ReplyStatus.FAILED, last_error=error)
        return ReplyState(id=reply_id, status=ReplyStatus.FAILED, error=error)
    account, context = found
    connector = runtime.registry.connectors.get(reply.network)
    if connector is None:
        error = f"no connector installed for {reply.network!r}"
        _finish(runtime, reply_id, owner, reply.network, ReplyStatus.FAILED, last_error=error)
        return ReplyState(id=reply_id, status=ReplyStatus.FAILED, error=error)
    if reply.visibility != Visibility.PRIVATE:
        # The one PII guard, before any network call, whichever CRM the reply came from.
        refused = guard.refusal(reply.text, runtime.store.tenant_key(account.tenant_id), runtime.settings.triage_rules)
        if refused is not None:
            _finish(runtime, reply_id, owner, reply.network, ReplyStatus.FAILED, last_error=refused)
            return ReplyState(id=reply_id, status=ReplyStatus.FAILED, error=refused)
    try:
        # The lease is kept while the network answers: a slow post is not taken for a dead one.
        lease = runtime.settings.lease_seconds
        renew = lambda held: outbox.renew_sending(owner, held, lease)  # noqa: E731
        with Heartbeat(renew, [reply_id], lease, f"{owner}:reply"):
            result = _post(connector, context, reply, time.monotonic() + wait_seconds)
    except OutcomeUnknown as exc:
        error = f"outcome unknown, not retried to avoid a double post: {exc}"
        _finish(runtime, reply_id, owner, reply.network, ReplyStatus.UNCERTAIN, last_error=error)
        return ReplyState(id=reply_id, status=ReplyStatus.UNCERTAIN, error=error)
    except RateLimited as exc:
        # The network (a 429) or our own pacing asked us to wait: nothing was posted, so this is not
        # a failed attempt. A busy chat (Telegram: 20 messages a minute per group) must never use up
        # ``max_attempts``; the reply waits the network's retry_after, bounded only by its age.
        policy = RetryPolicy.from_settings(runtime.settings)
        if policy.gives_up(first_seen=row.created_at):
            error = f"{policy.give_up_reason()}: {exc}"
            _finish(runtime, reply_id, owner, reply.network, ReplyStatus.FAILED, last_error=error)
            return ReplyState(id=reply_id, status=ReplyStatus.FAILED, error=error)
        when = policy.next_attempt(1, exc.retry_after)
        recorded = _finish(
            runtime,
            reply_id,
            owner,
            reply.network,
            ReplyStatus.PENDING,
            uncount=True,
            next_attempt_at=when,
            last_error=str(exc),
        )
        retry_after = exc.retry_after if recorded == ReplyStatus.PENDING else None
        return ReplyState(id=reply_id, status=recorded, error=str(exc), retry_after=retry_after)
    except RetriableError as exc:
        policy = RetryPolicy.from_settings(runtime.settings)
        # ``attempts`` already counts this one (``take`` added it).
        if policy.gives_up(attempts=row.attempts):
            error = f"{policy.give_up_reason(attempts=row.attempts)}: {exc}"
            _finish(runtime, reply_id, owner, reply.network, ReplyStatus.FAILED, last_error=error)
            return ReplyState(id=reply_id, status=ReplyStatus.FAILED, error=str(exc))
        when = policy.next_attempt(row.attempts, exc.retry_after)
        recorded = _finish(
            runtime, reply_id, owner, reply.network, ReplyStatus.PENDING, next_attempt_at=when, last_error=str(exc)
        )
        retry_after = exc.retry_after if recorded == ReplyStatus.PENDING else None
        return ReplyState(id=reply_id, status=recorded, error=str(exc), retry_after=retry_after)
    except (FatalError, AuthError) as exc:
        code = getattr(exc, "code", None)
        error = f"{code}: {exc}" if code else str(exc)
        _finish(runtime, reply_id, owner, reply.network, ReplyStatus.FAILED, last_error=error)
        return ReplyState(id=reply_id, status=ReplyStatus.FAILED, error=error)
    except Exception as exc:
        # A connector bug (e.g. it could not read the network's success answer): it may have posted.
        log.exception("connector %s failed unexpectedly while posting reply %s", reply.network, reply_id)
        error = f"outcome unknown after an unexpected {type(exc).__name__}; not retried to avoid a double post"
        _finish(runtime, reply_id, owner, reply.network, ReplyStatus.UNCERTAIN, last_error=error)
        return ReplyState(id=reply_id, status=ReplyStatus.UNCERTAIN, error=error)
    _finish(
        runtime,
        reply_id,
        owner,
        reply.network,
        ReplyStatus.SENT,
        external_id=result.external_id,
        url=result.url,
        last_error=None,
    )
    runtime.hooks.reply_sent(reply=reply, result=result, tenant=runtime.store.tenant_key(account.tenant_id))
    return ReplyState(id=reply_id, status=ReplyStatus.SENT, external_id=result.external_id, url=result.url)


def expire_stuck(runtime: Runtime) -> int:
    """Rows left in ``sending`` by a dead process become ``uncertain`` (see module docstring)."""
    return runtime.store.outbox.expire_stuck()


def drain(runtime: Runtime, owner: str, limit: int = 100) -> int:
    """Send due asynchronous replies (sources other than the synchronous Zendesk channelback)."""
    expire_stuck(runtime)
    ids = runtime.store.outbox.due_ids(limit, except_source=CHANNELBACK)
    for reply_id in ids:
        attempt(runtime, reply_id, owner)
    return len(ids)
