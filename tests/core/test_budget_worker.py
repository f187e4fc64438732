"""The worker and the shared rate budgets (issue 11): it spends before every call to Zendesk, a network
poll or a reply; it idles when all remaining work waits on an empty bucket; tenants take turns.

Zendesk is the fake (real Channel Framework pushes, counted as they arrive); every assertion is a
count, never a time. Runs on SQLite and, in CI, PostgreSQL (the ``rt`` fixture).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import insert, select

from plugin.models import Limits, Reply
from plugin.outbox import replies as outbox
from plugin.pipeline import inbound as pipeline
from plugin.ratebudget import Budgets, sink_target
from plugin.runtime import Runtime
from plugin.store import tables as t
from plugin.store.statuses import DeliveryStatus, MentionStatus, ReplyStatus
from plugin.worker.loop import Tick, Worker, idle_seconds
from sandbox.server import RunningServer, serve_in_thread
from sandbox.zendesk import create_app as create_zendesk
from sandbox.zendesk.models import ZendeskState
from tests.support.netplugin import TestNetPlugin, make_mention
from tests.support.zendesk_pushes import MANIFEST, PushRecorder

SUBDOMAIN = "budget"


@pytest.fixture(scope="module")
def zendesk() -> Iterator[tuple[ZendeskState, PushRecorder, RunningServer]]:
    state = ZendeskState()
    state.create_account(SUBDOMAIN, admin_name="Ada Admin", admin_email="ada@budget.example")
    pushes = PushRecorder(create_zendesk(state=state, requests_per_minute=700))
    server = serve_in_thread(pushes)
    yield state, pushes, server
    server.stop()


@pytest.fixture
def world(
    rt: Runtime, tenant: tuple[int, int], zendesk: tuple[ZendeskState, PushRecorder, RunningServer]
) -> tuple[Runtime, int, PushRecorder]:
    state, pushes, server = zendesk
    pushes.clear()
    pending = state.begin_install(SUBDOMAIN, "https://integration.example/manifest.json", MANIFEST)
    instance = state.finish_install(pending.instance_push_id, "Brand", '{"account": "brand"}', None)
    tenant_id, _ = tenant
    rt.store.set_sink_connection(tenant_id, "zendesk", {
        "subdomain": SUBDOMAIN, "api_base": server.url, "instance_push_id": instance.instance_push_id,
        "zendesk_access_token": instance.zendesk_access_token})  # fmt: skip
    return rt, tenant_id, pushes


def _routed(rt: Runtime, account_id: int, count: int, prefix: str = "m") -> None:
    account = rt.store.account(account_id)[0]  # type: ignore[index]
    pipeline.ingest(rt, account, [make_mention(f"{prefix}{i}", author=f"u{i}") for i in range(count)])
    while pipeline.route(rt, "router"):
        pass


def _target_key(rt: Runtime, tenant_id: int) -> str:
    config = rt.store.sink_connection(tenant_id, "zendesk")
    assert config is not None
    target = sink_target(rt.settings, "zendesk", config, rt.store.tenant_key(tenant_id))
    assert target is not None
    return target.key


def test_with_the_bucket_empty_the_loop_makes_no_call_and_idles_until_the_refill(
    world: tuple[Runtime, int, PushRecorder], tenant: tuple[int, int]
) -> None:
    rt, tenant_id, pushes = world
    _routed(rt, tenant[1], 3)
    config = rt.store.sink_connection(tenant_id, "zendesk")
    assert config is not None
    target = sink_target(rt.settings, "zendesk", config, rt.store.tenant_key(tenant_id))
    Budgets(rt.settings, rt.store).hold(target, 3600)  # as after a 429 with Retry-After: 3600
    worker = Worker(rt, owner="w1")
    ticks = [worker.run_once() for _ in range(5)]
    assert pushes.statuses == [], "nothing may be sent while the budget is empty"
    assert ticks[0].deferred == 3 and ticks[0].retried == 0, "deferred, not retried: no attempt is counted"
    assert all(t.deferred == 0 for t in ticks[1:]), "a waiting tenant is not claimed again before its refill"
    for tick in ticks:
        assert not tick.busy and not tick.progressed
        assert tick.next_due is not None
        assert tick.next_due > datetime.now(UTC) + timedelta(seconds=3500)
        assert idle_seconds(tick, 1.0) == 1.0  # sleeps the idle time, never spins
    # Another worker (a fresh process) claims once, finds the bucket empty, and waits as well.
    other = Worker(rt, owner="w2").run_once()
    assert pushes.statuses == [] and not other.busy
    with rt.db.read() as conn:
        rows = conn.execute(select(t.deliveries.c.attempts, t.deliveries.c.status)).all()
    assert [(r.attempts, r.status) for r in rows] == [(0, DeliveryStatus.PENDING)] * 3


def test_a_loop_waiting_on_a_refill_sleeps_only_until_it() -> None:
    soon = Tick(next_due=datetime.now(UTC) + timedelta(seconds=0.2))
    assert 0.0 < idle_seconds(soon, 1.0) <= 0.2
    assert idle_seconds(Tick(), 1.0) == 1.0


def test_a_delivery_spends_one_token_per_push_and_learns_the_plan_from_the_headers(
    world: tuple[Runtime, int, PushRecorder], tenant: tuple[int, int]
) -> None:
    rt, tenant_id, pushes = world
    _routed(rt, tenant[1], 5)
    tick = Worker(rt, owner="w1").run_once()
    assert tick.delivered == 5 and pushes.statuses == ["200"]
    bucket = rt.store.rate_budgets.state(_target_key(rt, tenant_id))
    assert bucket is not None
    # The "team" default (200/min) until Zendesk's X-Rate-Limit said 700; X-Rate-Limit-Remaining: 699.
    assert (bucket.limit, bucket.window) == (700, 60)
    assert bucket.capacity == pytest.approx(35.0) and bucket.tokens <= 35.0


def test_a_429_empties_the_shared_bucket_until_its_retry_after(
    world: tuple[Runtime, int, PushRecorder],
    tenant: tuple[int, int],
    zendesk: tuple[ZendeskState, PushRecorder, RunningServer],
) -> None:
    rt, tenant_id, _ = world
    _routed(rt, tenant[1], 2)
    # One request per (practically endless) window: the one spent below is never given back mid-test.
    limited = PushRecorder(create_zendesk(state=zendesk[0], requests_per_minute=1, rate_window=1e9))
    server = serve_in_thread(limited)
    try:
        config = rt.store.sink_connection(tenant_id, "zendesk")
        assert config is not None
        rt.store.set_sink_connection(tenant_id, "zendesk", {**config, "api_base": server.url})
        requests.post(f"{server.url}/api/v2/any_channel/validate_token.json", timeout=5,
                      json={"instance_push_id": config["instance_push_id"]},
                      headers={"Authorization": f"Bearer {config['zendesk_access_token']}"})  # fmt: skip
        tick = Worker(rt, owner="w1").run_once()  # someone else used the minute: Zendesk answers 429
        assert limited.statuses == ["429"] and tick.delivered == 0
        bucket = rt.store.rate_budgets.state(_target_key(rt, tenant_id))
        assert bucket is not None and bucket.tokens <= 0 and bucket.stamp > time.time()
        assert Worker(rt, owner="w2").run_once().delivered == 0 and limited.statuses == ["429"]
    finally:
        server.stop()


def _bulk_due(rt: Runtime, tenant_id: int, account_id: int, count: int, prefix: str) -> None:
    """``count`` routed mentions with a due Zendesk delivery each, in two statements (a 10,000-row
    backlog through ingest and routing would only make the test slow)."""
    now = datetime.now(UTC) - timedelta(seconds=1)
    mentions = [make_mention(f"{prefix}{i}", author=f"{prefix}a{i}") for i in range(count)]
    with rt.db.begin() as conn:
        conn.execute(insert(t.mentions), [
            {"tenant_id": tenant_id, "account_id": account_id, "network": m.network, "external_id": m.external_id,
             "thread_id": m.thread_id, "author_external_id": m.author.external_id,
             "payload": m.model_dump(mode="json"), "status": MentionStatus.ROUTED, "labels": {}, "deleted": False,
             "edits": 0, "created_at": now, "received_at": now}
            for m in mentions
        ])  # fmt: skip
        m = t.mentions.c
        ids = conn.execute(
            select(m.id).where(m.tenant_id == tenant_id, m.external_id.like(f"{prefix}%"))
        ).scalars().all()  # fmt: skip
        conn.execute(insert(t.deliveries), [
            {"mention_id": i, "tenant_id": tenant_id, "sink": "zendesk", "status": DeliveryStatus.PENDING,
             "attempts": 0, "next_attempt_at": now, "updated_at": now}
            for i in ids
        ])  # fmt: skip


def test_a_noisy_tenant_with_10000_due_does_not_starve_a_quiet_one_with_5(
    world: tuple[Runtime, int, PushRecorder], tenant: tuple[int, int]
) -> None:
    rt, noisy, pushes = world
    config = rt.store.sink_connection(noisy, "zendesk")
    assert config is not None
    quiet, later = rt.store.ensure_tenant("quiet"), rt.store.ensure_tenant("later")
    for other in (quiet, later):
        rt.store.set_sink_connection(other, "zendesk", config)
    _bulk_due(rt, noisy, tenant[1], 10_000, "n")  # the noisy brand's backlog is older...
    _bulk_due(rt, quiet, rt.store.upsert_account(quiet, "testnet", "brand", {"secret": "s"}), 5, "q")  # ...than 5
    # One worker pass of 20: all five quiet mentions go out beside fifteen noisy ones.
    tick = Worker(rt, owner="w1").deliver_due(limit=20)
    assert tick.delivered == 20 and pushes.statuses == ["200", "200"]
    with rt.db.read() as conn:
        delivered = conn.execute(
            select(t.deliveries.c.tenant_id).where(t.deliveries.c.status == DeliveryStatus.DELIVERED)
        ).scalars().all()  # fmt: skip
    assert delivered.count(quiet) == 5 and delivered.count(noisy) == 15
    # A claim of 400: the quiet brand's share is all its five; what it leaves goes to the noisy one.
    _bulk_due(rt, later, rt.store.upsert_account(later, "testnet", "brand", {"secret": "s"}), 5, "l")
    rows = rt.store.deliveries.due_rows(rt.store.deliveries.claim_due("w2", 400, 60, sink="zendesk"))
    per_tenant = {tenant_id: sum(1 for r in rows if r.tenant_id == tenant_id) for tenant_id in (noisy, later)}
    assert per_tenant == {noisy: 395, later: 5}


def test_polls_and_replies_spend_from_the_account_budget(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant_id, account_id = tenant
    # The test network declares a limit of 2 calls a minute: its bucket holds one (headroom 5%, at least 1).
    declared = Limits(max_text_length=500, poll_interval_seconds=1, requests_per_window=2, window_seconds=60)
    monkeypatch.setattr(testnet.connector, "limits", lambda: declared)
    worker = Worker(rt, owner="w1")
    worker.wake_polls()
    assert worker.poll_due().polled == 1 and len(testnet.connector.polled_with) == 1
    worker.wake_polls()
    second = worker.poll_due()
    assert second.polled == 0 and len(testnet.connector.polled_with) == 1, "the account's bucket is empty"
    assert second.next_due is not None and second.next_due > datetime.now(UTC) + timedelta(seconds=20)
    reply = Reply(network="testnet", account="brand", text="thanks!", in_reply_to="1", idempotency_key="k1")
    state = outbox.enqueue(rt, tenant_id, account_id, reply, "salesforce")
    assert outbox.drain(rt, "w1") == 1
    assert testnet.connector.posted == [], "a reply waits for the same budget as the polls"
    row = rt.store.outbox.get(state.id)
    assert row.status == ReplyStatus.PENDING and row.attempts == 0 and "rate budget" in (row.last_error or "")
