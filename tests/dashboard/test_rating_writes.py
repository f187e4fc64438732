"""The satisfaction survey's durable steps, with third-party sinks registered like any CRM plugin:
a rating reaches every CRM holding the conversation even when one is busy for a while, a CRM that
refuses it leaves a visible reason, and a question that cannot be sent is recorded and counted as
such (and uncounted when a retry gets it through)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pluggy
import pytest
from sqlalchemy import update

from plugin.cli.doctor import run_doctor
from plugin.dashboard import ratings as answers
from plugin.errors import FatalError, RetriableError
from plugin.models import Author, Mention, Visibility
from plugin.outbox import replies as outbox
from plugin.outbox import satisfaction
from plugin.plugins import get_plugin_manager
from plugin.runtime import Runtime, build_runtime
from plugin.sink import DeliveryItem, DeliveryOutcome, Rating, Sink, SinkConnection
from plugin.store import service_tables
from plugin.store.db import utcnow
from plugin.store.inbox import RoutedMention
from plugin.worker import ratings
from tests.conftest import fast_settings
from tests.support.netplugin import TestNetPlugin

hookimpl = pluggy.HookimplMarker("horseshoe")


class FlakySink(Sink):
    """Busy for its first two rating writes, then records it."""

    name = "flaky"

    def __init__(self) -> None:
        self.written: list[Rating] = []
        self.busy = 2

    def deliver(self, connection: SinkConnection, items: list[DeliveryItem]) -> list[DeliveryOutcome]:
        return [DeliveryOutcome(i.delivery_id, "delivered", remote_id=f"T-{i.delivery_id}") for i in items]

    def record_rating(self, connection: SinkConnection, rating: Rating) -> str | None:
        if self.busy:
            self.busy -= 1
            raise RetriableError("the CRM is busy", retry_after=0)
        self.written.append(rating)
        return f"ticket {rating.ticket} tagged csat_{rating.rating}"


class RefusingSink(Sink):
    name = "refusing"

    def deliver(self, connection: SinkConnection, items: list[DeliveryItem]) -> list[DeliveryOutcome]:
        return [DeliveryOutcome(i.delivery_id, "delivered", remote_id=f"R-{i.delivery_id}") for i in items]

    def record_rating(self, connection: SinkConnection, rating: Rating) -> str | None:
        raise FatalError("the ticket is locked by a workflow")


class Sinks:
    def __init__(self) -> None:
        self.flaky, self.refusing = FlakySink(), RefusingSink()

    @hookimpl
    def horseshoe_register_sinks(self) -> list[Sink]:
        return [self.flaky, self.refusing]


@dataclass
class Setup:
    rt: Runtime
    sinks: Sinks
    net: TestNetPlugin
    tenant_id: int
    account_id: int


@pytest.fixture
def setup(tmp_path: object) -> Iterator[Setup]:
    sinks, net = Sinks(), TestNetPlugin()
    pm = get_plugin_manager(extra_plugins=[("sinks", sinks), ("testnet", net)])
    rt = build_runtime(fast_settings(str(tmp_path), max_attempts=5), pm=pm)
    tenant_id = rt.store.ensure_tenant("acme")
    account_id = rt.store.upsert_account(tenant_id, "testnet", "brand", {}, settings={"satisfaction": True})
    for sink in ("flaky", "refusing"):
        rt.store.set_sink_connection(tenant_id, sink, {})
    yield Setup(rt, sinks, net, tenant_id, account_id)
    rt.db.dispose()


def _conversation(s: Setup, key: str, tickets: dict[str, str]) -> int:
    """A private conversation, engaged and linked to ``tickets``; returns its fact id."""
    mention = Mention(
        network="testnet", external_id=key, author=Author(external_id=f"author-{key}"), text="help",
        created_at=utcnow() - timedelta(hours=1), account="brand", visibility=Visibility.PRIVATE,
    )  # fmt: skip
    mention_id = s.rt.store.inbox.insert(s.tenant_id, s.account_id, mention)
    assert mention_id is not None
    row = s.rt.store.inbox.for_routing_many([mention_id])[0][0]
    s.rt.store.inbox.finish_routing_many([RoutedMention(row, True, {"intent": "question"}, {})])
    for sink, ticket in tickets.items():
        s.rt.store.service.link_tickets(s.tenant_id, sink, [(ticket, "testnet", key)])
    return s.rt.store.service.facts_for_ticket(s.tenant_id, next(iter(tickets)), next(iter(tickets.values())))[0].id


def _solve_and_ask(s: Setup, sink: str, ticket: str) -> None:
    solved = s.rt.store.service.record_solved(s.tenant_id, sink, [(ticket, utcnow())])
    satisfaction.ask(s.rt, sink, solved)
    outbox.drain(s.rt, "test-worker")


def _answer(s: Setup, key: str, text: str) -> str | None:
    reply = Mention(network="testnet", external_id=f"{key}-answer", author=Author(external_id=f"author-{key}"),
                    text=text, created_at=utcnow(), account="brand", visibility=Visibility.PRIVATE)  # fmt: skip
    return answers.record(s.rt, s.tenant_id, reply)


def _all_due(s: Setup) -> None:
    with s.rt.db.begin() as conn:
        conn.execute(update(service_tables.csat_writes).values(next_attempt_at=utcnow()))


def test_a_rating_reaches_every_crm_busy_or_not_and_a_refusal_is_visible(setup: Setup) -> None:
    s = setup
    fact_id = _conversation(s, "m1", {"flaky": "T1", "refusing": "R1"})
    _solve_and_ask(s, "flaky", "T1")
    assert [p.text for p in s.net.connector.posted] == [satisfaction.QUESTION]
    assert _answer(s, "m1", "2/5") == "rated 2, to be written to flaky, refusing"
    assert _answer(s, "m1", "5") is None  # the first answer counts
    first = ratings.write_due(s.rt)  # flaky busy (retried), refusing failed for good
    _all_due(s)
    second = ratings.write_due(s.rt)  # flaky busy again
    _all_due(s)
    third = ratings.write_due(s.rt)
    assert (first, second, third) == (0, 0, 1)
    [written] = s.sinks.flaky.written
    assert (written.ticket, written.rating, written.negative) == ("T1", 2, True)
    assert "please follow up" in written.note
    by_sink = {w.sink: w for w in s.rt.store.csat.of_fact(fact_id)}
    assert by_sink["flaky"].status == "done" and by_sink["flaky"].attempts == 3
    assert by_sink["flaky"].result == "ticket T1 tagged csat_2"
    assert by_sink["refusing"].status == "failed" and by_sink["refusing"].attempts == 1
    assert by_sink["refusing"].last_error == "the ticket is locked by a workflow"
    assert [w.ticket for w in s.rt.store.csat.failed(s.tenant_id)] == ["R1"]
    lines: list[str] = []
    assert "acme/refusing: rating not written to R1" in run_doctor(s.rt.settings, echo=lines.append)
    assert any("satisfaction rating 2/5 not written to R1: the ticket is locked by a workflow" in x for x in lines)
    assert s.rt.store.csat.failed(s.rt.store.ensure_tenant("globex")) == []  # tenants see their own only
    _all_due(s)
    assert ratings.write_due(s.rt) == 0 and len(s.sinks.flaky.written) == 1  # done stays done


def test_a_writer_killed_mid_write_is_replaced_after_its_lease(setup: Setup) -> None:
    s = setup
    s.sinks.flaky.busy = 0
    fact_id = _conversation(s, "m2", {"flaky": "T2"})
    _solve_and_ask(s, "flaky", "T2")
    _answer(s, "m2", "4")
    [claimed] = s.rt.store.csat.claim_due()  # a worker took it ... and died
    assert s.rt.store.csat.claim_due() == []  # leased: nobody else writes it meanwhile
    _all_due(s)  # the lease ran out
    assert ratings.write_due(s.rt) == 1
    [done] = s.rt.store.csat.of_fact(fact_id)
    assert done.id == claimed.id and done.status == "done" and done.attempts == 2


def test_a_crm_busy_beyond_the_retry_policy_is_given_up_with_the_reason(setup: Setup) -> None:
    s = setup
    s.sinks.flaky.busy = 99
    fact_id = _conversation(s, "m3", {"flaky": "T3"})
    _solve_and_ask(s, "flaky", "T3")
    _answer(s, "m3", "1")
    for _ in range(5):  # max_attempts=5
        ratings.write_due(s.rt)
        _all_due(s)
    [gave_up] = s.rt.store.csat.of_fact(fact_id)
    assert gave_up.status == "failed" and gave_up.last_error == "gave up after 5 attempts: the CRM is busy"


def test_a_question_that_cannot_be_sent_is_recorded_and_counted_until_a_retry_gets_it_through(setup: Setup) -> None:
    s = setup
    fact_id = _conversation(s, "m4", {"flaky": "T4"})
    s.net.connector.fail_next = [FatalError("the customer does not accept messages")]
    _solve_and_ask(s, "flaky", "T4")
    [fact] = s.rt.store.service.facts_for_ticket(s.tenant_id, "flaky", "T4")
    assert fact.csat_state == "failed"
    assert s.rt.store.service.csat_reasons(
        s.tenant_id, utcnow() - timedelta(days=1), utcnow() + timedelta(hours=1)
    ) == [("failed", "the customer does not accept messages", 1)]
    csat = _csat_counts(s)
    assert csat.get("failed") == 1 and not csat.get("asked")
    # Should the question go out after all (an operator puts the row back to pending), the
    # conversation is asked and no longer counted as failed.
    from plugin.store import tables as t

    with s.rt.db.begin() as conn:
        conn.execute(update(t.replies).where(t.replies.c.id == _question_id(s)).values(
            status="pending", next_attempt_at=utcnow(), last_error=None))  # fmt: skip
    outbox.drain(s.rt, "test-worker")
    assert s.rt.store.service.facts_for_ticket(s.tenant_id, "flaky", "T4")[0].csat_state == "asked"
    csat = _csat_counts(s)
    assert csat.get("failed") == 0 and csat.get("asked") == 1
    assert fact_id == fact.id


def _question_id(s: Setup) -> int:
    from sqlalchemy import select

    from plugin.store import tables as t

    with s.rt.db.read() as conn:
        return int(conn.execute(select(t.replies.c.id).where(t.replies.c.source == "satisfaction")).scalar_one())


def _csat_counts(s: Setup) -> dict[str, int]:
    rows = s.rt.store.service.hours(s.tenant_id, utcnow() - timedelta(days=1), utcnow() + timedelta(hours=1))
    out: dict[str, int] = {}
    for row in rows:
        for key, n in row.csat.items():
            out[key] = out.get(key, 0) + n
    return out


def test_a_question_whose_attempt_outlived_its_lease_and_was_not_sent_is_recorded_failed(setup: Setup) -> None:
    """The worker stalled while posting the question; another one reported it ``uncertain``; the
    network then answered "try again later": nothing was sent and the reply is never retried, so
    the conversation shows the question ``failed`` with the reason, like any question not sent."""
    s = setup
    _conversation(s, "m5", {"flaky": "T5"})
    from plugin.store import tables as t

    def stall() -> None:
        with s.rt.db.begin() as conn:
            conn.execute(update(t.replies).values(lease_until=utcnow() - timedelta(seconds=1)))
        assert outbox.expire_stuck(s.rt) == 1

    s.net.connector.before_post = stall
    busy = "the network is busy: " + "try again later; " * 40
    s.net.connector.fail_next = [RetriableError(busy, retry_after=30)]
    _solve_and_ask(s, "flaky", "T5")

    assert s.rt.store.outbox.get(_question_id(s)).status == "failed"
    [fact] = s.rt.store.service.facts_for_ticket(s.tenant_id, "flaky", "T5")
    assert fact.csat_state == "failed"
    assert s.rt.store.service.csat_reasons(
        s.tenant_id, utcnow() - timedelta(days=1), utcnow() + timedelta(hours=1)
    ) == [("failed", busy[:500], 1)]  # a long reason is cut at 500 characters
    assert s.net.connector.posted == []


def test_a_question_refused_without_a_reason_is_recorded_as_not_sent(setup: Setup) -> None:
    s = setup
    _conversation(s, "m6", {"flaky": "T6"})
    s.net.connector.fail_next = [FatalError("")]  # the network said no, and nothing more
    _solve_and_ask(s, "flaky", "T6")
    assert s.rt.store.service.csat_reasons(
        s.tenant_id, utcnow() - timedelta(days=1), utcnow() + timedelta(hours=1)
    ) == [("failed", "not sent", 1)]
