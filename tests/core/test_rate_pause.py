"""A 429 pauses every batch for that target, in every worker, until its Retry-After (issue 11)."""

from __future__ import annotations

import pytest

from plugin.errors import RateLimited
from plugin.pipeline import inbound as pipeline
from plugin.runtime import Runtime
from plugin.sink import DeliveryItem, DeliveryOutcome, SinkConnection
from plugin.worker.loop import Tick, Worker
from tests.support.netplugin import make_mention


def test_a_429_pauses_the_target_for_every_batch_and_worker(
    rt: Runtime, tenant: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant_id, account_id = tenant
    rt.store.set_sink_connection(
        tenant_id, "zendesk", {"subdomain": "acme", "instance_push_id": "p", "zendesk_access_token": "t"}
    )
    sink = rt.registry.sink("zendesk")
    calls: list[int] = []

    def deliver(connection: SinkConnection, items: list[DeliveryItem]) -> list[DeliveryOutcome]:
        calls.append(len(items))
        raise RateLimited("zendesk rate limit", retry_after=30.0)

    monkeypatch.setattr(sink, "deliver", deliver)
    monkeypatch.setattr(sink, "max_batch", 1)  # three batches in one group
    account = rt.store.account(account_id)[0]  # type: ignore[index]
    pipeline.ingest(rt, account, [make_mention(str(i), author=f"u{i}") for i in range(3)])
    pipeline.route(rt, "w1")
    first = Worker(rt, owner="w1").deliver_due()
    assert calls == [1], "only the first batch may call a target that answered 429"
    assert first.retried == 3 and first.delivered == 0
    assert rt.store.rate_pauses.paused_until("zendesk:acme") is not None

    # Another worker, new work for the same target: it waits too, without a call.
    pipeline.ingest(rt, account, [make_mention("later", author="u9")])
    pipeline.route(rt, "w2")
    second = Worker(rt, owner="w2").deliver_due()
    assert calls == [1] and second.retried == 1


def test_a_tick_that_only_retried_lets_the_worker_idle() -> None:
    assert Tick(retried=5).busy and not Tick(retried=5).progressed
    assert Tick(delivered=1).progressed
