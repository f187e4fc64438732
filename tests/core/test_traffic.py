"""Background threads of ``horseshoe serve`` give way to requests in flight (``plugin.traffic``), and
SQLite writers of several processes queue on one file lock (``plugin.store.db``): issue 11's ingest.
No test here measures a time; each checks who waits for whom."""

from __future__ import annotations

import fcntl
import multiprocessing
import multiprocessing.synchronize
import os
import threading
from pathlib import Path

from sqlalchemy import text

from plugin.store import Database
from plugin.traffic import SLICE_SECONDS, Traffic


class Clock:
    """A clock the test moves: ``Traffic`` judges a burst by when its requests started."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_without_requests_background_work_never_waits() -> None:
    assert Traffic(burst=1, window=60.0).give_way(max_seconds=60.0) is True


def test_a_burst_holds_background_work_until_its_limit_and_ends_with_the_window() -> None:
    clock = Clock()
    traffic = Traffic(burst=3, window=1.0, clock=clock)
    for _ in range(3):
        with traffic.request():
            pass
    assert traffic.busy()
    assert traffic.give_way(max_seconds=0.0) is False  # the limit reached: go on anyway
    clock.now += 1.0  # the three starts leave the window
    assert not traffic.busy()
    assert traffic.give_way(max_seconds=0.0) is True


def test_steady_traffic_below_the_burst_rate_never_holds_background_work() -> None:
    """The latency goal's steady load: a pass that waited would only delay every mention."""
    clock = Clock()
    traffic = Traffic(burst=3, window=1.0, clock=clock)
    for _ in range(50):
        with traffic.request():
            assert traffic.give_way(max_seconds=0.0) is True  # even with a request in flight
        clock.now += 0.5  # two starts per window, one short of a burst
    assert traffic.in_flight == 0


def test_background_work_goes_on_when_the_burst_is_over() -> None:
    traffic = Traffic(burst=2, window=0.05)
    with traffic.request():
        with traffic.request():
            pass
    outcome: list[bool] = []
    waiter = threading.Thread(target=lambda: outcome.append(traffic.give_way(max_seconds=600.0)))
    waiter.start()
    waiter.join()  # no further request: the burst leaves the window and the pass goes on
    assert outcome == [True]


def test_a_request_that_fails_is_no_longer_counted_in_flight() -> None:
    traffic = Traffic(burst=5, window=60.0)
    try:
        with traffic.request():
            raise RuntimeError("the view failed")
    except RuntimeError:
        pass
    assert traffic.in_flight == 0 and not traffic.busy()


Event = multiprocessing.synchronize.Event


def _hold_write_turn(url: str, holding: Event, done: Event) -> None:
    db = Database(url)
    with db.write() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS t (x INTEGER)"))
        holding.set()
        done.wait(60)
    db.dispose()


def test_sqlite_writers_of_other_processes_queue_on_the_file_lock(tmp_path: Path) -> None:
    path = tmp_path / "lock.db"
    url = f"sqlite:///{path}"
    context = multiprocessing.get_context("spawn")
    holding, done = context.Event(), context.Event()
    child = context.Process(target=_hold_write_turn, args=(url, holding, done))
    child.start()
    try:
        assert holding.wait(60)
        fd = os.open(f"{path}.writer", os.O_RDWR)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                taken = False
            except BlockingIOError:
                taken = True
            assert taken, "a writer in another process holds no file lock"
            done.set()
            child.join(60)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released with its transaction
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
    finally:
        done.set()
        child.join(60)


def test_nested_writes_on_one_thread_share_the_turn(tmp_path: Path) -> None:
    first = Database(f"sqlite:///{tmp_path / 'nest.db'}")
    second = Database(f"sqlite:///{tmp_path / 'nest.db'}")
    try:
        assert first._writer is second._writer  # one queue per file and process
        with first.write() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
            assert second._writer is not None
            with second._writer.turn():  # re-entered on this thread: neither lock waits for itself
                conn.execute(text("INSERT INTO t VALUES (1)"))
        with second.write() as conn:  # and released by the outermost exit
            conn.execute(text("INSERT INTO t VALUES (2)"))
        with second.read() as conn:
            assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 2
    finally:
        first.dispose()
        second.dispose()


def test_requests_in_flight_at_once_are_a_burst_whatever_their_rate() -> None:
    """A slow or busy machine: the storm's requests start below the burst rate, but many are in
    flight at once; background work gives way to them too, and goes on when they finish."""
    clock = Clock()
    traffic = Traffic(burst=1000, window=1.0, clock=clock, concurrent=3)
    with traffic.request(), traffic.request():
        assert not traffic.busy()  # two in flight, far below the rate: steady traffic
        with traffic.request():
            assert traffic.busy() and not traffic.surging()
            assert traffic.give_way(max_seconds=0.0, crowd=True) is False  # held until its limit
            # A whole pass waits for a surge only: a crowd is also steady traffic on a slow machine.
            assert traffic.give_way(max_seconds=0.0) is True
    assert not traffic.busy()
    assert traffic.give_way(max_seconds=0.0, crowd=True) is True


def test_a_pass_held_by_requests_in_flight_goes_on_when_they_finish() -> None:
    traffic = Traffic(burst=1000, window=600.0, concurrent=2)
    release = threading.Event()
    started = threading.Barrier(3)

    def request() -> None:
        with traffic.request():
            started.wait()
            release.wait(60)

    requests = [threading.Thread(target=request) for _ in range(2)]
    for thread in requests:
        thread.start()
    started.wait()
    outcome: list[bool] = []
    waiter = threading.Thread(target=lambda: outcome.append(traffic.give_way(max_seconds=600.0, crowd=True)))
    waiter.start()
    waiter.join(0.2)
    assert waiter.is_alive() and outcome == []  # still held while both are in flight
    release.set()
    for thread in requests:
        thread.join(60)
    waiter.join(60)  # woken by the request that finished, not by its 600 s window
    assert outcome == [True]


class Ticking(Clock):
    """While ``ticking``, each look at the clock moves it on 10 s: a wait for a burst runs out at once,
    never really waits. Otherwise it stands still until the test moves it."""

    def __init__(self) -> None:
        super().__init__()
        self.ticking = False

    def __call__(self) -> float:
        if self.ticking:
            self.now += 10.0
        return self.now


def test_a_long_pass_waits_for_a_surge_within_one_limit_then_goes_on_in_slices() -> None:
    """A routing pass or the announcer: each item first gives way to a surge of requests, at most the
    limit for one surge; a surge that outlasts it lets the pass work SLICE_SECONDS between waits."""
    clock = Ticking()
    traffic = Traffic(burst=2, window=600.0, clock=clock, concurrent=1000)
    pauses = traffic.pauses(max_seconds=15.0)
    assert not pauses.due()  # no request: the next item goes on at once
    traffic.arrived()
    traffic.arrived()
    assert traffic.surging() and pauses.due()
    clock.ticking = True
    pauses.wait()  # the clock moved past the limit: this surge's budget is spent
    clock.ticking = False
    assert traffic.surging() and not pauses.due()  # still on, but the pass works its slice first
    clock.now += SLICE_SECONDS * 1.5
    assert pauses.due()  # a slice worked: wait again (at most SLICE_PAUSE_SECONDS)
    clock.ticking = True
    pauses.wait()
    clock.ticking = False
    assert not pauses.due()
    traffic.done()
    traffic.done()
    clock.now += 600.0  # the starts leave the window: the surge is over
    assert not pauses.due() and not traffic.busy()
    traffic.arrived()
    traffic.arrived()
    assert pauses.due()  # a new surge: the whole limit again, whatever the slice
    traffic.done()
    traffic.done()


def test_a_crowd_of_requests_in_flight_only_slices_a_long_pass() -> None:
    """Requests in flight at once, below the surge rate: a storm on a slow machine or steady traffic
    on a busy one. The pass goes on in slices from the start, never held for its whole limit."""
    clock = Ticking()
    traffic = Traffic(burst=1000, window=600.0, clock=clock, concurrent=1)
    pauses = traffic.pauses(max_seconds=15.0)
    traffic.arrived()
    assert traffic.busy() and not traffic.surging()
    assert pauses.due()
    clock.ticking = True
    pauses.wait()  # one slice pause (ran out at once on this clock)
    clock.ticking = False
    assert not pauses.due()  # the pass works a slice
    clock.now += SLICE_SECONDS * 1.5
    assert pauses.due()
    traffic.done()
    assert not pauses.due()
