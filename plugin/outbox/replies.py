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
from datetime import timedelta

from plugin import attention, metrics, ratebudget, renewal
from plugin.connector import AccountContext, Connector
from plugin.errors import AuthError, FatalError, OriginalDeleted, OutcomeUnknown, RateLimited, RetriableError
from plugin.heartbeat import Heartbeat
from plugin.models import PostResult, Reply, Visibility
from plugin.outbox import acks, guard, handoff, unquoted
from plugin.pipeline import inbound, notices
from plugin.retry import RetryPolicy
from plugin.runtime import Runtime
from plugin.store.db import utcnow
from plugin.store.outbox import ReplyRow
from plugin.store.statuses import ReplyStatus

log = logging.getLogger(__name__)
CHANNELBACK = "zendesk_channelback"  # answered synchronously by the web request, never drained
SATISFACTION = "satisfaction"  # the rating question (plugin/outbox/satisfaction.py); remote_id = its fact
SENDING_RECHECK_SECONDS = 5.0


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
    runtime: Runtime,
    tenant_id: int,
    account_id: int,
    reply: Reply,
    source: str,
    remote_id: str | None = None,
    handoff_thread: str | None = None,
) -> ReplyState:
    """Record the reply once; a second call with the same idempotency key returns the first row."""
    outbox = runtime.store.outbox
    reply_id = outbox.enqueue(tenant_id, account_id, reply, source, remote_id, handoff_thread)
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
    # Whatever this attempt meant to record: an attempt that outlived its lease and did not post
    # (a retriable error, a held reply) is recorded ``failed`` too, and never retried.
    if recorded == ReplyStatus.FAILED:
        _question_failed(runtime, reply_id, str(values.get("last_error") or "not sent"))
    return recorded


def _question_failed(runtime: Runtime, reply_id: int, error: str) -> None:
    """A satisfaction question that could not be sent: its conversation shows ``failed`` with the
    reason (dashboard, doctor), not only this outbox row."""
    row = runtime.store.outbox.get(reply_id)
    if row.source == SATISFACTION and row.remote_id and row.remote_id.isdigit():
        runtime.store.service.record_csat(int(row.remote_id), "failed", reason=error[:500])


def _post(
    connector: Connector,
    context: AccountContext,
    reply: Reply,
    deadline: float,
    budgets: ratebudget.Budgets,
    budget: ratebudget.Target | None,
) -> PostResult:
    """Post, waiting out a network's "retry after" while it ends before ``deadline`` (monotonic).
    Each try is paid from the account's rate budget, shared with its polls and every worker."""
    while True:
        try:
            wait = budgets.acquire(budget)
            if wait:
                assert budget is not None
                raise RateLimited(f"{budget.key}: waiting for the rate budget", retry_after=wait, code="rate_budget")
            with budgets.metered(budget):
                if reply.visibility == Visibility.PRIVATE:
                    return connector.send_private(context, reply)
                return connector.post_reply(context, reply)
        except RateLimited as exc:
            if exc.code not in ("rate_budget", "client_pacing"):
                budgets.hold(budget, exc.retry_after or 0.0)  # the network said so: the account's bucket waits
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
    deadline = time.monotonic() + wait_seconds
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
        try:
            moved = handoff.parse(reply.text)
        except FatalError as exc:
            _finish(runtime, reply_id, owner, reply.network, ReplyStatus.FAILED, last_error=str(exc))
            return ReplyState(id=reply_id, status=ReplyStatus.FAILED, error=str(exc))
        if moved is not None:
            return _hand_off(runtime, row, moved, owner, deadline)
    try:
        reply = unquoted.apply(reply)  # the agent's "#unquoted": sent without the message it would quote
    except FatalError as exc:
        _finish(runtime, reply_id, owner, reply.network, ReplyStatus.FAILED, last_error=str(exc))
        return ReplyState(id=reply_id, status=ReplyStatus.FAILED, error=str(exc))
    if reply.visibility != Visibility.PRIVATE and _answers_deleted(runtime, account.tenant_id, reply):
        # The customer deleted what it answers: posting would fail (or dangle); the agent decides.
        error = notices.held_reason(reply.network)
        _finish(runtime, reply_id, owner, reply.network, ReplyStatus.HELD, last_error=error)
        return ReplyState(id=reply_id, status=ReplyStatus.HELD, error=error)
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
            budgets = ratebudget.Budgets(runtime.settings, runtime.store)
            budget = ratebudget.account_target(runtime.settings, account.id, connector, account.settings)
            # A token about to expire (or refused) is renewed first; a refusal posted nothing.
            post = lambda current: _post(connector, current, reply, deadline, budgets, budget)  # noqa: E731
            result = renewal.call(runtime, account.id, context, connector, post)
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
    except OriginalDeleted as exc:
        # Found out by posting: recorded as the deletion it is (note on the ticket/case), reply held.
        if reply.in_reply_to:
            gone = reply.in_reply_to
            inbound.original_gone(runtime, account.tenant_id, reply.network, gone, unavailable=exc.unavailable)
        private = reply.visibility == Visibility.PRIVATE
        error = f"{notices.held_reason(reply.network, unavailable=exc.unavailable, private=private)} ({exc})"
        recorded = _finish(runtime, reply_id, owner, reply.network, ReplyStatus.HELD, last_error=error)
        return ReplyState(id=reply_id, status=recorded, error=error)
    except AuthError as exc:
        # Nothing was posted (the network refused the credentials). Retrying blindly cannot help:
        # the account is paused and its admin told; the reply waits and goes out after reconnecting.
        # A synchronous channelback answers the agent now instead.
        attention.account_refused(runtime, account.id, exc, "reply")
        error = attention.plain_error(exc, reply.network)
        if row.source == CHANNELBACK:
            recorded = _finish(runtime, reply_id, owner, reply.network, ReplyStatus.FAILED, last_error=error)
            return ReplyState(id=reply_id, status=recorded, error=error)
        when = utcnow() + timedelta(hours=1)
        recorded = _finish(
            runtime, reply_id, owner, reply.network, ReplyStatus.PENDING, next_attempt_at=when, last_error=error
        )
        return ReplyState(id=reply_id, status=recorded, error=error)
    except FatalError as exc:
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
        parts=list(result.parts) or [result.external_id],
    )
    runtime.hooks.reply_sent(reply=reply, result=result, tenant=runtime.store.tenant_key(account.tenant_id))
    return ReplyState(id=reply_id, status=ReplyStatus.SENT, external_id=result.external_id, url=result.url)


def _hand_off(runtime: Runtime, row: ReplyRow, moved: handoff.Handoff, owner: str, deadline: float) -> ReplyState:
    """The agent's ``#handoff`` reply: its private message, then its public acknowledgement, each its
    own row posted at most once (plugin.outbox.handoff). The agent's row ends as the pair did. Both
    share the caller's ``deadline``: a synchronous channelback waits for the pair as for one reply."""
    reply = row.reply()
    assert row.account_id is not None
    private = reply.model_copy(
        update={
            "text": moved.private,
            "visibility": Visibility.PRIVATE,
            "idempotency_key": handoff.child_key(reply.idempotency_key, "private"),
        }
    )
    public_thread = reply.thread_id or reply.in_reply_to
    sent = _child(runtime, row, private, owner, deadline, handoff_thread=public_thread)
    if sent.status != ReplyStatus.SENT:
        nothing = "handoff: the private message was not sent, nothing was posted publicly"
        return _mirror(runtime, row, owner, sent, nothing)
    ack_key = handoff.child_key(reply.idempotency_key, "ack")
    ack_text = moved.ack or acks.for_reply(runtime, row.tenant_id, reply)
    ack = reply.model_copy(update={"text": ack_text, "attachments": [], "idempotency_key": ack_key})
    acked = _child(runtime, row, ack, owner, deadline)
    if acked.status != ReplyStatus.SENT:
        return _mirror(runtime, row, owner, acked, "handoff: the private message was sent; the public acknowledgement")
    assert sent.external_id is not None and acked.external_id is not None
    parts = [sent.external_id, acked.external_id]
    _finish(runtime, row.id, owner, reply.network, ReplyStatus.SENT, external_id=sent.external_id, url=acked.url,
            last_error=None, parts=parts)  # fmt: skip
    return ReplyState(id=row.id, status=ReplyStatus.SENT, external_id=sent.external_id, url=acked.url)


def _child(
    runtime: Runtime, parent: ReplyRow, reply: Reply, owner: str, deadline: float, handoff_thread: str | None = None
) -> ReplyState:
    assert parent.account_id is not None
    state = enqueue(runtime, parent.tenant_id, parent.account_id, reply, parent.source, handoff_thread=handoff_thread)
    if state.status == ReplyStatus.PENDING:
        state = attempt(runtime, state.id, owner, wait_seconds=max(0.0, deadline - time.monotonic()))
    return state


def _mirror(runtime: Runtime, parent: ReplyRow, owner: str, child: ReplyState, what: str) -> ReplyState:
    """The agent's row takes the state of the message that did not go out (a retry re-runs the pair;
    whatever was already sent is not sent again)."""
    error = f"{what}: {child.error or child.status.value}"
    network = parent.network
    if child.status in (ReplyStatus.PENDING, ReplyStatus.SENDING):
        # Not posted yet (retriable), or being posted by another worker right now: look again later.
        retry_after = child.retry_after if child.status == ReplyStatus.PENDING else SENDING_RECHECK_SECONDS
        when = RetryPolicy.from_settings(runtime.settings).next_attempt(parent.attempts, retry_after)
        _finish(runtime, parent.id, owner, network, ReplyStatus.PENDING, next_attempt_at=when, last_error=error)
        return ReplyState(id=parent.id, status=ReplyStatus.PENDING, error=error, retry_after=retry_after)
    _finish(runtime, parent.id, owner, network, child.status, last_error=error)
    return ReplyState(id=parent.id, status=child.status, error=error)


def _answers_deleted(runtime: Runtime, tenant_id: int, reply: Reply) -> bool:
    if not reply.in_reply_to:
        return False
    answered = runtime.store.inbox.find(tenant_id, reply.network, reply.in_reply_to)
    return answered is not None and answered.deleted


def expire_stuck(runtime: Runtime) -> int:
    """Rows left in ``sending`` by a dead process become ``uncertain`` (see module docstring)."""
    return runtime.store.outbox.expire_stuck()


def drain(runtime: Runtime, owner: str, limit: int = 100) -> int:
    """Send due asynchronous replies (sources other than the synchronous Zendesk channelback)."""
    expire_stuck(runtime)
    paused = runtime.store.health.paused_accounts()  # credentials refused: wait for an admin
    ids = runtime.store.outbox.due_ids(limit, except_source=CHANNELBACK, paused_accounts=paused)
    for reply_id in ids:
        attempt(runtime, reply_id, owner)
    return len(ids)
