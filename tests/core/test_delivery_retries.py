"""A CRM down for a day loses nothing: deliveries retry by age, not by a small attempt count."""

from __future__ import annotations

from datetime import timedelta
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


class DownSink(Sink):
    name = "down"

    def deliver(self, connection: SinkConnection, items: list[DeliveryItem]) -> list[DeliveryOutcome]:
        raise RetriableError("CRM is down", retry_after=0)


class BuggySink(Sink):
    name = "buggy"

    def deliver(self, connection: SinkConnection, items: list[DeliveryItem]) -> list[DeliveryOutcome]:
        raise ZeroDivisionError("a bug in a third-party sink")


class Sinks:
    @hookimpl
    def horseshoe_register_sinks(self) -> list[Sink]:
        return [DownSink(), BuggySink()]


def test_outage_retries_beyond_many_attempts_then_gives_up_by_age(tmp_path: Any) -> None:
    pm = get_plugin_manager(extra_plugins=[("sinks", Sinks()), ("testnet", TestNetPlugin())])
    rt = build_runtime(fast_settings(str(tmp_path), max_attempts=2), pm=pm)
    tenant_id = rt.store.ensure_tenant("acme")
    account_id = rt.store.upsert_account(tenant_id, "testnet", "brand", {})
    rt.store.set_sink_connection(tenant_id, "down", {})
    rt.store.set_sink_connection(tenant_id, "buggy", {})
    pipeline.ingest(rt, rt.store.account(account_id)[0], [make_mention("fresh"), make_mention("old")])  # type: ignore[index]
    worker = Worker(rt)
    for _ in range(6):
        worker.run_once()
        with rt.db.begin() as conn:  # make every retry due at once
            conn.execute(update(t.deliveries).values(next_attempt_at=utcnow()))
    with rt.db.begin() as conn:
        states = {(r.sink, r.status) for r in conn.execute(select(t.deliveries.c.sink, t.deliveries.c.status))}
    assert states == {("down", "pending"), ("buggy", "pending")}  # many attempts, nothing given up
    with rt.db.begin() as conn:
        conn.execute(
            update(t.mentions)
            .where(t.mentions.c.external_id == "old")
            .values(received_at=utcnow() - timedelta(hours=73))
        )
    worker.run_once()
    with rt.db.begin() as conn:
        rows = conn.execute(
            select(
                t.mentions.c.external_id, t.deliveries.c.sink, t.deliveries.c.status, t.deliveries.c.last_error
            ).join(t.mentions, t.mentions.c.id == t.deliveries.c.mention_id)
        ).all()
    by_key = {(r.external_id, r.sink): (r.status, r.last_error) for r in rows}
    assert by_key[("old", "down")][0] == "failed" and "gave up after 72 h" in by_key[("old", "down")][1]
    assert by_key[("fresh", "down")][0] == "pending"
    assert by_key[("fresh", "buggy")] == ("pending", "unexpected ZeroDivisionError in sink buggy")
    rt.db.dispose()
