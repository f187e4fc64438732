"""A slow agent-reply poll does not hold the routing of new mentions (issue 11).

In ``run_forever`` the loop's thread only routes; polls, the CRMs' agent replies and the outbox run on
the upkeep lane (plugin/worker/lanes.py, plugin/worker/upkeep.py). Before, a Salesforce reply poll
(a query at the CRM) ran between two routing passes, and a mention that arrived meanwhile waited for it.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from werkzeug.wrappers import Request

from bench.drain import SUBDOMAIN, Fakes
from plugin.pipeline import inbound as pipeline
from plugin.runtime import Runtime
from plugin.worker.loop import Worker
from tests.support.netplugin import make_mention


@pytest.fixture(scope="module")
def fakes() -> Iterator[Fakes]:
    running = Fakes(latency=0.0)
    yield running
    running.stop()


def wait_for(check: Callable[[], bool], seconds: float = 60.0) -> bool:
    for _ in range(int(seconds * 10)):
        if check():
            return True
        time.sleep(0.1)
    return check()


def zendesk_tickets(fakes: Fakes) -> set[str]:
    with fakes.zd_state.lock:
        return {ext.partition(":")[2] for (_instance, ext) in fakes.zd_state.account(SUBDOMAIN).external_index}


def social_posts(fakes: Fakes) -> set[str]:
    return {str(r["ExternalPostId"]) for r in fakes.org.records("SocialPost")}


def is_reply_poll(request: Request) -> bool:
    """The Salesforce sink's query for agents' pending outbound SocialPosts (plugin/salesforce/publisher.py)."""
    return "IsOutbound = true" in request.args.get("q", "")


@pytest.mark.settings(worker_idle_seconds=3600.0)
def test_a_reply_poll_held_at_salesforce_does_not_hold_routing(
    rt: Runtime, tenant: tuple[int, int], fakes: Fakes
) -> None:
    tenant_id, account_id = tenant
    rt.store.set_sink_connection(tenant_id, "zendesk", fakes.zendesk_config())
    # The client waits as long as the fake holds the poll: only the worker's own design can route meanwhile.
    rt.store.set_sink_connection(tenant_id, "salesforce", fakes.org.sink_config(timeout=300))
    found = rt.store.account(account_id)
    assert found is not None
    polled, gate = threading.Event(), threading.Event()

    def hold_reply_polls(request: Request) -> None:  # answered by the fake, held before it leaves
        if is_reply_poll(request):
            polled.set()
            gate.wait(300)

    plan = fakes.org.app.plan
    plan.after = hold_reply_polls
    mention = f"upkeep-{uuid.uuid4().hex[:8]}"
    worker = Worker(rt, owner="upkeep-test")
    thread = worker.start_thread()
    try:
        assert polled.wait(60), "the worker never polled Salesforce for agent replies"
        pipeline.ingest(rt, found[0], [make_mention(mention, author=f"a-{mention}")])
        assert wait_for(lambda: mention in zendesk_tickets(fakes)), "routing waited for the reply poll"
        assert wait_for(lambda: mention in social_posts(fakes)), "Salesforce deliveries waited for the reply poll"
        assert not gate.is_set() and thread.is_alive(), "the poll was held all along"
    finally:
        gate.set()
        plan.after = None
        worker.stop()
        thread.join(timeout=60)
    assert not thread.is_alive(), "stop() ends the upkeep lane too"
    assert rt.store.counts()["deliveries_delivered"] == 2


def test_run_once_still_does_everything_in_one_pass(rt: Runtime, tenant: tuple[int, int], fakes: Fakes) -> None:
    """Outside ``run_forever`` (tests, ``horseshoe worker --once``, a Celery task) one pass routes,
    delivers and polls the CRMs for agent replies."""
    tenant_id, account_id = tenant
    rt.store.set_sink_connection(tenant_id, "zendesk", fakes.zendesk_config())
    rt.store.set_sink_connection(tenant_id, "salesforce", fakes.org.sink_config())
    found = rt.store.account(account_id)
    assert found is not None
    polls: list[str] = []
    plan = fakes.org.app.plan
    plan.after = lambda request: polls.append("reply poll") if is_reply_poll(request) else None
    try:
        mention = f"once-{uuid.uuid4().hex[:8]}"
        pipeline.ingest(rt, found[0], [make_mention(mention, author=f"a-{mention}")])
        tick = Worker(rt, owner="once").run_once()
    finally:
        plan.after = None
    assert (tick.routed, tick.delivered) == (1, 2)
    assert mention in zendesk_tickets(fakes) and mention in social_posts(fakes)
    assert polls == ["reply poll"]
