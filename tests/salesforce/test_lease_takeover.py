"""Work that outlasts its lease is never done twice (issue 12: 690 duplicate SocialPosts on PostgreSQL).

Two workers, one Salesforce org. Worker A claims the deliveries and looks their posts up; right
after Salesforce answered that look-up, A stalls past its lease (simulated by moving the lease's end
into the past: no clock in the assertions) and worker B claims the same deliveries and delivers them.
When A resumes, its fence (the lease re-checked right before the first record is created) tells it
the work is B's: A creates nothing. Without the fence A created every SocialPost, persona, Contact and
Case a second time. A second test checks the other half: a worker that is merely slow keeps its
leases (heartbeat), so nobody takes its work over at all.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from werkzeug.wrappers import Request

from plugin.pipeline import inbound as pipeline
from plugin.runtime import Runtime
from plugin.store import tables as t
from plugin.store.db import as_utc, utcnow
from plugin.worker.loop import Tick, Worker
from tests.support.netplugin import make_mention

from .conftest import SfEnv
from .soql import soql_of

MENTIONS = 3


def _route(rt: Runtime, account_id: int) -> None:
    account = rt.store.account(account_id)[0]  # type: ignore[index]
    mentions = [make_mention(f"m{i}", author=f"u{i}") for i in range(MENTIONS)]
    pipeline.ingest(rt, account, mentions)
    assert pipeline.route(rt, "router") == MENTIONS


def _is_post_lookup(request: Request) -> bool:
    return any("FROM SocialPost" in q for q in soql_of(request))


class AfterFirstLookup:
    """Runs ``action`` (in the fake's request thread) once Salesforce has answered the first
    SocialPost look-up, before the answer reaches the worker that asked."""

    def __init__(self, action: Any) -> None:
        self.action = action
        self.result: Any = None
        self.error: BaseException | None = None
        self.fired = threading.Event()

    def __call__(self, request: Request) -> None:
        if self.fired.is_set() or not _is_post_lookup(request):
            return
        self.fired.set()
        try:
            self.result = self.action()
        except BaseException as exc:  # re-raised in the test's thread by check()
            self.error = exc

    def check(self) -> Any:
        assert self.fired.is_set(), "the worker never looked its posts up"
        if self.error is not None:
            raise self.error
        return self.result


@pytest.mark.settings(lease_seconds=60)  # no renewal happens by itself during the test
def test_a_worker_whose_lease_ran_out_mid_batch_creates_nothing_twice(
    rt: Runtime, tenant: tuple[int, int], sfenv: SfEnv
) -> None:
    _tenant_id, account_id = tenant
    _route(rt, account_id)

    def stall_then_take_over() -> Tick:
        with rt.db.begin() as conn:  # A stalled past its lease...
            conn.execute(update(t.deliveries).values(lease_until=utcnow() - timedelta(seconds=1)))
        return Worker(rt, owner="B").deliver_due()  # ...and B took the work over meanwhile

    hook = AfterFirstLookup(stall_then_take_over)
    sfenv.plan.configure(after=hook)
    late = Worker(rt, owner="A").deliver_due()
    took_over: Tick = hook.check()

    assert took_over.delivered == MENTIONS and late.delivered == 0
    posts = sfenv.records("SocialPost")
    assert len(posts) == MENTIONS, [p.get("R6PostId") or p.get("ExternalPostId") for p in posts]
    assert len(sfenv.records("SocialPersona")) == MENTIONS
    assert len(sfenv.records("Contact")) == MENTIONS
    assert len(sfenv.records("Case")) == MENTIONS
    with rt.db.begin() as conn:
        rows = conn.execute(select(t.deliveries.c.status, t.deliveries.c.remote_id)).all()
    assert {r.status for r in rows} == {"delivered"}
    assert {r.remote_id for r in rows} == {str(p["Id"]) for p in posts}


@pytest.mark.settings(lease_seconds=1.0)
def test_a_slow_worker_keeps_its_leases_while_it_works(rt: Runtime, tenant: tuple[int, int], sfenv: SfEnv) -> None:
    _tenant_id, account_id = tenant
    _route(rt, account_id)

    def outlast_the_lease_then_try_to_take_over() -> Tick:
        with rt.db.begin() as conn:
            claimed_until = max(as_utc(u) for (u,) in conn.execute(select(t.deliveries.c.lease_until)))
        assert claimed_until is not None
        while utcnow() <= claimed_until + timedelta(seconds=rt.settings.lease_seconds):
            threading.Event().wait(0.1)  # A's first lease has long run out by now
        return Worker(rt, owner="B").deliver_due()

    hook = AfterFirstLookup(outlast_the_lease_then_try_to_take_over)
    sfenv.plan.configure(after=hook)
    slow = Worker(rt, owner="A").deliver_due()
    other: Tick = hook.check()

    assert other.delivered == 0 and other.retried == 0, "B took over work A was still doing"
    assert slow.delivered == MENTIONS
    assert len(sfenv.records("SocialPost")) == MENTIONS
