"""Replies are posted at most once, whatever fails and whenever the process dies."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from plugin.errors import FatalError, OutcomeUnknown, RateLimited
from plugin.models import Reply
from plugin.outbox import replies as outbox
from plugin.runtime import Runtime
from plugin.store import tables as t
from plugin.store.db import utcnow
from plugin.store.statuses import ReplyStatus
from tests.support.netplugin import TestNetPlugin


def _reply(key: str = "k1") -> Reply:
    return Reply(network="testnet", account="brand", text="thanks!", in_reply_to="1", idempotency_key=key)


def test_same_key_posts_once(rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin) -> None:
    tenant_id, account_id = tenant
    first = outbox.enqueue(rt, tenant_id, account_id, _reply(), "zendesk_channelback")
    sent = outbox.attempt(rt, first.id, "a")
    again = outbox.enqueue(rt, tenant_id, account_id, _reply(), "zendesk_channelback")
    assert sent.status == "sent" and again.status == "sent" and again.external_id == sent.external_id
    assert outbox.attempt(rt, again.id, "b").status == "sent"
    assert len(testnet.connector.posted) == 1


def test_retriable_error_keeps_it_pending_with_retry_after(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin
) -> None:
    tenant_id, account_id = tenant
    testnet.connector.fail_next.append(RateLimited("slow down", retry_after=30))
    state = outbox.enqueue(rt, tenant_id, account_id, _reply(), "salesforce")
    result = outbox.attempt(rt, state.id, "a")
    assert result.status == "pending" and result.retry_after == 30
    with rt.db.begin() as conn:
        when = conn.execute(select(t.replies.c.next_attempt_at)).scalar_one()
    from plugin.store.db import as_utc

    assert as_utc(when) >= utcnow() + timedelta(seconds=29)  # Retry-After honoured
    assert testnet.connector.posted == []


def test_a_synchronous_handoff_waits_for_its_network_like_any_reply(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin
) -> None:
    """The channelback's wait covers both messages of a ``#handoff``: a short "retry after" before the
    private message (or the acknowledgement) is waited out, not answered "try again later"."""
    tenant_id, account_id = tenant
    testnet.connector.fail_next.append(RateLimited("slow down", retry_after=0.05))
    handoff = _reply("h1").model_copy(update={"text": "#handoff Check your DMs!\nYour order number?"})
    state = outbox.enqueue(rt, tenant_id, account_id, handoff, "zendesk_channelback")
    result = outbox.attempt(rt, state.id, "cb", wait_seconds=5.0)
    assert result.status == "sent", result.error
    assert [r.text for r in testnet.connector.posted] == ["Your order number?", "Check your DMs!"]


def test_unknown_outcome_is_never_retried(rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin) -> None:
    tenant_id, account_id = tenant
    testnet.connector.fail_next.append(OutcomeUnknown("read timeout"))
    state = outbox.enqueue(rt, tenant_id, account_id, _reply(), "salesforce")
    assert outbox.attempt(rt, state.id, "a").status == "uncertain"
    assert outbox.drain(rt, "a") == 0
    assert testnet.connector.posted == []


def test_fatal_error_fails_with_reason(rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin) -> None:
    tenant_id, account_id = tenant
    testnet.connector.fail_next.append(FatalError("thread deleted", code="gone"))
    state = outbox.enqueue(rt, tenant_id, account_id, _reply(), "salesforce")
    result = outbox.attempt(rt, state.id, "a")
    assert result.status == "failed" and "gone" in (result.error or "")


def test_process_killed_while_sending_becomes_uncertain(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin
) -> None:
    tenant_id, account_id = tenant
    state = outbox.enqueue(rt, tenant_id, account_id, _reply(), "salesforce")
    # Simulate a process that committed 'sending' and died before recording the result.
    with rt.db.begin() as conn:
        conn.execute(
            update(t.replies)
            .where(t.replies.c.id == state.id)
            .values(status="sending", lease_owner="dead", lease_until=utcnow() - timedelta(seconds=1))
        )
    assert outbox.expire_stuck(rt) == 1
    assert outbox.attempt(rt, state.id, "a").status == "uncertain"
    assert testnet.connector.posted == []


def test_drain_sends_async_replies(rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin) -> None:
    tenant_id, account_id = tenant
    for key in ("a", "b"):
        outbox.enqueue(rt, tenant_id, account_id, _reply(key), "salesforce")
    assert outbox.drain(rt, "w") == 2
    assert len(testnet.connector.posted) == 2
    assert rt.store.counts()["replies_sent"] == 2


def _taken_then_given_up_on(rt: Runtime, reply_id: int, owner: str) -> None:
    """``owner`` takes the reply, then stalls past its lease; another process marks it uncertain."""
    assert rt.store.outbox.take(reply_id, owner, lease_seconds=60)
    with rt.db.begin() as conn:
        conn.execute(update(t.replies).where(t.replies.c.id == reply_id).values(lease_until=utcnow() - timedelta(1)))
    assert outbox.expire_stuck(rt) == 1


def test_a_late_success_is_recorded_as_sent_and_reported_again(rt: Runtime, tenant: tuple[int, int]) -> None:
    tenant_id, account_id = tenant
    state = outbox.enqueue(rt, tenant_id, account_id, _reply(), "salesforce", remote_id="0ST1")
    _taken_then_given_up_on(rt, state.id, "slow")
    rt.store.outbox.mark_reported([state.id])  # the agent was told "uncertain"
    recorded = rt.store.outbox.finish(state.id, ReplyStatus.SENT, "slow", external_id="r9", url=None, last_error=None)
    row = rt.store.outbox.get(state.id)
    assert recorded == ReplyStatus.SENT and row.status == ReplyStatus.SENT and row.external_id == "r9"
    assert row.reported_at is None, "the CRM must now learn that it was posted"


def test_a_late_retriable_failure_never_makes_the_reply_due_again(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin
) -> None:
    tenant_id, account_id = tenant
    state = outbox.enqueue(rt, tenant_id, account_id, _reply(), "salesforce")
    _taken_then_given_up_on(rt, state.id, "slow")
    recorded = rt.store.outbox.finish(
        state.id, ReplyStatus.PENDING, "slow", next_attempt_at=utcnow(), last_error="429 slow down"
    )
    row = rt.store.outbox.get(state.id)
    assert recorded == ReplyStatus.FAILED and row.status == ReplyStatus.FAILED
    assert row.last_error is not None and "429 slow down" in row.last_error
    assert outbox.drain(rt, "other") == 0 and testnet.connector.posted == []


def test_a_late_unknown_outcome_stays_uncertain(rt: Runtime, tenant: tuple[int, int]) -> None:
    tenant_id, account_id = tenant
    state = outbox.enqueue(rt, tenant_id, account_id, _reply(), "salesforce")
    _taken_then_given_up_on(rt, state.id, "slow")
    recorded = rt.store.outbox.finish(state.id, ReplyStatus.UNCERTAIN, "slow", last_error="read timeout")
    assert recorded == ReplyStatus.UNCERTAIN and rt.store.outbox.get(state.id).status == ReplyStatus.UNCERTAIN


def test_a_finish_by_an_attempt_that_does_not_hold_the_reply_changes_nothing(
    rt: Runtime, tenant: tuple[int, int]
) -> None:
    tenant_id, account_id = tenant
    state = outbox.enqueue(rt, tenant_id, account_id, _reply(), "salesforce")
    assert rt.store.outbox.take(state.id, "owner", lease_seconds=60)
    recorded = rt.store.outbox.finish(state.id, ReplyStatus.FAILED, "intruder", last_error="x")
    assert recorded == ReplyStatus.SENDING and rt.store.outbox.get(state.id).status == ReplyStatus.SENDING


@pytest.mark.settings(lease_seconds=0.6)
def test_a_slow_post_keeps_its_lease_and_is_not_taken_for_a_dead_one(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin
) -> None:
    """The network takes longer than the lease to answer: the heartbeat keeps the reply in
    ``sending``, so nobody marks it uncertain meanwhile, and it ends ``sent``."""
    tenant_id, account_id = tenant
    state = outbox.enqueue(rt, tenant_id, account_id, _reply(), "salesforce")
    lease = rt.settings.lease_seconds
    seen: list[int] = []

    def slow_network() -> None:
        deadline = utcnow() + timedelta(seconds=lease * 3)
        while utcnow() < deadline:  # three leases long; another worker looks for dead sends meanwhile
            seen.append(outbox.expire_stuck(rt))
            threading.Event().wait(lease / 4)

    testnet.connector.before_post = slow_network
    assert outbox.attempt(rt, state.id, "slow").status == ReplyStatus.SENT
    assert seen and not any(seen), "a live, slow post was taken for a dead one"
    assert len(testnet.connector.posted) == 1
