"""A momentary Salesforce 429 waits as long as the server says; the daily allocation pauses the org.

(Before: any 429 or REQUEST_LIMIT_EXCEEDED parked work for an hour, whatever Retry-After said.)
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from plugin.errors import RateLimited
from plugin.pipeline import inbound as pipeline
from plugin.runtime import Runtime
from plugin.salesforce.api import DAILY_LIMIT_PAUSE_SECONDS
from plugin.salesforce.sink import SalesforceSink
from plugin.store import tables as t
from plugin.store.db import as_utc, utcnow
from plugin.worker.loop import Worker
from tests.support.netplugin import make_mention

from .conftest import SfEnv, connection, item


def test_a_429_carries_the_servers_retry_after(sink: SalesforceSink, sfenv: SfEnv) -> None:
    sfenv.plan.configure(paths=("/services/data/",), scripted=[429], retry_after=1)
    with pytest.raises(RateLimited) as info:
        sink.deliver(connection(sfenv), [item(make_mention("m1"))])
    assert info.value.retry_after == 1.0 and info.value.code == "REQUEST_LIMIT_EXCEEDED"


def test_a_429_with_retry_after_1_is_retried_within_seconds(rt: Runtime, tenant: tuple[int, int], sfenv: SfEnv) -> None:
    _tenant_id, account_id = tenant
    pipeline.ingest(rt, rt.store.account(account_id)[0], [make_mention("m1")])  # type: ignore[index]
    sfenv.plan.configure(paths=("/services/data/",), scripted=[429], retry_after=1)
    worker = Worker(rt)
    worker.run_once()
    with rt.db.begin() as conn:
        row = conn.execute(select(t.deliveries.c.status, t.deliveries.c.next_attempt_at)).one()
    assert row.status == "pending"
    assert as_utc(row.next_attempt_at) <= utcnow() + timedelta(seconds=10), "parked far beyond Retry-After"


def test_the_daily_allocation_used_up_pauses_the_org_and_tells_the_admin(sink: SalesforceSink, sfenv: SfEnv) -> None:
    sfenv.state.set_api_limit(100, used=100, org_id=sfenv.org.id)
    with pytest.raises(RateLimited) as info:
        sink.deliver(connection(sfenv), [item(make_mention("m1"))])
    assert info.value.code == "DAILY_LIMIT_EXCEEDED"
    assert info.value.retry_after == DAILY_LIMIT_PAUSE_SECONDS
    problems = sink.check(connection(sfenv))
    assert any("daily API allocation is used up" in p for p in problems), problems


def _attempts(rt: Runtime) -> dict[str, int]:
    with rt.db.begin() as conn:
        rows = conn.execute(
            select(t.mentions.c.external_id, t.deliveries.c.attempts).join(
                t.deliveries, t.deliveries.c.mention_id == t.mentions.c.id
            )
        ).all()
    return {r.external_id: int(r.attempts) for r in rows}


def test_work_held_back_by_a_pause_counts_no_attempt_and_a_bare_429_backs_off_per_org(
    rt: Runtime, tenant: tuple[int, int], sfenv: SfEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(``bench faults --quick`` drained slowly: every batch held back by the shared pause counted
    an attempt, so the back-off of work that never met Salesforce grew towards an hour.)"""
    _tenant_id, account_id = tenant
    account = rt.store.account(account_id)[0]  # type: ignore[index]
    pipeline.ingest(rt, account, [make_mention(f"m{i}", author=f"u{i}") for i in range(3)])
    monkeypatch.setattr(rt.registry.sink("salesforce"), "max_batch", 1)  # three batches, one per mention
    target = "salesforce:acme"
    sfenv.plan.configure(paths=("/services/data/",), scripted=["429_bare"])
    worker = Worker(rt, owner="w")
    worker.run_once()
    assert _attempts(rt) == {"m0": 1, "m1": 0, "m2": 0}, "only the batch that met the 429 made an attempt"
    assert rt.store.rate_pauses.state(target).strikes == 1

    sfenv.plan.configure(scripted=["429_bare"])
    for _ in range(200):  # the next call after the (short, test-sized) pause meets a bare 429 again
        if rt.store.rate_pauses.state(target).strikes == 2:
            break
        worker.deliver_due()
        threading.Event().wait(0.05)
    assert rt.store.rate_pauses.state(target).strikes == 2, "consecutive bare 429s double the pause"

    for _ in range(200):
        if not rt.store.counts()["deliveries_pending"]:
            break
        worker.deliver_due()
        threading.Event().wait(0.05)
    # Three deliveries and two 429s: five calls, five attempts; the batches held back counted none.
    assert sum(_attempts(rt).values()) == 5 and min(_attempts(rt).values()) == 1, _attempts(rt)
    assert rt.store.rate_pauses.state(target).strikes == 0, "a success starts the back-off over"
    assert len(sfenv.records("SocialPost")) == 3
