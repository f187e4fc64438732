"""A CRM down for hours, then back: the backlog drains in order by itself, nothing lost or doubled.

Time is simulated, never slept: ``elapse`` moves every stored timestamp of the inbox and the delivery
queue back by the simulated interval, which is what the clock moving forward looks like to the worker
(it compares them with ``utcnow()``: due retries, age-based giving up). horseshoe's own code runs
unpatched, with its production back-off (2 s doubling to a 1 h cap) and its 72 h give-up age.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from plugin.config import Settings
from plugin.pipeline import inbound as pipeline
from plugin.plugins import get_plugin_manager
from plugin.runtime import Runtime, build_runtime
from plugin.store import tables as t
from plugin.store.db import as_utc
from plugin.worker.loop import Worker
from sandbox.salesforce.org import RunningOrg, start_org
from tests.support.netplugin import TestNetPlugin, make_mention

STEP = timedelta(minutes=10)
OUTAGE = timedelta(hours=8)
NEW_MENTION_EVERY = 2  # steps: customers keep writing during the outage (one every 20 simulated minutes)


def elapse(rt: Runtime, interval: timedelta) -> None:
    """Let ``interval`` pass for everything the worker schedules by (see the module docstring).

    Computed row by row in Python: SQLite keeps datetimes as text, so SQL date arithmetic is not portable."""
    shifted = {t.mentions: ("created_at", "received_at"), t.deliveries: ("next_attempt_at", "updated_at")}
    with rt.db.begin() as conn:
        for table, names in shifted.items():
            columns = [table.c[name] for name in names]
            for row in conn.execute(select(table.c.id, *columns)).all():
                values = {name: as_utc(row._mapping[name]) - interval for name in names}  # type: ignore[operator]
                conn.execute(update(table).where(table.c.id == row.id).values(**values))


def statuses(rt: Runtime) -> dict[str, int]:
    with rt.db.begin() as conn:
        rows = conn.execute(select(t.deliveries.c.status, func.count()).group_by(t.deliveries.c.status)).all()
    return {str(status): int(n) for status, n in rows}


def max_attempts(rt: Runtime) -> int:
    with rt.db.begin() as conn:
        return int(conn.execute(select(func.max(t.deliveries.c.attempts))).scalar_one() or 0)


@pytest.fixture
def org() -> Iterator[RunningOrg]:
    running = start_org("Acme")
    yield running
    running.stop()


@pytest.fixture
def rt(tmp_path: Any, org: RunningOrg) -> Iterator[Runtime]:
    # Production pacing on purpose (defaults): the point is hours of simulated time, not fast retries.
    settings = Settings(
        data_dir=str(tmp_path),
        secret_key="test-secret-key-not-for-production",
        allowed_private_hosts="127.0.0.1,localhost",  # the fake org runs here (plugin/egress.py)
    )
    runtime = build_runtime(settings, pm=get_plugin_manager(extra_plugins=[("testnet", TestNetPlugin())]))
    yield runtime
    runtime.db.dispose()


@pytest.mark.parametrize("outage", [{"rate_5xx": 1.0}, {"rate_reset": 1.0}], ids=["503", "unreachable"])
def test_salesforce_down_for_hours_then_back_drains_in_order(
    rt: Runtime, org: RunningOrg, outage: dict[str, float]
) -> None:
    tenant_id = rt.store.ensure_tenant("acme")
    account_id = rt.store.upsert_account(tenant_id, "testnet", "brand", {"secret": "s3cret"}, handle="brand")
    rt.store.set_sink_connection(tenant_id, "salesforce", org.sink_config(reply_poll_seconds=3600))
    account = rt.store.account(account_id)[0]  # type: ignore[index]
    worker = Worker(rt, owner="outage-worker")
    written: list[str] = []

    org.app.plan.configure(**outage)
    for step in range(int(OUTAGE / STEP)):
        if step % NEW_MENTION_EVERY == 0:
            mention = make_mention(f"m{len(written)}", author=f"u{len(written) % 5}", text=f"still broken #{step}")
            pipeline.ingest(rt, account, [mention])
            written.append(mention.external_id)
        worker.run_once()
        elapse(rt, STEP)
    during = statuses(rt)
    assert during == {"pending": len(written)}, during  # nothing delivered, nothing given up
    assert org.records("SocialPost") == []
    # Exponential back-off to a 1 h cap: the early retries (seconds apart) each take one 10-minute step,
    # then about one an hour; far fewer than the 48 steps, and never given up.
    assert 3 <= max_attempts(rt) <= 24

    org.app.plan.configure(rate_5xx=0.0, rate_reset=0.0)  # Salesforce is back; nobody touches horseshoe
    for _ in range(6):
        elapse(rt, timedelta(hours=1))  # the longest back-off is an hour: every retry comes due
        worker.run_once()
        if statuses(rt) == {"delivered": len(written)}:
            break
    assert statuses(rt) == {"delivered": len(written)}

    posts = [p for p in org.records("SocialPost") if not p.get("IsOutbound")]
    keys = [p["R6PostId"] for p in posts]
    assert len(keys) == len(set(keys)) == len(written)  # each once
    assert keys == [f"testnet:{external_id}" for external_id in written]  # in the order customers wrote
