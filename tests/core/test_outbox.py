"""Replies are posted at most once, whatever fails and whenever the process dies."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from plugin.errors import FatalError, OutcomeUnknown, RateLimited
from plugin.models import Reply
from plugin.outbox import replies as outbox
from plugin.runtime import Runtime
from plugin.store import tables as t
from plugin.store.db import utcnow
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
