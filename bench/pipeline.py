"""The whole pipeline as real processes, for ``bench chaos`` and ``bench faults``.

The demo's scripted world (sandbox/demo: fakes of Zendesk, Salesforce and every network, customers,
agents) runs in this process; horseshoe runs as ``horseshoe serve`` and ``horseshoe worker``
processes on a shared database (a SQLite file, or a throwaway PostgreSQL database). Customers write
on every network (X and most others polled, Meta by signed webhook, resent while horseshoe refuses
them, as Meta does), agents answer from Zendesk (channelback, retried when horseshoe was
unreachable) and from Salesforce (outbound SocialPosts). At the end everything is counted from the
fakes (sandbox/demo/audit.py); only ``uncertain`` replies come from horseshoe's own store.
"""

from __future__ import annotations

import logging
import os
import random
import shutil
import signal
import socket
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine, func, select, text

from bench.procs import Fleet
from bench.supervisor import Supervisor
from plugin.store import tables as t
from plugin.store.db import normalize_url
from sandbox.demo import script as demo_script
from sandbox.demo.audit import audit
from sandbox.demo.external import hand_over, horseshoe_env
from sandbox.demo.run import (
    World,
    agents_work,
    build_world,
    inject,
    inject_other,
    pending_work,
    salesforce_agents_work,
    zendesk_inbound,
)
from sandbox.zendesk.driver import DriverError

log = logging.getLogger(__name__)
# Where --store postgres creates (and drops) its throwaway database: the test suite's server by default.
POSTGRES_ADMIN_URL = os.environ.get(
    "HORSESHOE_BENCH_POSTGRES_URL",
    os.environ.get("HORSESHOE_TEST_POSTGRES_URL") or "postgresql://postgres@127.0.0.1:5432/test",
)
LEASE_SECONDS = 10.0  # default: a killed worker's claims come free this soon (see Run.lease_seconds)
OTHER_SHARE = 0.25  # share of the mentions written on the networks other than X
AGENT_PATIENCE = 40  # channelback attempts an agent makes, one per round at most
QUIET_ROUNDS = 12  # rounds of 0.25 s with nothing in flight before the run counts as settled


@dataclass
class Run:
    mentions: int
    workers: int = 1
    store: str = "sqlite"  # sqlite | postgres
    kills: int = 0
    kill_gap: float = 4.0  # mean seconds between kills
    seed: int = 7
    faults: dict[str, Any] | None = None  # FaultPlan settings for every fake
    spare: tuple[str, ...] = ()  # fakes left without faults (a known issue being fixed elsewhere)
    # How long a claim holds. Work that outlasts its lease may be claimed and done again by another
    # worker: with several workers on a loaded machine, 10 s is short enough to show that.
    lease_seconds: float = LEASE_SECONDS
    keep: bool = False  # keep the data directory (logs, database) even when all is well


def _terminate(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def database(store: str) -> Iterator[str]:
    """``""`` (the world's own SQLite file) or the URL of a PostgreSQL database dropped afterwards."""
    if store == "sqlite":
        yield ""
        return
    admin = create_engine(normalize_url(POSTGRES_ADMIN_URL), isolation_level="AUTOCOMMIT")
    name = f"horseshoe_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{normalize_url(POSTGRES_ADMIN_URL).rsplit('/', 1)[0]}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def fault_plans(world: World, spare: tuple[str, ...] = ()) -> list[Any]:
    """The fault plan of every fake but those named in ``spare`` (x, zendesk, salesforce, or a network)."""
    plans = {"x": world.x_app.plan, "zendesk": world.zd_app.plan}
    plans.update({n.name: n.harness.plan for n in world.networks})
    if world.salesforce is not None:
        plans["salesforce"] = world.salesforce.app.plan
    unknown = set(spare) - set(plans)
    if unknown:
        raise ValueError(f"no fake named {sorted(unknown)}; known: {sorted(plans)}")
    return [plan for name, plan in plans.items() if name not in spare]


def run_pipeline(run: Run) -> dict[str, Any]:
    # SIGTERM (a timeout, CI cancelling) unwinds like Ctrl-C, so the processes started here are stopped.
    signal.signal(signal.SIGTERM, _terminate)
    data_dir = Path(tempfile.mkdtemp(prefix="horseshoe-bench-"))
    started = time.monotonic()
    ok = False
    with database(run.store) as url:
        port = free_port()
        world = build_world(
            str(data_dir), port, run.seed, url, every_network=True, salesforce=True, lease_seconds=run.lease_seconds
        )
        fleet = Fleet(horseshoe_env(world), hand_over(world), run.workers, data_dir)
        supervisor = Supervisor(fleet, run.kills, run.kill_gap, run.seed)
        try:
            fleet.start()
            for number, plan in enumerate(fault_plans(world, run.spare)):
                if run.faults:
                    plan.configure(**run.faults, seed=run.seed + number)
            supervisor.start()
            faults_from = time.monotonic()
            drive(world, run, supervisor)
            faults_for = time.monotonic() - faults_from  # how long the fakes misbehaved (faults runs)
            supervisor.stop()
            if supervisor.error is not None:
                raise RuntimeError(f"the supervisor failed: {supervisor.error}") from supervisor.error
            for plan in fault_plans(world):
                plan.configure(rate_429=0, rate_5xx=0, rate_timeout=0, rate_429_bare=0, rate_reset=0, rate_slow=0)
            settle(world, run, supervisor)  # what was parked by a fault comes through once they stop
            figures = count(world, run, fleet, time.monotonic() - started)
            figures["fault_seconds"] = round(faults_for, 1) if run.faults else 0.0
            ok = not (figures["lost"] or figures["duplicates"] or figures["double_replies"])
            figures["data_dir"] = str(data_dir) if (run.keep or not ok) else None
            return figures
        finally:
            supervisor.stop()
            fleet.stop()
            world.stop()
            if ok and not run.keep:
                shutil.rmtree(data_dir, ignore_errors=True)


def drive(world: World, run: Run, supervisor: Supervisor) -> None:
    """Customers write, agents answer; then wait until the kills are done and all work settled."""
    rng = random.Random(run.seed)
    others = max(len(world.networks), int(run.mentions * OTHER_SHARE)) if run.mentions >= 40 else 0
    steps = demo_script.plan(run.mentions - others, run.seed)
    every = max(1, len(steps) // max(1, others)) if others else 0
    agents_every = max(5, run.mentions // 200)  # agents scan every ticket: keep that linear overall
    other_index = 0
    for index, step in enumerate(steps, 1):
        inject(world, step, rng)
        if others and index % every == 0 and other_index < others:
            inject_other(world, other_index, retry_later=True)
            other_index += 1
        if index % 5 == 0:
            time.sleep(0.02)
        if index % agents_every == 0:
            work_round(world, wanted=max(3, run.mentions // 100), pull=False)
    while other_index < others:
        inject_other(world, other_index, retry_later=True)
        other_index += 1
    settle(world, run, supervisor)


def work_round(world: World, *, wanted: int, pull: bool) -> int:
    """One round of the outside world: networks resend refused webhooks, agents answer, Zendesk
    pulls now and then. Returns the webhooks still waiting."""
    waiting = sum(network.redeliver() for network in world.networks)
    # Patient agents: a channelback refused while a network paces us (Telegram) is retried until it goes.
    agents_work(world, retry_unreachable=True, patience=AGENT_PATIENCE)
    try:
        salesforce_agents_work(world, wanted=wanted)
        if pull:
            world.driver.pull()
    except (DriverError, requests.RequestException) as exc:
        # An agent's click or Zendesk's pull met a fault or a killed horseshoe: tried again next round.
        log.info("outside world retries later: %s", exc)
    except Exception as exc:  # simple-salesforce's own errors (a faulted Salesforce): the agent retries
        if type(exc).__module__.split(".")[0] != "simple_salesforce":
            raise
        log.info("Salesforce agent retries later: %s", exc)
    return waiting


def settle(world: World, run: Run, supervisor: Supervisor) -> None:
    """Until the supervisor is done and nothing has been in flight for a few seconds (bounded)."""
    deadline = time.monotonic() + 600 + run.mentions * 0.2
    quiet = rounds = 0
    while time.monotonic() < deadline:
        waiting = work_round(world, wanted=max(3, run.mentions // 100), pull=rounds % 40 == 0)
        remaining = in_flight(world) + waiting
        quiet = quiet + 1 if remaining == 0 and supervisor.done.is_set() else 0
        if quiet >= QUIET_ROUNDS:
            return
        time.sleep(0.25)
        rounds += 1
    log.warning("the run did not settle before its deadline; counting what the fakes hold now")


def in_flight(world: World) -> int:
    """Work still under way: ``pending_work`` without the channelback replies an agent stopped
    retrying (those are synchronous: only Zendesk's retry sends them, so they wait for a human)."""
    with world.runtime.db.begin() as conn:
        abandoned = conn.execute(
            select(func.count())
            .select_from(t.replies)
            .where(
                t.replies.c.status == "pending",
                t.replies.c.source == "zendesk_channelback",
            )
        ).scalar_one()
    return pending_work(world) - int(abandoned)


def count(world: World, run: Run, fleet: Fleet, seconds: float) -> dict[str, Any]:
    try:
        world.driver.pull()  # Zendesk's fallback pull, once more, as it does every two minutes
    except (DriverError, requests.RequestException) as exc:
        log.warning("final pull failed: %s", exc)
    _tickets, inbound = zendesk_inbound(world)
    found = audit(world, inbound)
    with world.runtime.db.begin() as conn:
        statuses = select(t.replies.c.status, func.count()).group_by(t.replies.c.status)
        by_status: dict[str, int] = {str(status): int(n) for status, n in conn.execute(statuses).all()}
        delivery_attempts = [int(a) for (a,) in conn.execute(select(t.deliveries.c.attempts)).all()]
        reply_attempts = [int(a) for (a,) in conn.execute(select(t.replies.c.attempts)).all()]
    attempts = delivery_attempts + reply_attempts
    counts = world.runtime.store.counts()
    return {
        "mentions": len(world.injected),
        "stored": counts["mentions"],
        "replies": sum(int(n) for n in by_status.values()),
        "replies_posted": len(found.refs),
        "kills": fleet.kills,
        **found.figures(),
        "uncertain": int(by_status.get("uncertain", 0)),
        "replies_failed": int(by_status.get("failed", 0)),
        "deliveries_failed": counts["deliveries_failed"],
        "still_pending": in_flight(world),
        "max_attempts": max(attempts, default=0),
        "max_delivery_attempts": max(delivery_attempts, default=0),
        "max_reply_attempts": max(reply_attempts, default=0),
        # The retry policy the processes ran with: what bounds attempts (tests/reliability derive it).
        "retry_policy": {
            "base_seconds": world.runtime.settings.backoff_base_seconds,
            "cap_seconds": world.runtime.settings.backoff_cap_seconds,
            "max_attempts": world.runtime.settings.max_attempts,
        },
        "mean_attempts": round(sum(attempts) / len(attempts), 2) if attempts else 0.0,
        "faults_injected": _injected(world),
        "store": run.store,
        "workers": run.workers,
        "seconds": round(seconds, 1),
        "lost_sample": sorted(found.lost)[:10],
    }


def _injected(world: World) -> dict[str, int]:
    total: dict[str, int] = {}
    for plan in fault_plans(world):
        for kind, n in plan.injected.items():
            total[kind] = total.get(kind, 0) + n
    return total
