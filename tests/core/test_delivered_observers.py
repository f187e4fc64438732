"""The delivered observers write once per CRM call, not once per mention (issue 11).

They run on the thread that delivers (a CRM's lane in ``serve``), after each call: a transaction per
mention there queued behind the webhooks' writes for SQLite's one writer and held the CRM's next batch.
Counted here with SQLAlchemy's ``begin`` event around every observer of a real delivery to the Zendesk
and Salesforce fakes (markers registered first and last bracket the built-in observers), while the
per-mention hook keeps being called for the plugins written against it.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pluggy
import pytest
from sqlalchemy import event, func, select

from bench.drain import Fakes
from plugin.models import Mention
from plugin.pipeline import inbound as pipeline
from plugin.plugins import get_plugin_manager
from plugin.runtime import Runtime, build_runtime
from plugin.sink import Delivered, DeliveryOutcome
from plugin.store import tables as t
from plugin.store.accounts import AccountRow
from plugin.store.db import READ
from plugin.worker.loop import Worker
from tests.conftest import fast_settings
from tests.support.netplugin import TestNetPlugin, make_mention

hookimpl = pluggy.HookimplMarker("horseshoe")
MENTIONS = 30  # one call to each CRM (Zendesk takes 100 per push, Salesforce 200 per collection)


class Transactions:
    """Transactions begun on the runtime's engine while ``counting`` (per sink), reads and writes apart."""

    def __init__(self) -> None:
        self.counting: str | None = None
        self.writes: Counter[str] = Counter()
        self.reads: Counter[str] = Counter()

    def begun(self, conn: Any) -> None:
        if self.counting is not None:
            read = conn.get_execution_options().get(READ)
            (self.reads if read else self.writes)[self.counting] += 1


class Marker:
    """Registered twice: ``tryfirst`` starts counting before every other observer of a call, ``trylast``
    stops after them all; both for the per-batch and for the per-mention hook."""

    def __init__(self, transactions: Transactions, start: bool):
        self.transactions = transactions
        self.start = start
        self.batches: list[tuple[str, int]] = []
        self.mentions: Counter[str] = Counter()

    def _mark(self, sink: str) -> None:
        self.transactions.counting = sink if self.start else None

    def horseshoe_delivered_batch(self, deliveries: list[Delivered], sink: str, tenant: str) -> None:
        self.batches.append((sink, len(deliveries)))
        self._mark(sink)

    def horseshoe_delivered(self, mention: Mention, outcome: DeliveryOutcome, sink: str, tenant: str) -> None:
        self.mentions[sink] += 1
        self._mark(sink)


class First(Marker):
    @hookimpl(tryfirst=True)
    def horseshoe_delivered_batch(self, deliveries: list[Delivered], sink: str, tenant: str) -> None:
        super().horseshoe_delivered_batch(deliveries, sink, tenant)

    @hookimpl(tryfirst=True)
    def horseshoe_delivered(self, mention: Mention, outcome: DeliveryOutcome, sink: str, tenant: str) -> None:
        super().horseshoe_delivered(mention, outcome, sink, tenant)


class Last(Marker):
    @hookimpl(trylast=True)
    def horseshoe_delivered_batch(self, deliveries: list[Delivered], sink: str, tenant: str) -> None:
        super().horseshoe_delivered_batch(deliveries, sink, tenant)

    @hookimpl(trylast=True)
    def horseshoe_delivered(self, mention: Mention, outcome: DeliveryOutcome, sink: str, tenant: str) -> None:
        super().horseshoe_delivered(mention, outcome, sink, tenant)


@pytest.fixture(scope="module")
def fakes() -> Iterator[Fakes]:
    running = Fakes(latency=0.0)
    yield running
    running.stop()


@dataclass
class Acme:
    """A runtime with the markers registered and the tenant ``acme``; ``brand(network)`` adds its account."""

    rt: Runtime
    tenant_id: int
    transactions: Transactions
    first: First
    last: Last

    def brand(self, network: str) -> AccountRow:
        store = self.rt.store
        account_id = store.upsert_account(self.tenant_id, network, "brand", {"secret": "s3cret"}, handle="brand")
        found = store.account(account_id)
        assert found is not None
        return found[0]


@pytest.fixture
def acme(tmp_path: object, any_database_url: str) -> Iterator[Acme]:
    transactions = Transactions()
    first, last = First(transactions, start=True), Last(transactions, start=False)
    pm = get_plugin_manager(extra_plugins=[("testnet", TestNetPlugin()), ("first", first), ("last", last)])
    rt: Runtime = build_runtime(fast_settings(str(tmp_path), any_database_url), pm=pm)
    try:
        yield Acme(rt, rt.store.ensure_tenant("acme"), transactions, first, last)
    finally:
        rt.db.dispose()


def test_one_call_of_n_deliveries_costs_the_observers_one_write_per_crm(acme: Acme, fakes: Fakes) -> None:
    rt, tenant_id, transactions, first, last = acme.rt, acme.tenant_id, acme.transactions, acme.first, acme.last
    account = acme.brand("testnet")
    rt.store.set_sink_connection(tenant_id, "zendesk", fakes.zendesk_config())
    rt.store.set_sink_connection(tenant_id, "salesforce", fakes.org.sink_config())
    run = uuid.uuid4().hex[:8]  # the fakes outlive one database: ids must not repeat
    mentions = [make_mention(f"obs-{run}-{i}", author=f"obs-{run}-{i}") for i in range(MENTIONS)]
    pipeline.ingest(rt, account, mentions)
    event.listen(rt.db.engine, "begin", transactions.begun)
    tick = Worker(rt, owner="observed").run_once()
    event.remove(rt.db.engine, "begin", transactions.begun)

    assert tick.delivered == 2 * MENTIONS
    assert sorted(first.batches) == sorted(last.batches) == [("salesforce", MENTIONS), ("zendesk", MENTIONS)]
    # The per-mention hook still runs, once per mention and CRM, for third-party observers.
    assert first.mentions == last.mentions == Counter(salesforce=MENTIONS, zendesk=MENTIONS)
    # Salesforce: the dashboard links all 30 SocialPosts to their Cases in one write transaction
    # (it was 30); Zendesk: the identity plugin looks for users to merge in two reads (it was 60).
    assert transactions.writes == Counter(salesforce=1), transactions.writes
    assert transactions.reads["salesforce"] <= 1 and transactions.reads["zendesk"] <= 2, transactions.reads
    with rt.db.read() as conn:
        linked = conn.execute(
            select(func.count()).select_from(t.service_tickets).where(t.service_tickets.c.sink == "salesforce")
        ).scalar_one()
    assert linked == MENTIONS, "every delivered SocialPost is linked: the one write did the whole batch"


def test_a_ticket_link_is_kept_and_links_of_one_batch_are_written_together(acme: Acme) -> None:
    """``link_tickets`` for a batch: the facts found in one query, inserted in one statement; a fact
    already linked (or named twice) keeps its first link, an unknown mention is skipped."""
    rt, tenant_id = acme.rt, acme.tenant_id
    pipeline.ingest(rt, acme.brand("x"), [make_mention(f"m{i}", author=f"a{i}").model_copy(update={"network": "x"})
                                          for i in range(3)])  # fmt: skip
    pipeline.route(rt, "router")
    service = rt.store.service
    assert service.link_tickets(tenant_id, "salesforce", [("0ST1", "x", "m0")]) == 1
    links = [("0ST2", "x", "m0"), ("0ST3", "x", "m1"), ("0ST4", "x", "m1"), ("0ST5", "x", "m2"), ("0ST6", "x", "gone")]
    assert service.link_tickets(tenant_id, "salesforce", links) == 2  # m1 (first link given) and m2
    with rt.db.read() as conn:
        rows = conn.execute(
            select(t.mentions.c.external_id, t.service_tickets.c.ticket)
            .join(t.service_facts, t.service_facts.c.id == t.service_tickets.c.fact_id)
            .join(t.mentions, t.mentions.c.id == t.service_facts.c.mention_id)
        ).all()
    assert sorted(rows) == [("m0", "0ST1"), ("m1", "0ST3"), ("m2", "0ST5")]
    assert service.link_tickets(tenant_id, "salesforce", []) == 0
