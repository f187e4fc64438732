"""A routing pass and the announcer give way to a burst of the process's requests between two
mentions (issue 11's ingest: triage holds the interpreter lock the request threads need), but are only
delayed, never starved. The requests here are counted in this process's ``TRAFFIC``; no time is measured."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from plugin.pipeline import inbound as pipeline
from plugin.pipeline.announce import Announcer
from plugin.runtime import Runtime
from plugin.store import tables as t
from plugin.traffic import CONCURRENT, TRAFFIC
from tests.support.netplugin import make_mention


@pytest.fixture
def burst() -> Iterator[threading.Event]:
    """A surge: requests keep starting in this process far faster than the burst rate until the
    returned event is set (by the test, or at its end)."""
    stop = threading.Event()

    def requests() -> None:
        while not stop.is_set():
            with TRAFFIC.request():
                pass
            stop.wait(0.001)

    feeder = threading.Thread(target=requests, daemon=True)
    feeder.start()
    while not TRAFFIC.surging():
        stop.wait(0.001)
    yield stop
    stop.set()
    feeder.join(60)


@pytest.fixture
def crowd() -> Iterator[None]:
    """As many requests in flight at once as make a crowd, below the surge rate."""
    for _ in range(CONCURRENT):
        TRAFFIC.arrived()
    yield
    for _ in range(CONCURRENT):
        TRAFFIC.done()


def _received(rt: Runtime, account_id: int, count: int) -> None:
    found = rt.store.account(account_id)
    assert found is not None
    pipeline.ingest(rt, found[0], [make_mention(f"gw{n}", author=f"gw{n}") for n in range(count)])


def _statuses(rt: Runtime) -> Counter[str]:
    with rt.db.read() as conn:
        return Counter(conn.execute(select(t.mentions.c.status)).scalars())


def test_routing_waits_for_a_surge_and_goes_on_when_it_ends(
    rt: Runtime, tenant: tuple[int, int], burst: threading.Event
) -> None:
    _received(rt, tenant[1], 3)
    routed: list[int] = []
    router = threading.Thread(target=lambda: routed.append(pipeline.route(rt, "router")))
    router.start()
    router.join(0.5)
    assert router.is_alive() and "routed" not in _statuses(rt)  # claimed, but no mention triaged yet
    burst.set()
    router.join(60)
    assert routed == [3] and _statuses(rt)["routed"] == 3


def test_routing_under_a_surge_that_never_ends_is_delayed_not_starved(
    rt: Runtime, tenant: tuple[int, int], burst: threading.Event, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "GIVE_WAY_SECONDS", 0.05)  # the pass's limit for the surge's waits
    _received(rt, tenant[1], 3)
    assert pipeline.route(rt, "router") == 3  # in slices once the limit was spent
    assert _statuses(rt)["routed"] == 3 and TRAFFIC.surging()  # the surge is still on


def test_routing_beside_a_crowd_goes_on_in_slices(rt: Runtime, tenant: tuple[int, int], crowd: None) -> None:
    """Requests in flight at once but no surge (steady traffic on a busy machine): never held long."""
    _received(rt, tenant[1], 3)
    assert pipeline.route(rt, "router") == 3
    assert _statuses(rt)["routed"] == 3 and TRAFFIC.busy()


def test_announcements_wait_for_a_surge_and_go_on_when_it_ends(
    rt: Runtime, tenant: tuple[int, int], burst: threading.Event
) -> None:
    tenant_id, _account_id = tenant
    key = rt.store.tenant_key(tenant_id)
    announcer = Announcer(rt)
    announcer.submit([(make_mention(f"an{n}", author=f"an{n}"), n + 1, key) for n in range(3)])
    assert not announcer.drain(timeout=0.5)  # held while the surge lasts
    burst.set()
    assert announcer.drain(timeout=60)
