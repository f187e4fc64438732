"""Split on retry in the worker: a batch that failed comes back halved, so an item that keeps failing
ends up alone and stops holding back the others (plugin/worker/retrysplit.py)."""

from __future__ import annotations

from typing import Any

import pluggy
from sqlalchemy import select, update

from plugin.errors import RetriableError
from plugin.pipeline import inbound as pipeline
from plugin.plugins import get_plugin_manager
from plugin.runtime import build_runtime
from plugin.sink import DeliveryItem, DeliveryOutcome, Sink, SinkConnection
from plugin.store import tables as t
from plugin.store.db import utcnow
from plugin.worker.loop import Worker
from tests.conftest import fast_settings
from tests.support.netplugin import TestNetPlugin, make_mention

hookimpl = pluggy.HookimplMarker("horseshoe")


class OneBadItemSink(Sink):
    """A CRM whose batch call fails whenever the batch holds the mention ``bad``."""

    name = "onebad"
    max_batch = 8

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def deliver(self, connection: SinkConnection, items: list[DeliveryItem]) -> list[DeliveryOutcome]:
        self.batches.append([i.mention.external_id for i in items])
        if any(i.mention.external_id == "bad" for i in items):
            raise RetriableError("the CRM refused the batch", retry_after=0)
        return [DeliveryOutcome(i.delivery_id, "delivered", remote_id=f"r{i.delivery_id}") for i in items]


def test_a_failing_item_is_split_out_until_alone_and_the_rest_is_delivered(tmp_path: Any) -> None:
    sink = OneBadItemSink()

    class Sinks:
        @hookimpl
        def horseshoe_register_sinks(self) -> list[Sink]:
            return [sink]

    pm = get_plugin_manager(extra_plugins=[("sinks", Sinks()), ("testnet", TestNetPlugin())])
    rt = build_runtime(fast_settings(str(tmp_path), delivery_split_on_retry=True), pm=pm)
    tenant_id = rt.store.ensure_tenant("acme")
    account_id = rt.store.upsert_account(tenant_id, "testnet", "brand", {})
    rt.store.set_sink_connection(tenant_id, "onebad", {})
    names = ["m1", "m2", "m3", "bad", "m5", "m6", "m7", "m8"]
    pipeline.ingest(rt, rt.store.account(account_id)[0], [make_mention(n) for n in names])  # type: ignore[index]
    worker = Worker(rt)
    for _ in range(6):
        worker.run_once()
        with rt.db.begin() as conn:  # make every retry due at once
            conn.execute(update(t.deliveries).values(next_attempt_at=utcnow()))
    sizes = [len(b) for b in sink.batches]
    assert sizes[:3] == [8, 4, 4]  # fresh work in a full batch; after one failure, halves
    with_bad = [len(b) for b in sink.batches if "bad" in b]
    # Halved with each failure, alone after log2(8) = 3 of them, and alone from then on.
    assert with_bad[:4] == [8, 4, 2, 1] and set(with_bad[4:]) <= {1}, sink.batches
    with rt.db.begin() as conn:
        rows = conn.execute(
            select(t.mentions.c.external_id, t.deliveries.c.status, t.deliveries.c.attempts).join(
                t.mentions, t.mentions.c.id == t.deliveries.c.mention_id
            )
        ).all()
    states = {r.external_id: (r.status, r.attempts) for r in rows}
    assert all(states[n][0] == "delivered" for n in names if n != "bad"), states
    assert states["bad"] == ("pending", len(with_bad)), states
    # A good item shared at most log2(8) = 3 failed batches with the bad one before going on without it.
    assert max(attempts for name, (_, attempts) in states.items() if name != "bad") <= 3 + 1, states
