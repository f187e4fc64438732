"""Scaling out on PostgreSQL: a backlog drained by 1, 2 and 3 ``horseshoe worker`` processes.

``python -m bench scale [--quick] [--mentions N] [--latency S]``: for each worker count a fresh
throwaway PostgreSQL database (created and dropped on the server of ``HORSESHOE_BENCH_POSTGRES_URL``,
else ``HORSESHOE_TEST_POSTGRES_URL``, else 127.0.0.1:5432) gets the same size of backlog (one
author per three mentions, on X), stored straight into the inbox before any worker starts. Then N
``horseshoe worker`` processes (the in-process loop, no broker) route it and deliver every mention to
the Zendesk fake (Channel Framework push) and the Salesforce fake (sObject Collections), both
answering after ``--latency`` seconds per call (default 50 ms, issue 11's realistic setting).

The workers start on an empty database and the backlog is committed in one transaction once every
one of them is connected (each names itself in ``application_name``): process start-up (imports,
seconds on a busy 2-core host, one process after the other) neither delays the second and third
workers' share of the work nor counts in the rate (``startup_s`` says how long it took). The rate is
mentions fully delivered per second, timed from the first mention a worker picks up to the last
delivery. Each worker count gets fresh fakes: the Salesforce fake answers a SOQL query by scanning
its records, so an org still holding the previous runs' posts would make each later run's CRM
slower. Lost and duplicates come from the fakes' own records: a mention with no inbound comment in
Zendesk or no inbound SocialPost in Salesforce is lost, an extra copy of either is a duplicate.
Full run: 3,000 mentions per worker count; ``--quick``: 300.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import func, insert, select, text

from bench.drain import LATENCY, SUBDOMAIN, Fakes, backlog
from bench.pipeline import _terminate, database
from bench.procs import Proc, horseshoe_argv
from plugin.config import Settings
from plugin.models import Mention
from plugin.runtime import Runtime, build_runtime
from plugin.store import tables as t
from plugin.store.inbox import mention_values
from plugin.store.statuses import DeliveryStatus, MentionStatus

WORKER_COUNTS = (1, 2, 3)
SECRET = "bench-secret-key-not-for-production"
LEASE_SECONDS = 30.0
POLL_SECONDS = 0.1  # how often the bench looks at the store while the workers drain
# A worker that found nothing to do looks again after this long (default 1 s): the workers wait for
# the backlog with it, so they all start on it within this long of its commit.
IDLE_SECONDS = 0.2
READY_SECONDS = 120.0  # start-up (imports) of every worker on a loaded host; longer is a failure
KEYS = ("per_s_1", "per_s_2", "per_s_3", "speedup_3", "lost", "duplicates")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--mentions", type=int, default=None, help="backlog per worker count (default 3,000; --quick 300)"
    )
    parser.add_argument("--latency", type=float, default=LATENCY, help="seconds each CRM call takes (default 0.05)")
    parser.add_argument("--keep", action="store_true", help="keep the workers' logs")


def worker_env(url: str, data_dir: str, name: str) -> dict[str, str]:
    return {
        "HORSESHOE_DATA_DIR": data_dir,
        # Its connections say which worker they are (pg_stat_activity), so the bench sees it is up.
        "HORSESHOE_DATABASE_URL": f"{url}?application_name={name}",
        "HORSESHOE_SECRET_KEY": SECRET,
        "HORSESHOE_ALLOWED_PRIVATE_HOSTS": "127.0.0.1,localhost",  # the fakes (plugin/egress.py)
        "HORSESHOE_LEASE_SECONDS": str(LEASE_SECONDS),
        "HORSESHOE_WORKER_IDLE_SECONDS": str(IDLE_SECONDS),
        "HORSESHOE_BROKER_URL": "",
        "HORSESHOE_LOG_LEVEL": "WARNING",
    }


def connected(rt: Runtime, names: list[str]) -> bool:
    """Every named worker has a connection open to the bench database (it has run its first tick)."""
    with rt.db.read() as conn:
        found = conn.execute(
            text("SELECT DISTINCT application_name FROM pg_stat_activity WHERE datname = current_database()")
        )
        return set(names) <= {r[0] for r in found}


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) a process on this host has used so far; None when it cannot be read
    (gone, or not on Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def backends(rt: Runtime) -> list[int]:
    """The PostgreSQL server processes serving the workers (on this host: the bench's own server)."""
    with rt.db.read() as conn:
        found = conn.execute(
            text(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND application_name LIKE 'worker%'"
            )
        )
        return [int(r[0]) for r in found]


def cpu_now(procs: list[Proc], servers: list[int]) -> dict[str, float]:
    """CPU seconds used so far by each worker (``w<pid>``), each of their PostgreSQL backends
    (``pg<pid>``) and this process (``bench``: the fakes and the polling)."""
    used: dict[str, float] = {"bench": time.process_time()}
    for name, pid in [(f"w{p.popen.pid}", p.popen.pid) for p in procs if p.popen is not None] + [
        (f"pg{pid}", pid) for pid in servers
    ]:
        seconds = cpu_seconds(pid)
        if seconds is not None:
            used[name] = seconds
    return used


def cpu_ms_per_mention(before: dict[str, float], after: dict[str, float], total: int) -> dict[str, float]:
    """What the run cost the host per mention, whatever else the host ran meanwhile: CPU milliseconds
    of the workers, their PostgreSQL backends (one opened during the run counts from zero; one closed
    before the end is missed) and the bench process (the CRM fakes)."""
    spent = {"workers": 0.0, "postgres": 0.0, "fakes": after["bench"] - before["bench"]}
    for key, seconds in after.items():
        if key != "bench":
            spent["workers" if key.startswith("w") else "postgres"] += seconds - before.get(key, 0.0)
    return {k: round(1000 * v / total, 2) for k, v in spent.items()}


def store_backlog(rt: Runtime, tenant_id: int, account_id: int, mentions: list[Mention]) -> None:
    """The whole backlog in one commit (what ingest stores first), so no worker starts before the others."""
    with rt.db.begin() as conn:
        conn.execute(insert(t.mentions), [mention_values(tenant_id, account_id, m) for m in mentions])


def left(rt: Runtime) -> tuple[int, int, int]:
    """(mentions not routed yet, deliveries pending, deliveries delivered): one light query, asked ten
    times a second while the workers drain (``Store.counts`` is nine)."""
    m, d = t.mentions, t.deliveries
    with rt.db.read() as conn:
        row = conn.execute(
            select(
                select(func.count()).select_from(m).where(m.c.status == MentionStatus.RECEIVED).scalar_subquery(),
                select(func.count()).select_from(d).where(d.c.status == DeliveryStatus.PENDING).scalar_subquery(),
                select(func.count()).select_from(d).where(d.c.status == DeliveryStatus.DELIVERED).scalar_subquery(),
            )
        ).one()
    return int(row[0]), int(row[1]), int(row[2])


def one_run(fakes: Fakes, url: str, workers: int, total: int, data_dir: Path, deadline_s: float) -> dict[str, Any]:
    """Start ``workers`` processes, store the backlog once all are up, time them until nothing is pending."""
    settings = Settings(data_dir=str(data_dir), database_url=url, secret_key=SECRET,
                        allowed_private_hosts="127.0.0.1,localhost")  # fmt: skip
    rt = build_runtime(settings)
    seed = 1000 * workers + total
    mentions = backlog(total, seed=seed)
    procs: list[Proc] = []
    try:
        tenant_id, account_id = fakes.connect_brand(rt.store)
        names = [f"worker{n}" for n in range(workers)]
        procs = [
            Proc(name, horseshoe_argv("worker"), worker_env(url, str(data_dir), name), data_dir / f"{name}.log")
            for name in names
        ]
        launched = time.perf_counter()
        for proc in procs:
            proc.start()
        while not connected(rt, names):
            if not all(p.alive() for p in procs) or time.perf_counter() - launched > READY_SECONDS:
                raise RuntimeError(f"a worker did not come up; see {data_dir}")
            time.sleep(POLL_SECONDS)
        ready = time.perf_counter()
        servers = backends(rt)
        cpu_before = cpu_now(procs, servers)
        store_backlog(rt, tenant_id, account_id, mentions)
        cpu_before["bench"] = time.process_time()  # storing the backlog is the bench's, not the fakes'
        first: float | None = None
        finished = False
        while time.perf_counter() - ready < deadline_s:
            received, pending, delivered = left(rt)
            if first is None and (received < total or delivered > 0):
                first = time.perf_counter()
            if received == 0 and pending == 0:
                finished = True
                break
            if not all(p.alive() for p in procs):
                raise RuntimeError(f"a worker died; see {data_dir}")
            time.sleep(POLL_SECONDS)
        ended = time.perf_counter()
        cpu = cpu_ms_per_mention(cpu_before, cpu_now(procs, sorted(set(servers) | set(backends(rt)))), total)
        counts = rt.store.counts()
    finally:
        for proc in procs:
            proc.stop()
        rt.db.dispose()
    started = first if first is not None else ended
    lost, duplicates = audit(fakes, [f"x:{m.external_id}" for m in mentions])
    drained = ended - started
    return {
        "workers": workers,
        "mentions": total,
        "finished": finished,
        "startup_s": round(ready - launched, 2),
        "seconds": round(drained, 2),
        "per_s": round(total / drained, 1) if finished and drained > 0 else 0.0,
        "delivered": counts["deliveries_delivered"],
        "failed": counts["deliveries_failed"],
        "lost": lost,
        "duplicates": duplicates,
        "cpu_ms_per_mention": cpu,
    }


def zendesk_inbound_ids(fakes: Fakes) -> list[str]:
    """The external id of every inbound comment on every ticket of the Zendesk fake (repeats kept)."""
    return [
        c["external_id"]
        for ticket in fakes.zd_state.tickets_with_comments(SUBDOMAIN)
        for c in ticket["comments"]
        if c.get("external_id") and not c.get("channelback")
    ]


def audit(fakes: Fakes, keys: list[str]) -> tuple[int, int]:
    """From the fakes' own records: mentions missing in either CRM, and extra copies in either."""
    wanted = set(keys)
    in_zendesk = Counter(k for k in zendesk_inbound_ids(fakes) if k in wanted)
    in_salesforce = Counter(
        p.get("R6PostId")
        for p in fakes.org.records("SocialPost")
        if not p.get("IsOutbound") and p.get("R6PostId") in wanted
    )
    lost = sum(1 for k in wanted if k not in in_zendesk) + sum(1 for k in wanted if k not in in_salesforce)
    duplicates = sum(n - 1 for n in in_zendesk.values()) + sum(n - 1 for n in in_salesforce.values())
    return lost, duplicates


def run(
    quick: bool = False, mentions: int | None = None, latency: float = LATENCY, keep: bool = False
) -> dict[str, Any]:
    # SIGTERM (a timeout, CI cancelling) unwinds like Ctrl-C, so the processes started here are stopped.
    signal.signal(signal.SIGTERM, _terminate)
    total = mentions if mentions is not None else (300 if quick else 3000)
    deadline_s = 300.0 if quick else 1800.0
    data_dir = Path(tempfile.mkdtemp(prefix="horseshoe-scale-"))
    results = []
    try:
        for workers in WORKER_COUNTS:
            fakes = Fakes(latency)  # fresh CRMs per worker count (see the module's docstring)
            try:
                with database("postgres") as url:
                    run_dir = data_dir / f"w{workers}"
                    run_dir.mkdir()
                    results.append(one_run(fakes, url, workers, total, run_dir, deadline_s))
            finally:
                fakes.stop()
    finally:
        if not keep:
            shutil.rmtree(data_dir, ignore_errors=True)
    show(results, latency)
    rates = {r["workers"]: r["per_s"] for r in results}
    return {
        "per_s_1": rates[1],
        "per_s_2": rates[2],
        "per_s_3": rates[3],
        "speedup_2": round(rates[2] / rates[1], 2) if rates[1] else 0.0,
        "speedup_3": round(rates[3] / rates[1], 2) if rates[1] else 0.0,
        "lost": sum(r["lost"] for r in results),
        "duplicates": sum(r["duplicates"] for r in results),
        "mentions": total,
        "finished": all(r["finished"] for r in results),
        "failed": sum(r["failed"] for r in results),
        "crm_latency_s": latency,
        # Host CPU per mention (all processes of the run): flat from 1 to 3 workers means adding
        # workers costs no contention (spinning, lock retries); the 3-worker rate is then bounded by
        # the cores over this cost, whatever a lone worker's rate.
        "cpu_ms_1": round(sum(results[0]["cpu_ms_per_mention"].values()), 2),
        "cpu_ms_3": round(sum(results[-1]["cpu_ms_per_mention"].values()), 2),
        "cores": os.cpu_count(),
        "runs": results,
    }


def show(results: list[dict[str, Any]], latency: float) -> None:
    table = Table(title=f"Scale-out on PostgreSQL (CRM latency {latency * 1000:.0f} ms per call)")
    for column in ("workers", "mentions", "finished", "start-up s", "drain s", "mentions/s", "lost", "duplicates"):
        table.add_column(column)
    for r in results:
        table.add_row(*(str(r[k]) for k in ("workers", "mentions", "finished", "startup_s", "seconds", "per_s",
                                              "lost", "duplicates")))  # fmt: skip
    Console(stderr=True).print(table)
