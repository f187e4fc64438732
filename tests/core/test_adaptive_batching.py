"""Adaptive delivery batching (issue 11): a lone mention leaves at once and alone, what comes due while
a call to the CRM is in flight waits for that call and still counts as work, and a backlog goes out in
full calls (counted at the Zendesk and Salesforce fakes, driven by the real sinks)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from bench.drain import SUBDOMAIN, Fakes, drain
from plugin.pipeline import inbound as pipeline
from plugin.runtime import Runtime
from plugin.store.accounts import AccountRow
from plugin.worker import delivery
from plugin.worker.loop import Tick, Worker
from tests.support.netplugin import make_mention
from tests.support.wait import wait_for


@pytest.fixture(scope="module")
def fakes() -> Iterator[Fakes]:
    running = Fakes(latency=0.0)
    yield running
    running.stop()


def unique(name: str) -> str:
    """The fakes outlive one database (both stores run against them): ids must not repeat."""
    return f"{name}-{uuid.uuid4().hex[:8]}"


def connect(rt: Runtime, tenant: tuple[int, int], fakes: Fakes) -> AccountRow:
    tenant_id, account_id = tenant
    rt.store.set_sink_connection(tenant_id, "zendesk", fakes.zendesk_config())
    rt.store.set_sink_connection(tenant_id, "salesforce", fakes.org.sink_config())
    found = rt.store.account(account_id)
    assert found is not None
    return found[0]


def test_the_claim_follows_the_load() -> None:
    # Nothing in flight: everything due goes now (up to CALLS_PER_TICK full calls).
    assert delivery.plan_claim(100, in_flight=0, due=None) == delivery.ClaimPlan(400)
    # A call is in flight and little is due: it waits for that call (held, not claimed).
    assert delivery.plan_claim(100, in_flight=1, due=7) == delivery.ClaimPlan(0, held=7)
    # Enough for full calls even now: those go, the remainder fills up behind the call.
    assert delivery.plan_claim(100, in_flight=1, due=250) == delivery.ClaimPlan(200, held=50)
    assert delivery.plan_claim(200, in_flight=2, due=800) == delivery.ClaimPlan(800, held=0)
    assert delivery.batches(list(range(5)), 2) == [[0, 1], [2, 3], [4]]


def test_a_lone_mention_is_pushed_alone_in_the_tick_that_routes_it(
    rt: Runtime, tenant: tuple[int, int], fakes: Fakes
) -> None:
    account = connect(rt, tenant, fakes)
    zd_before, sf_tickets_before = fakes.zd.count, len(fakes.org.records("SocialPost"))
    pipeline.ingest(rt, account, [make_mention(unique("lone"), author=unique("lone"))])
    tick = Worker(rt, owner="w1").run_once()
    assert (tick.routed, tick.delivered, tick.held) == (1, 2, 0)  # both CRMs, no waiting for company
    assert fakes.zd.count - zd_before == 1, "one push for one mention"
    assert len(fakes.org.records("SocialPost")) == sf_tickets_before + 1
    assert rt.store.counts()["deliveries_pending"] == 0


def test_work_left_for_a_call_in_flight_counts_as_busy_and_leaves_when_it_returns(
    rt: Runtime, tenant: tuple[int, int], fakes: Fakes
) -> None:
    account = connect(rt, tenant, fakes)
    pipeline.ingest(rt, account, [make_mention(unique("held"), author=unique("h")) for _ in range(3)])
    worker = Worker(rt, owner="w1")
    zd_before = fakes.zd.count
    with delivery.IN_FLIGHT.call("zendesk"):  # another thread of this process is pushing to Zendesk
        tick = worker.run_once()
        assert tick.routed == 3 and tick.held == 3 and tick.busy, "held work is work: no helper may think it idle"
        assert fakes.zd.count == zd_before, "nothing pushed alongside the call in flight"
        assert rt.store.counts()["deliveries_pending"] == 3  # still pending in the database, unclaimed
    tick = worker.run_once()
    assert tick.delivered == 3 and tick.held == 0
    assert fakes.zd.count - zd_before == 1, "the three waited and left together"
    assert rt.store.counts()["deliveries_pending"] == 0


def test_work_whose_lease_ran_out_is_taken_over_even_while_a_call_is_in_flight(
    rt: Runtime, tenant: tuple[int, int], fakes: Fakes
) -> None:
    """(The call in flight may be the stalled one that holds that very work, and may never return.)"""
    account = connect(rt, tenant, fakes)
    pipeline.ingest(rt, account, [make_mention(unique("lapsed"), author=unique("l")) for _ in range(2)])
    assert pipeline.route(rt, "router") == 2
    stalled = rt.store.deliveries.claim_due("stalled", 10, lease_seconds=-1, sink="zendesk")  # lease already over
    assert len(stalled) == 2
    pipeline.ingest(rt, account, [make_mention(unique("fresh"), author=unique("f"))])
    assert pipeline.route(rt, "router") == 1
    with delivery.IN_FLIGHT.call("zendesk"):  # the stalled worker's call, still under way in this process
        ids, held = delivery.claim(rt.store.deliveries, "w1", "zendesk", 100, 60.0)
    assert sorted(ids) == sorted(stalled), "lapsed work is taken over at once"
    assert held == 1, "what came due meanwhile still waits for the call in flight"


class CountingWorker(Worker):
    """Counts its ticks, so the test knows when the loop has gone idle."""

    ticks = 0
    first = threading.Event()

    def run_once(self) -> Tick:
        tick = super().run_once()
        self.ticks += 1
        self.first.set()
        return tick


@pytest.mark.settings(worker_idle_seconds=3600.0)
def test_an_idle_worker_is_woken_by_a_stored_mention_not_by_its_idle_timer(
    rt: Runtime, tenant: tuple[int, int], fakes: Fakes
) -> None:
    account = connect(rt, tenant, fakes)
    worker = CountingWorker(rt, owner="idle")
    worker.first = threading.Event()
    thread = worker.start_thread()
    try:
        assert worker.first.wait(60), "the worker never ticked"
        pipeline.ingest(rt, account, [make_mention(unique("wake"), author=unique("wake"))])
        for _ in range(600):  # the idle timer is an hour: only the doorbell can wake it in time
            if rt.store.counts()["deliveries_delivered"] == 2:
                break
            time.sleep(0.1)
        assert rt.store.counts()["deliveries_delivered"] == 2
    finally:
        worker.stop()
        thread.join(timeout=30)
    assert not thread.is_alive(), "stop() must end an idle wait at once"


def test_a_backlog_of_1000_goes_out_in_full_calls(fakes: Fakes, tmp_path: object) -> None:
    figures = drain(fakes, 1000, str(tmp_path), deadline_s=1800)
    assert figures["finished"] and figures["delivered"] == 2000, figures
    assert figures["zendesk_calls"] / 1000 <= 0.05, figures
    assert figures["salesforce_calls"] / 1000 <= 0.05, figures


def zendesk_tickets(fakes: Fakes) -> set[str]:
    """External ids of the mentions that have their ticket at the Zendesk fake."""
    with fakes.zd_state.lock:
        index = fakes.zd_state.account(SUBDOMAIN).external_index
        return {ext.partition(":")[2] for (_instance, ext) in index}


def social_posts(fakes: Fakes) -> set[str]:
    return {str(r["ExternalPostId"]) for r in fakes.org.records("SocialPost")}


@pytest.mark.settings(worker_idle_seconds=3600.0)
def test_a_salesforce_call_under_way_holds_neither_zendesk_nor_routing(
    rt: Runtime, tenant: tuple[int, int], fakes: Fakes
) -> None:
    """Each CRM delivers on its own lane (plugin/worker/lanes.py): while every Salesforce call is held
    at the fake, a mention is still routed and pushed to Zendesk, and so is the next one; released,
    Salesforce gets both. (Before lanes the one loop sat in the Salesforce call: nothing moved.)"""
    account = connect(rt, tenant, fakes)
    gate = threading.Event()
    app = fakes.org.app
    sleep, latency = app._sleep, app.settings.latency

    def held(_seconds: float) -> None:  # every Salesforce request waits for the gate
        gate.wait(120)

    app._sleep = held
    app.set_latency(0.001)
    first, second = unique("lane1"), unique("lane2")
    worker = Worker(rt, owner="lanes")
    thread = worker.start_thread()
    try:
        pipeline.ingest(rt, account, [make_mention(first, author=unique("a"))])
        assert wait_for(lambda: first in zendesk_tickets(fakes)), "Zendesk waited for Salesforce"
        pipeline.ingest(rt, account, [make_mention(second, author=unique("b"))])
        assert wait_for(lambda: second in zendesk_tickets(fakes)), "routing or Zendesk waited for Salesforce"
        assert not {first, second} & social_posts(fakes), "Salesforce was held at the gate all along"
        gate.set()
        assert wait_for(lambda: {first, second} <= social_posts(fakes)), "Salesforce got both once released"
        assert wait_for(lambda: rt.store.counts()["deliveries_delivered"] == 4)
    finally:
        gate.set()
        app._sleep = sleep
        app.set_latency(latency)
        worker.stop()
        thread.join(timeout=60)
    assert not thread.is_alive(), "stop() ends the lanes too"
