"""The repositories of plugin/store: claims under contention, lease-guarded writes, typed rows.

Each test runs on SQLite and (when configured) PostgreSQL: SQLite serialises writers, PostgreSQL
really races the same UPDATEs from several connections.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

import pytest
from sqlalchemy import select, update

from plugin.models import Reply
from plugin.runtime import Runtime
from plugin.store import tables as t
from plugin.store.db import utcnow
from plugin.store.deliveries import DeliveryUpdate
from plugin.store.inbox import MentionRow
from plugin.store.outbox import ReplyRow
from plugin.store.statuses import DeliveryStatus, MentionStatus, ReplyStatus
from tests.support.netplugin import make_mention

T = TypeVar("T")
THREADS = 6


def _race(work: Callable[[int], T]) -> list[T]:
    """Run ``work(i)`` in THREADS threads released at the same instant; every result, or the first error."""
    barrier = threading.Barrier(THREADS)
    results: list[T | None] = [None] * THREADS
    errors: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except BaseException as exc:  # re-raised in the test thread below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if errors:
        raise errors[0]
    return [r for r in results if r is not None]


def _mentions(rt: Runtime, tenant: tuple[int, int], count: int) -> list[int]:
    tenant_id, account_id = tenant
    ids = [rt.store.inbox.insert(tenant_id, account_id, make_mention(str(n))) for n in range(count)]
    assert None not in ids
    return [i for i in ids if i is not None]


def _routed_delivery(rt: Runtime, tenant: tuple[int, int]) -> int:
    [mention_id] = _mentions(rt, tenant, 1)
    row, _sinks = rt.store.inbox.for_routing(mention_id)
    rt.store.inbox.finish_routing(row, engaged=True, labels={}, matches={"zendesk": None})
    with rt.db.begin() as conn:
        return int(conn.execute(select(t.deliveries.c.id)).scalar_one())


def test_concurrent_claims_never_share_a_row_and_lose_none(rt: Runtime, tenant: tuple[int, int]) -> None:
    ids = _mentions(rt, tenant, 60)

    def claim_until_empty(i: int) -> list[int]:
        won: list[int] = []
        while batch := rt.store.inbox.claim_received(f"w{i}", 7, 60):
            won.extend(batch)
        return won

    claimed = [mention_id for won in _race(claim_until_empty) for mention_id in won]
    # A worker that loses every race may stop early; what is left is still claimable afterwards.
    claimed += rt.store.inbox.claim_received("sweeper", 100, 60)
    assert len(claimed) == len(set(claimed)), "a mention was claimed by two workers"
    assert sorted(claimed) == sorted(ids)


def test_an_expired_lease_is_free_again_and_its_owner_can_no_longer_finish(
    rt: Runtime, tenant: tuple[int, int]
) -> None:
    delivery_id = _routed_delivery(rt, tenant)
    assert rt.store.deliveries.claim_due("slow", 10, lease_seconds=-1) == [delivery_id]  # lease already over
    assert rt.store.deliveries.claim_due("fast", 10, lease_seconds=60) == [delivery_id]
    assert rt.store.deliveries.claim_due("third", 10, lease_seconds=60) == []  # held by "fast"

    late = DeliveryUpdate(delivery_id, DeliveryStatus.FAILED, attempts=1, last_error="too late")
    assert rt.store.deliveries.finish("slow", [late]) == 0
    done = DeliveryUpdate(delivery_id, DeliveryStatus.DELIVERED, attempts=1, remote_id="ticket-1")
    assert rt.store.deliveries.finish("fast", [done]) == 1

    with rt.db.begin() as conn:
        row = conn.execute(select(t.deliveries).where(t.deliveries.c.id == delivery_id)).one()
    assert (row.status, row.remote_id, row.last_error) == ("delivered", "ticket-1", None)
    assert row.lease_owner is None and row.lease_until is None
    assert rt.store.deliveries.claim_due("again", 10, lease_seconds=60) == []  # delivered is never due


def test_a_retried_delivery_waits_for_its_next_attempt(rt: Runtime, tenant: tuple[int, int]) -> None:
    delivery_id = _routed_delivery(rt, tenant)
    assert rt.store.deliveries.claim_due("w", 10, 60) == [delivery_id]
    later = utcnow() + timedelta(minutes=5)
    retry = DeliveryUpdate(delivery_id, DeliveryStatus.PENDING, attempts=1, last_error="503", next_attempt_at=later)
    assert rt.store.deliveries.finish("w", [retry]) == 1
    assert rt.store.deliveries.claim_due("w2", 10, 60) == []  # lease released, but not due yet
    [row] = rt.store.deliveries.due_rows([delivery_id])
    assert row.attempts == 1


def test_only_one_of_many_racing_senders_takes_a_reply(rt: Runtime, tenant: tuple[int, int]) -> None:
    tenant_id, account_id = tenant
    reply = Reply(network="testnet", account="brand", text="hi", in_reply_to="1", idempotency_key="k")
    reply_id = rt.store.outbox.enqueue(tenant_id, account_id, reply, "salesforce")
    assert reply_id is not None
    assert rt.store.outbox.enqueue(tenant_id, account_id, reply, "salesforce") is None  # same key

    taken = _race(lambda i: rt.store.outbox.take(reply_id, f"w{i}", 60))
    assert taken.count(True) == 1
    row = rt.store.outbox.get(reply_id)
    assert row.status is ReplyStatus.SENDING and row.attempts == 1


def test_expire_stuck_only_touches_sending_rows_whose_lease_ran_out(rt: Runtime, tenant: tuple[int, int]) -> None:
    tenant_id, account_id = tenant

    def enqueue(key: str) -> int:
        reply = Reply(network="testnet", account="brand", text="hi", in_reply_to="1", idempotency_key=key)
        reply_id = rt.store.outbox.enqueue(tenant_id, account_id, reply, "salesforce")
        assert reply_id is not None
        return reply_id

    dead, alive, waiting = enqueue("dead"), enqueue("alive"), enqueue("waiting")
    assert rt.store.outbox.take(dead, "gone", lease_seconds=-1)
    assert rt.store.outbox.take(alive, "busy", lease_seconds=60)
    with rt.db.begin() as conn:  # a pending row with a stale lease is not "stuck": nothing was sent
        conn.execute(update(t.replies).where(t.replies.c.id == waiting).values(lease_owner="x", lease_until=None))
    assert rt.store.outbox.expire_stuck() == 1
    states = {i: rt.store.outbox.get(i).status for i in (dead, alive, waiting)}
    assert states == {dead: ReplyStatus.UNCERTAIN, alive: ReplyStatus.SENDING, waiting: ReplyStatus.PENDING}


def test_repositories_hand_out_frozen_typed_rows(rt: Runtime, tenant: tuple[int, int]) -> None:
    tenant_id, _ = tenant
    [mention_id] = _mentions(rt, tenant, 1)
    found = rt.store.inbox.find(tenant_id, "testnet", "0")
    assert isinstance(found, MentionRow) and found.id == mention_id
    assert found.status is MentionStatus.RECEIVED  # the enum member, not the stored string
    assert found.mention().external_id == "0"
    with pytest.raises(dataclasses.FrozenInstanceError):
        found.status = MentionStatus.ROUTED  # type: ignore[misc]
    assert rt.store.inbox.find(tenant_id, "testnet", "missing") is None

    row, _ = rt.store.inbox.for_routing(mention_id)
    rt.store.inbox.finish_routing(row, engaged=False, labels={"engage": False}, matches={})
    skipped = rt.store.inbox.find(tenant_id, "testnet", "0")
    assert skipped is not None and skipped.status is MentionStatus.SKIPPED and skipped.labels == {"engage": False}

    account, _context = rt.store.brand_accounts.get(tenant[1])  # type: ignore[misc]
    cursor = rt.store.brand_accounts.cursor(account.id)
    assert (cursor.cursor, cursor.failures) == (None, 0)
    assert cursor.next_poll_at is not None and cursor.next_poll_at.tzinfo is not None  # UTC on SQLite too


def test_parent_states_counts_our_sent_reply_as_delivered(rt: Runtime, tenant: tuple[int, int]) -> None:
    tenant_id, account_id = tenant
    _routed_delivery(rt, tenant)  # mention "0", its zendesk delivery pending
    reply = Reply(network="testnet", account="brand", text="hi", in_reply_to="0", idempotency_key="r")
    reply_id = rt.store.outbox.enqueue(tenant_id, account_id, reply, "salesforce")
    assert reply_id is not None and rt.store.outbox.take(reply_id, "w", 60)
    rt.store.outbox.finish(reply_id, ReplyStatus.SENT, external_id="r1", url=None, last_error=None)

    states = rt.store.deliveries.parent_states(tenant_id, "zendesk", {("testnet", "0"), ("testnet", "r1")})
    assert states == {("testnet", "0"): DeliveryStatus.PENDING, ("testnet", "r1"): DeliveryStatus.DELIVERED}
    posted = rt.store.outbox.find_posted(tenant_id, "testnet", "r1")
    assert isinstance(posted, ReplyRow) and posted.reply().in_reply_to == "0"


def test_a_write_with_an_unknown_field_is_refused(rt: Runtime, tenant: tuple[int, int]) -> None:
    # ``finish``/``release_cursor`` take keyword fields; a typo must fail loudly, not write nothing.
    with pytest.raises(TypeError, match="statuss"):
        rt.store.outbox.finish(1, ReplyStatus.SENT, statuss="x")
    with pytest.raises(TypeError, match="cursr"):
        rt.store.brand_accounts.release_cursor(tenant[1], next_poll=None, cursr="x")  # type: ignore[arg-type]


def test_a_crm_whose_old_work_keeps_failing_never_starves_the_other_crm(rt: Runtime, tenant: tuple[int, int]) -> None:
    """(``bench faults``: the oldest Salesforce deliveries, failing and due again within seconds, filled
    every claim, and Zendesk deliveries of newer mentions were never claimed.)"""
    ids = _mentions(rt, tenant, 6)
    for n, mention_id in enumerate(ids):
        row, _sinks = rt.store.inbox.for_routing(mention_id)
        sinks = {"salesforce": None} if n < 3 else {"zendesk": None}
        rt.store.inbox.finish_routing(row, engaged=True, labels={}, matches=sinks)
    oldest_only = rt.store.deliveries.claim_due("w0", 3, 60)
    assert len(oldest_only) == 3  # the three oldest are Salesforce's: one shared claim takes no Zendesk work
    rt.store.deliveries.finish("w0", [DeliveryUpdate(i, DeliveryStatus.PENDING, 1, "503") for i in oldest_only])
    salesforce = rt.store.deliveries.claim_due("w1", 3, 60, sink="salesforce")
    zendesk = rt.store.deliveries.claim_due("w1", 3, 60, sink="zendesk")
    assert sorted(salesforce) == sorted(oldest_only) and len(zendesk) == 3
    assert rt.store.deliveries.claim_due("w1", 3, 60, other_than=["salesforce", "zendesk"]) == []
