"""The Celery scale-out path over REAL brokers: webhook -> wake -> Celery worker -> sink, exactly once.

Brokers come from HORSESHOE_TEST_REDIS_URL and HORSESHOE_TEST_AMQP_URL (CI sets both). Every scenario
also runs on the in-process worker (``[in-process]``). A broker variant whose URL is unset is skipped
with the reason on a laptop and fails in CI: it never passes on threads under a broker's name.
Each test uses its own queue (parallel test processes and leftovers cannot interfere) and purges it.
Databases: SQLite always, PostgreSQL too when HORSESHOE_TEST_POSTGRES_URL is set.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import pluggy
import pytest
from celery.contrib.testing.worker import start_worker

from plugin.models import Reply
from plugin.outbox import replies as outbox
from plugin.pipeline import inbound as pipeline
from plugin.plugins import get_plugin_manager
from plugin.runtime import Runtime, build_runtime
from plugin.sink import DeliveryItem, DeliveryOutcome, Sink, SinkConnection
from plugin.web import create_app
from plugin.worker import scaleout
from plugin.worker.loop import Worker
from tests.conftest import fast_settings
from tests.support.netplugin import TestNetPlugin
from tests.support.requires import missing

hookimpl = pluggy.HookimplMarker("horseshoe")
BROKERS = {
    "redis": os.environ.get("HORSESHOE_TEST_REDIS_URL", ""),
    "amqp": os.environ.get("HORSESHOE_TEST_AMQP_URL", ""),
}
WAIT_SECONDS = 25.0  # generous bound; the tests poll and normally finish far sooner


class SimulatedCrash(BaseException):  # like a kill: not an error the worker may handle
    """Stands for a worker dying in the middle of a delivery pass (outside the error taxonomy)."""


class CountingSink(Sink):
    name = "counting"
    max_batch = 7  # small batches: more interleaving between workers

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.batches = 0
        self.crash_at_batch: int | None = None
        self.crashed = threading.Event()

    def deliver(self, connection: SinkConnection, items: list[DeliveryItem]) -> list[DeliveryOutcome]:
        with self.lock:
            self.batches += 1
            if self.crash_at_batch is not None and self.batches == self.crash_at_batch:
                self.crashed.set()
                raise SimulatedCrash("worker died mid-delivery")
            self.seen.update(i.mention.external_id for i in items)
        return [DeliveryOutcome(i.delivery_id, "delivered", remote_id=i.mention.external_id) for i in items]


class SinkPlugin:
    def __init__(self) -> None:
        self.sink = CountingSink()

    @hookimpl
    def horseshoe_register_sinks(self) -> list[Sink]:
        return [self.sink]


class Fleet:
    """Starts and stops horseshoe workers: real Celery workers on the broker, or in-process threads."""

    def __init__(self, rt: Runtime, queue: str) -> None:
        self.rt = rt
        self.queue = queue
        self.app: Any = self._new_app() if rt.settings.broker_url else None
        self._celery: list[AbstractContextManager[Any]] = []
        self._threads: list[tuple[Worker, threading.Thread]] = []

    def _new_app(self) -> Any:
        app = scaleout.make_celery(self.rt.settings, queue=self.queue, runtime_factory=lambda _settings: self.rt)
        app.conf.worker_enable_remote_control = False  # no pidbox queues left in the broker
        return app

    def start(self, count: int = 1, concurrency: int = 2) -> None:
        for n in range(count):
            if self.app is not None:
                # Each further worker gets its own app (own broker connections), like a separate host.
                app = self.app if n == 0 else self._new_app()
                context = start_worker(
                    app,
                    pool="threads",
                    concurrency=concurrency,
                    perform_ping_check=False,
                    shutdown_timeout=20.0,
                    loglevel="WARNING",
                    hostname=f"test-{uuid.uuid4().hex[:8]}@localhost",
                )
                context.__enter__()
                self._celery.append(context)
            else:
                worker = Worker(self.rt)
                self._threads.append((worker, worker.start_thread()))

    def stop(self) -> None:
        while self._celery:
            self._celery.pop().__exit__(None, None, None)
        for worker, _ in self._threads:
            worker.stop()
        for _, thread in self._threads:
            thread.join(timeout=20)
        self._threads.clear()

    def close(self) -> None:
        self.stop()
        if self.app is None:
            return
        scaleout.release(self.rt.settings)
        with self.app.connection_for_write() as conn:
            channel = conn.default_channel
            channel.queue_purge(self.queue)
            channel.queue_delete(self.queue)
            channel.exchange_delete(self.queue)


@pytest.fixture(params=["in-process", *sorted(BROKERS)])
def broker_url(request: pytest.FixtureRequest) -> str:
    if request.param == "in-process":
        return ""
    url = BROKERS[request.param]
    if not url:
        missing(f"HORSESHOE_TEST_{request.param.upper()}_URL is not set: no {request.param} broker to test against")
    return url


def _env(tmp_path: Any, database_url: str, broker_url: str, **overrides: Any) -> tuple[Runtime, SinkPlugin, Any]:
    sinks, net = SinkPlugin(), TestNetPlugin()
    pm = get_plugin_manager(extra_plugins=[("counting", sinks), ("testnet", net)])
    settings = fast_settings(str(tmp_path), database_url, broker_url=broker_url, **overrides)
    rt = build_runtime(settings, pm=pm)
    return rt, sinks, net


@pytest.fixture
def make_env(tmp_path: Any, any_database_url: str, broker_url: str) -> Iterator[Callable[..., Any]]:
    made: list[tuple[Runtime, Fleet]] = []

    def make(**overrides: Any) -> tuple[Runtime, SinkPlugin, TestNetPlugin, Fleet, str]:
        rt, sinks, net = _env(tmp_path, any_database_url, broker_url, **overrides)
        tenant_id = rt.store.ensure_tenant("acme")
        account_id = rt.store.upsert_account(tenant_id, "testnet", "brand", {"secret": "s3cret"}, handle="brand")
        rt.store.set_sink_connection(tenant_id, "counting", {})
        fleet = Fleet(rt, f"horseshoe-test-{uuid.uuid4().hex[:10]}")
        made.append((rt, fleet))
        key = rt.store.account(account_id)[0].public_key  # type: ignore[index]
        return rt, sinks, net, fleet, key

    yield make
    for rt, fleet in made:
        fleet.close()
        rt.db.dispose()


def _post_mentions(rt: Runtime, key: str, ids: list[str], per_request: int = 10) -> None:
    client = create_app(rt).test_client()
    for start in range(0, len(ids), per_request):
        items = [{"id": i, "author": f"u{n % 13}"} for n, i in enumerate(ids[start : start + per_request])]
        body = json.dumps({"items": items})
        response = client.post(f"/webhooks/testnet/{key}", data=body, headers={"X-Test-Secret": "s3cret"})
        assert response.status_code == 200, response.data


def _wait_for(done: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _delivered(rt: Runtime) -> int:
    return rt.store.counts()["deliveries_delivered"]


def test_webhooks_wake_a_celery_worker_that_delivers_each_mention_once(
    make_env: Callable[..., Any], broker_url: str
) -> None:
    # A long tick interval with a broker: only the webhooks' wakes can make delivery prompt.
    rt, sinks, _net, fleet, key = make_env(worker_idle_seconds=60.0 if broker_url else 0.05)
    fleet.start()
    ids = [f"m{n}" for n in range(60)]
    _post_mentions(rt, key, ids)
    _wait_for(lambda: _delivered(rt) == len(ids), "every mention delivered")
    assert sorted(sinks.sink.seen) == sorted(ids)
    assert set(sinks.sink.seen.values()) == {1}, "a mention was delivered twice"
    if fleet.app is not None:
        assert 1 <= fleet.app.waker.sent < len(ids) // 10 + 2, "wakes are sent and coalesced"


def test_concurrent_celery_tasks_deliver_and_post_each_item_once(make_env: Callable[..., Any]) -> None:
    """Four tasks at once on one Celery worker contend for the same leases as separate hosts would.

    (Several embedded Celery workers in one test process stall in celery's test harness; separate
    worker processes on one database are covered by tests/core/test_concurrent_workers.py.)
    """
    rt, sinks, net, fleet, key = make_env(worker_idle_seconds=0.2)
    tenant_id = rt.store.ensure_tenant("acme")
    account_id = rt.store.upsert_account(tenant_id, "testnet", "brand", {"secret": "s3cret"}, handle="brand")
    fleet.start(1, concurrency=4)
    ids = [f"m{n}" for n in range(120)]
    _post_mentions(rt, key, ids, per_request=7)
    for n in range(30):
        reply = Reply(network="testnet", account="brand", text=f"r{n}", in_reply_to=f"m{n}", idempotency_key=f"k{n}")
        outbox.enqueue(rt, tenant_id, account_id, reply, "salesforce")
    _wait_for(lambda: _delivered(rt) == len(ids) and rt.store.counts()["replies_sent"] == 30, "all work done")
    assert set(sinks.sink.seen.values()) == {1} and sorted(sinks.sink.seen) == sorted(ids)
    assert sorted(r.text for r in net.connector.posted) == sorted(f"r{n}" for n in range(30))


def test_worker_killed_midway_and_restarted_resumes_without_loss_or_duplicates(
    make_env: Callable[..., Any],
) -> None:
    rt, sinks, _net, fleet, key = make_env(worker_idle_seconds=0.2, lease_seconds=2.0)
    sinks.sink.crash_at_batch = 3  # two batches land, then the pass dies holding leases on the rest
    ids = [f"m{n}" for n in range(60)]
    _post_mentions(rt, key, ids)
    # Route everything first, so the first delivery pass claims all 60 at once: the crash then
    # happens with work left whichever of the worker's tasks runs first (routing is slow enough,
    # with triage, that concurrent tasks would otherwise share the deliveries as they appear).
    while pipeline.route(rt, "router"):
        pass
    fleet.start()
    assert sinks.sink.crashed.wait(WAIT_SECONDS), "the worker never reached the crash point"
    fleet.stop()
    left = len(ids) - _delivered(rt)
    assert left > 0, "the crash happened after everything was delivered"
    fleet.start()  # the replacement: waits out the dead pass's leases, then finishes
    _wait_for(lambda: _delivered(rt) == len(ids), "the restarted worker to finish")
    assert sorted(sinks.sink.seen) == sorted(ids)
    assert set(sinks.sink.seen.values()) == {1}, "a mention was delivered twice"
