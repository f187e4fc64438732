"""A tenant whose brand accounts each have their own Zendesk channel instance gets full pushes under a
backlog (issue 11, BENCHMARKS.md "Budget"): the worker cuts its batches per instance, so a backlog of
400 mentions of 4 accounts is 4 pushes of 100, not 16 pushes of 25 (each batch of the 100 oldest spread
over every instance). Counted at the Zendesk fake, driven by the real push sink."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from plugin.models import Labels
from plugin.pipeline import inbound as pipeline
from plugin.runtime import Runtime
from plugin.sink import DeliveryItem, SinkConnection
from plugin.worker import delivery
from plugin.worker.loop import Worker
from plugin.zendesk.push import ZendeskSink
from sandbox.server import RunningServer, serve_in_thread
from sandbox.zendesk import create_app as create_zendesk
from sandbox.zendesk.models import ZendeskState
from tests.support.netplugin import make_mention
from tests.support.zendesk_pushes import MANIFEST, PushRecorder

SUBDOMAIN = "instances"
ACCOUNTS = 4


@pytest.fixture(scope="module")
def zendesk() -> Iterator[tuple[ZendeskState, PushRecorder, RunningServer]]:
    state = ZendeskState()
    state.create_account(SUBDOMAIN, admin_name="Ada Admin", admin_email="ada@instances.example")
    pushes = PushRecorder(create_zendesk(state=state, requests_per_minute=100_000))
    server = serve_in_thread(pushes)
    yield state, pushes, server
    server.stop()


def connect(state: ZendeskState, server: RunningServer) -> dict[str, Any]:
    """A connection with one channel instance per brand account (``brand0`` ... ``brand3``)."""
    found = {}
    for n in range(ACCOUNTS):
        pending = state.begin_install(SUBDOMAIN, "https://integration.example/manifest.json", MANIFEST)
        instance = state.finish_install(pending.instance_push_id, f"Brand {n}", f'{{"account": "brand{n}"}}', None)
        found[instance.instance_push_id] = {
            "token": instance.zendesk_access_token,
            "accounts": [["testnet", f"brand{n}"]],
        }
    return {"subdomain": SUBDOMAIN, "api_base": server.url, "instances": found}


def test_a_backlog_spread_over_four_instances_goes_out_in_four_full_pushes(
    rt: Runtime, zendesk: tuple[ZendeskState, PushRecorder, RunningServer]
) -> None:
    state, pushes, server = zendesk
    tenant_id = rt.store.ensure_tenant("acme")
    rt.store.set_sink_connection(tenant_id, "zendesk", connect(state, server))
    accounts = []
    for n in range(ACCOUNTS):
        account_id = rt.store.upsert_account(tenant_id, "testnet", f"brand{n}", {"secret": "s"}, handle=f"brand{n}")
        accounts.append(rt.store.account(account_id)[0])  # type: ignore[index]
    for n in range(400):  # in turn: the 100 oldest reach every instance
        pipeline.ingest(
            rt, accounts[n % ACCOUNTS], [make_mention(f"b{n}", author=f"u{n}", account=f"brand{n % ACCOUNTS}")]
        )
    while pipeline.route(rt, "router"):
        pass
    pushes.clear()
    tick = Worker(rt, owner="w1").deliver_due(sinks=["zendesk"], others=False)
    assert tick.delivered == 400
    assert pushes.sizes == [100] * 4, "one full push per instance, not every batch of 100 split four ways"


def test_batches_are_cut_per_channel_instance_oldest_first(
    zendesk: tuple[ZendeskState, PushRecorder, RunningServer],
) -> None:
    state, _, server = zendesk
    config = connect(state, server)
    connection = SinkConnection(tenant_id=1, tenant_key="acme", sink="zendesk", config=config)
    items = [
        DeliveryItem(delivery_id=n, mention=make_mention(f"c{n}", account=f"brand{n % 2}"), labels=Labels(), attempts=0)
        for n in range(7)
    ]
    cut = [[i.delivery_id for i in b] for b in delivery.sink_batches(ZendeskSink(), connection, items, 3, split=False)]
    assert cut == [[0, 2, 4], [6], [1, 3, 5]]
    # Split on retry keeps the same cut per instance: a twice-failed delivery goes in a batch of at most 1.
    items[2] = DeliveryItem(delivery_id=2, mention=items[2].mention, labels=Labels(), attempts=2)
    cut = [[i.delivery_id for i in b] for b in delivery.sink_batches(ZendeskSink(), connection, items, 3, split=True)]
    assert cut == [[0], [2], [4, 6], [1, 3, 5]]
