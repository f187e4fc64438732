"""Scale-out: several workers on one database never deliver or post anything twice.

On PostgreSQL (CI) this is the real multi-process path: the same lease queries run from several
connections at once; on SQLite the same test runs against WAL with serialized writers.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pluggy

from plugin.models import Reply
from plugin.outbox import replies as outbox
from plugin.pipeline import inbound as pipeline
from plugin.plugins import get_plugin_manager
from plugin.runtime import build_runtime
from plugin.sink import DeliveryItem, DeliveryOutcome, Sink, SinkConnection
from plugin.worker.loop import Worker
from tests.conftest import fast_settings
from tests.support.netplugin import TestNetPlugin, make_mention

hookimpl = pluggy.HookimplMarker("horseshoe")


class CountingSink(Sink):
    name = "counting"
    max_batch = 7  # small batches: more interleaving between workers

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()
        self.lock = threading.Lock()

    def deliver(self, connection: SinkConnection, items: list[DeliveryItem]) -> list[DeliveryOutcome]:
        with self.lock:
            self.seen.update(i.mention.external_id for i in items)
        return [DeliveryOutcome(i.delivery_id, "delivered", remote_id=i.mention.external_id) for i in items]


class SinkPlugin:
    def __init__(self) -> None:
        self.sink = CountingSink()

    @hookimpl
    def horseshoe_register_sinks(self) -> list[Sink]:
        return [self.sink]


def test_four_workers_deliver_and_post_each_item_once(tmp_path: Any, any_database_url: str) -> None:
    sinks, net = SinkPlugin(), TestNetPlugin()
    pm = get_plugin_manager(extra_plugins=[("counting", sinks), ("testnet", net)])
    rt = build_runtime(fast_settings(str(tmp_path), any_database_url), pm=pm)
    tenant_id = rt.store.ensure_tenant("acme")
    account_id = rt.store.upsert_account(tenant_id, "testnet", "brand", {})
    rt.store.set_sink_connection(tenant_id, "counting", {})
    account = rt.store.account(account_id)[0]  # type: ignore[index]
    pipeline.ingest(rt, account, [make_mention(str(n), author=f"u{n % 17}") for n in range(120)])
    for n in range(40):
        reply = Reply(network="testnet", account="brand", text=f"r{n}", in_reply_to=str(n), idempotency_key=f"k{n}")
        outbox.enqueue(rt, tenant_id, account_id, reply, "salesforce")

    workers = [Worker(rt, owner=f"w{n}") for n in range(4)]
    errors: list[BaseException] = []

    def run(worker: Worker) -> None:
        try:
            for _ in range(60):
                worker.run_once()
        except BaseException as exc:  # surfaced below: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert sorted(sinks.sink.seen) == sorted(str(n) for n in range(120))
    assert set(sinks.sink.seen.values()) == {1}, "a mention was delivered twice"
    assert sorted(r.text for r in net.connector.posted) == sorted(f"r{n}" for n in range(40))
    counts = rt.store.counts()
    assert counts["deliveries_delivered"] == 120 and counts["replies_sent"] == 40
    rt.db.dispose()
