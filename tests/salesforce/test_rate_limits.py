"""A momentary Salesforce 429 waits as long as the server says; the daily allocation pauses the org.

(Before: any 429 or REQUEST_LIMIT_EXCEEDED parked work for an hour, whatever Retry-After said.)
"""

from __future__ import annotations

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


def test_a_429_with_retry_after_1_is_retried_within_seconds(
    rt: Runtime, tenant: tuple[int, int], sfenv: SfEnv
) -> None:
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
