"""A delivery lane does not send a small call per group commit while its process routes a backlog
(issue 11, BENCHMARKS.md "Budget"): it holds a partial batch only while the routing pass under way will
fill it, and never past the end of that pass (plugin/pipeline/upcoming.py). Counted at the Zendesk
fake, driven by the real push sink and the real worker; no assertion on time."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from bench.drain import Fakes
from plugin.pipeline import inbound as pipeline
from plugin.pipeline.upcoming import ROUTING, Routing
from plugin.runtime import Runtime
from plugin.store.inbox import MentionRow, RoutedMention
from plugin.store.statuses import MentionStatus
from plugin.worker.loop import Worker
from tests.support.netplugin import make_mention


@pytest.fixture(scope="module")
def fakes() -> Iterator[Fakes]:
    running = Fakes(latency=0.0)
    yield running
    running.stop()


def connect(rt: Runtime, tenant: tuple[int, int], fakes: Fakes) -> None:
    tenant_id, _ = tenant
    rt.store.set_sink_connection(tenant_id, "zendesk", fakes.zendesk_config())


def rows(count: int, first: int = 10_000_000) -> list[tuple[MentionRow, list[str]]]:
    """What a routing pass announces: mentions (only their ids matter here) and the CRMs they may reach."""
    return [
        (
            MentionRow(first + n, 1, None, "testnet", f"up{n}", MentionStatus.RECEIVED, {}, None, False, None),
            ["zendesk"],
        )
        for n in range(count)
    ]


def test_a_lane_holds_only_while_the_pass_under_way_fills_the_batch_and_never_past_its_end() -> None:
    routing = Routing()
    assert not routing.may_hold("zendesk", 70), "no pass under way: nothing to wait for"
    with routing.pass_() as small:
        small.expect(rows(50))
        assert not routing.may_hold("zendesk", 70), "50 on their way cannot fill 70 missing: send now"
    with routing.pass_() as big:
        announced = big.expect(rows(200))
        assert not routing.may_hold("salesforce", 1), "the pass brings nothing for Salesforce"
        assert routing.may_hold("zendesk", 70)
        big.committed([RoutedMention(row, True, {}, {}) for row, _ in announced[:190]])
        assert routing.upcoming("zendesk") == 10
        assert routing.may_hold("zendesk", 70), "once holding, until the batch is full or the pass ends"
    assert routing.upcoming("zendesk") == 0
    assert not routing.may_hold("zendesk", 70), "the pass ended: what is due goes, however small"
    with routing.pass_() as follow_up:
        follow_up.expect(rows(200))
        assert routing.may_hold("zendesk", 70), "a new pass may be waited for again"
        assert not routing.may_hold("zendesk", 0), "nothing partial to hold: forgotten"
    with routing.pass_(full=True) as behind:  # the router claimed a whole pass: a backlog waits
        behind.expect(rows(50))
        assert routing.may_hold("zendesk", 70), "a backlog: hold even what this pass cannot fill"


def test_routed_work_waits_for_a_big_pass_under_way_and_leaves_when_it_ends(
    rt: Runtime, tenant: tuple[int, int], fakes: Fakes
) -> None:
    connect(rt, tenant, fakes)
    account = rt.store.account(tenant[1])[0]  # type: ignore[index]
    tag = uuid.uuid4().hex[:8]
    pipeline.ingest(rt, account, [make_mention(f"due-{tag}-{n}", author=f"{tag}{n}") for n in range(30)])
    while pipeline.route(rt, "router"):
        pass
    worker = Worker(rt, owner="lane")
    before = fakes.zd.count
    with ROUTING.pass_() as under_way:  # another thread of this process is routing 100 more
        under_way.expect(rows(100))
        tick = worker.deliver_due(sinks=["zendesk"], others=False)
        assert (tick.delivered, tick.held) == (0, 30) and tick.busy, "held for the pass: still work"
        assert fakes.zd.count == before, "no small push while the pass will fill the batch"
    tick = worker.deliver_due(sinks=["zendesk"], others=False)
    assert tick.delivered == 30 and fakes.zd.count == before + 1, "the pass ended: one push of what is due"


def test_a_small_pass_under_way_holds_nothing(rt: Runtime, tenant: tuple[int, int], fakes: Fakes) -> None:
    connect(rt, tenant, fakes)
    account = rt.store.account(tenant[1])[0]  # type: ignore[index]
    pipeline.ingest(rt, account, [make_mention(f"lone-{uuid.uuid4().hex[:8]}")])
    while pipeline.route(rt, "router"):
        pass
    before = fakes.zd.count
    with ROUTING.pass_() as under_way:
        under_way.expect(rows(20))  # moderate load: 20 more on their way cannot fill a push of 100
        tick = Worker(rt, owner="lane").deliver_due(sinks=["zendesk"], others=False)
    assert (tick.delivered, tick.held) == (1, 0) and fakes.zd.count == before + 1


@pytest.mark.settings(worker_idle_seconds=3600.0)
def test_a_backlog_routed_while_the_lanes_run_goes_out_in_full_pushes(
    rt: Runtime, tenant: tuple[int, int], fakes: Fakes
) -> None:
    """300 received mentions: two routing passes (200, 100) committed 50 at a time or every 0.1 s.
    Before, the Zendesk lane pushed each commit (about 30 pushes on an idle machine, 0.12 per mention
    with 2,000); now two full pushes in the first pass, one in the second, and at most one partial push
    at each pass's end."""
    connect(rt, tenant, fakes)
    account = rt.store.account(tenant[1])[0]  # type: ignore[index]
    tag = uuid.uuid4().hex[:8]
    pipeline.ingest(rt, account, [make_mention(f"bl-{tag}-{n}", author=f"{tag}{n}") for n in range(300)])
    before = fakes.zd.count
    worker = Worker(rt, owner="lanes")
    thread = worker.start_thread()
    try:
        for _ in range(1200):
            if rt.store.counts()["deliveries_delivered"] == 300:
                break
            time.sleep(0.1)
    finally:
        worker.stop()
        thread.join(timeout=60)
    assert rt.store.counts()["deliveries_delivered"] == 300
    assert fakes.zd.count - before <= 5, f"{fakes.zd.count - before} pushes for 300 mentions"
    assert not thread.is_alive()
