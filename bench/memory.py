"""Memory while mentions pass through: RSS of ``horseshoe serve`` and ``horseshoe worker`` over a long run.

``python -m bench memory [--quick] [--mentions N] [--store sqlite|postgres]`` starts ``horseshoe serve
--no-worker`` and one ``horseshoe worker`` (real processes, on a SQLite file or a throwaway PostgreSQL
database) and feeds them ``N`` mentions (default 1,000,000; ``--quick``: 20,000): the bench stores
them into the inbox in chunks (what ingest commits), keeping the backlog bounded so the run measures
the pipeline, not the queue; the worker routes each one and delivers it to the Zendesk fake (Channel
Framework push) and the Salesforce fake (sObject Collections), both answering at once (memory, not
latency, is measured). Authors keep coming (one per three mentions), as on a brand's bad day.

Every ``--every`` mentions (default: 40 points over the run) the bench samples the RSS of both process
groups (gunicorn's master and its worker included) from /proc and prints a checkpoint line with the
rate since the warm-up and the time left (and what 1,000,000 would take at that rate); with
``--curve-file`` each sample is also appended to that file as a JSON line as it is taken, so a run of
hours that is stopped keeps its curve. ``rss_growth_mb`` is the RSS at the end minus the RSS once the
first ``WARM_UP`` share of mentions went through (imports, pools and caches filled); goal < 50 MB over
1,000,000. ``curve`` holds (mentions done, RSS MB) samples to see where growth happens;
``mentions_per_s`` the rate after the warm-up and ``eta_1m_s`` what a 1,000,000 run takes at it.

There is no resuming a stopped run: RSS growth is a property of one process's life, and restarted
processes start from a fresh heap. What bounds the rate is the worker's CPU per mention (one process,
one core: triage, identity, the group-committed writes; BENCHMARKS.md "Memory"), not the fakes, which
answer at once here; more worker processes would each see only part of the mentions and so measure
less.

The Salesforce fake archives all but the newest ``ARCHIVE_KEEP`` records of each object the sink
writes after every chunk: its queries and allOrNone checkpoints walk every record, and without that
the 1,000,000 run slowed from ~250 to ~45 mentions/s by 100,000 mentions with the bench process (the
fakes), not the worker, on the CPU (py-spy: ``SalesforceState.checkpoint`` 69% of its samples).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from bench.drain import Fakes, backlog, store_backlog
from bench.pipeline import _terminate, database, free_port
from bench.procs import Fleet
from plugin.config import Settings
from plugin.runtime import build_runtime
from plugin.store import tables as t
from plugin.store.statuses import DeliveryStatus, MentionStatus

SECRET = "bench-secret-key-not-for-production"
CHUNK = 1000  # mentions stored per step
MAX_BACKLOG = 2000  # the bench waits while more than this many are still pending
WARM_UP = 0.1  # share of the mentions after which growth is counted
CURVE_POINTS = 40
MILLION = 1_000_000
# What the Salesforce fake keeps of each object the sink writes (``SalesforceState.archive``): its
# queries walk every record, so a million SocialPosts would make each call cost seconds and the run
# measure the fake. Authors here never come back after their three mentions, so nothing archived is
# named again; horseshoe's processes, whose memory is measured, hold none of it.
ARCHIVED_SOBJECTS = ("SocialPost", "SocialPersona", "Contact", "Case", "CaseComment", "Account", "Lead")
ARCHIVE_KEEP = 5_000
# The org's daily API allocation: a large Unlimited Edition org (100,000 + 5,000 a licence, up to
# millions). The fake's default is a Developer Edition's 15,000, and horseshoe rightly stops calling an
# org at 80% of its allocation (``plugin/salesforce/api.py``): at ~0.02 calls a mention the 1,000,000
# run stopped delivering at ~600,000 mentions (2026-12-01), which is the guard, not a memory figure.
SALESFORCE_DAILY_CALLS = 5_000_000
STALL_SECONDS = 120.0  # no progress for this long fails the run (its logs say why)
PAGE = os.sysconf("SC_PAGE_SIZE")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mentions", type=int, default=None, help="default 1,000,000 (--quick: 20,000)")
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--keep", action="store_true", help="keep the data directory and process logs")
    parser.add_argument("--every", type=int, default=None, help="sample RSS every N mentions (default: 40 samples)")
    parser.add_argument("--curve-file", default=None, help="append each sample to this file as a JSON line")


def group_rss_mb(pgid: int) -> float:
    """Resident memory of every process in the process group ``pgid`` (gunicorn master + workers)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid:  # field 5 of stat: the process group
                continue
            total += int(Path(f"/proc/{entry}/statm").read_text().split()[1]) * PAGE
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue  # the process ended while being read
    return total / 1024 / 1024


def run(
    quick: bool = False,
    mentions: int | None = None,
    store: str = "sqlite",
    keep: bool = False,
    every: int | None = None,
    curve_file: str | None = None,
) -> dict[str, Any]:
    # SIGTERM (a timeout, CI cancelling) unwinds like Ctrl-C, so the processes started here are stopped.
    signal.signal(signal.SIGTERM, _terminate)
    total = mentions if mentions is not None else (20_000 if quick else 1_000_000)
    data_dir = Path(tempfile.mkdtemp(prefix="horseshoe-memory-"))
    fakes = Fakes(0.0)
    fakes.org.state.set_api_limit(SALESFORCE_DAILY_CALLS, org_id=fakes.org.org_id)
    ok = False
    try:
        with database(store) as url:
            result = feed(fakes, url, total, data_dir, every, Path(curve_file) if curve_file else None)
            ok = result["finished"]
    finally:
        fakes.stop()
        if ok and not keep:
            shutil.rmtree(data_dir, ignore_errors=True)
    result["data_dir"] = None if ok and not keep else str(data_dir)
    show(result)
    return result


class Checkpoints:
    """The samples of a run: kept, printed as they are taken (with the rate and the time left) and,
    with a curve file, appended to it at once."""

    def __init__(self, total: int, groups: dict[str, int], curve_file: Path | None):
        self.total, self.groups, self.curve_file = total, groups, curve_file
        self.samples: list[tuple[int, float]] = []
        self.started = time.perf_counter()
        self.warm: tuple[int, float] | None = None  # (done, time) once the warm-up share went through

    def rate(self, done: int, now: float) -> float | None:
        """Mentions a second since the warm-up (since the start until a sample after it)."""
        since_done, since = self.warm if self.warm and done > self.warm[0] else (0, self.started)
        return (done - since_done) / (now - since) if now > since and done > since_done else None

    def take(self, done: int) -> None:
        now = time.perf_counter()
        per_group = {name: round(group_rss_mb(pgid), 1) for name, pgid in self.groups.items()}
        rss = round(sum(per_group.values()), 1)
        self.samples.append((done, rss))
        if self.warm is None and done >= self.total * WARM_UP:
            self.warm = (done, now)
        rate = self.rate(done, now)
        left = f", {(self.total - done) / rate:.0f} s left, 1M in {MILLION / rate / 3600:.1f} h" if rate else ""
        # As it goes, so a run stopped early still shows its curve.
        print(f"memory: {done:,} mentions done, RSS {rss} MB {per_group}, {now - self.started:.0f} s, "
              f"{rate or 0:.0f}/s{left}", file=sys.stderr, flush=True)  # fmt: skip
        if self.curve_file is not None:
            line = {"done": done, "rss_mb": rss, "by_process": per_group, "seconds": round(now - self.started, 1)}
            with self.curve_file.open("a", encoding="utf-8") as out:
                out.write(json.dumps(line) + "\n")


def feed(
    fakes: Fakes, url: str, total: int, data_dir: Path, every: int | None = None, curve_file: Path | None = None
) -> dict[str, Any]:
    settings = Settings(data_dir=str(data_dir), database_url=url, secret_key=SECRET,
                        allowed_private_hosts="127.0.0.1,localhost")  # fmt: skip
    rt = build_runtime(settings)
    env = {
        "HORSESHOE_DATA_DIR": str(data_dir),
        "HORSESHOE_DATABASE_URL": settings.resolved_database_url,
        "HORSESHOE_SECRET_KEY": SECRET,
        "HORSESHOE_ALLOWED_PRIVATE_HOSTS": "127.0.0.1,localhost",
        "HORSESHOE_BROKER_URL": "",
        "HORSESHOE_LOG_LEVEL": "WARNING",
    }
    fleet = Fleet(env, free_port(), 1, data_dir)
    started = time.perf_counter()
    try:
        tenant_id, account_id = fakes.connect_brand(rt.store)
        fleet.start()
        groups = {p.name: p.popen.pid for p in fleet.procs if p.popen is not None}
        points = Checkpoints(total, groups, curve_file)
        stored = 0
        step = max(1, (every or total // CURVE_POINTS) // CHUNK)  # in chunks
        chunk_no = 0
        while stored < total:
            size = min(CHUNK, total - stored)
            store_backlog(rt.store, tenant_id, account_id, backlog_chunk(stored, size))
            stored += size
            done = wait_below(rt, fleet, stored, MAX_BACKLOG)
            fakes.org.state.archive(fakes.org.org_id, ARCHIVED_SOBJECTS, ARCHIVE_KEEP)
            if chunk_no % step == 0:
                points.take(done)
            chunk_no += 1
        done = wait_below(rt, fleet, stored, 0)
        points.take(done)
        counts = rt.store.counts()
    finally:
        fleet.stop()
        rt.db.dispose()
    samples = points.samples
    warm = next((rss for n, rss in samples if n >= total * WARM_UP), samples[0][1])
    rate = points.rate(total, time.perf_counter())
    return {
        "mentions": total,
        "rss_growth_mb": round(samples[-1][1] - warm, 1),
        "rss_peak_mb": max(rss for _n, rss in samples),
        "rss_warm_mb": warm,
        "rss_end_mb": samples[-1][1],
        "finished": counts["mentions_pending"] == 0 and counts["deliveries_pending"] == 0,
        "delivered": counts["deliveries_delivered"],
        "seconds": round(time.perf_counter() - started, 1),
        "mentions_per_s": round(rate, 1) if rate else None,
        "eta_1m_s": round(MILLION / rate) if rate else None,
        "curve": samples,
    }


def backlog_chunk(offset: int, size: int) -> list[Any]:
    """Mentions ``offset .. offset+size`` of the run, new authors coming all along (one per three)."""
    chunk = backlog(size, seed=offset)
    return chunk


def pending_work(rt: Any) -> int:
    """Mentions not yet routed plus deliveries not yet done (two per mention), counted through the
    status indexes: ``store.counts()`` also counts every stored mention and delivered delivery, a
    scan of millions of rows five times a second that would compete with the worker for the CPU."""
    m, d = t.mentions.c, t.deliveries.c
    with rt.db.read() as conn:
        received = conn.execute(select(func.count()).where(m.status == MentionStatus.RECEIVED)).scalar_one()
        deliveries = conn.execute(select(func.count()).where(d.status == DeliveryStatus.PENDING)).scalar_one()
    return int(received) + int(deliveries) // 2


def wait_below(rt: Any, fleet: Fleet, stored: int, backlog_limit: int) -> int:
    """Wait until at most ``backlog_limit`` mentions are pending; return how many are done."""
    last_done, last_change = -1, time.monotonic()
    while True:
        pending = pending_work(rt)
        done = stored - pending
        if pending <= backlog_limit:
            return done
        if done != last_done:
            last_done, last_change = done, time.monotonic()
        elif time.monotonic() - last_change > STALL_SECONDS:
            raise RuntimeError(
                f"no progress for {STALL_SECONDS:.0f}s at {done} mentions; see the logs in {fleet.log_dir}"
            )
        if not all(p.alive() for p in fleet.procs):
            raise RuntimeError(f"a horseshoe process died; see the logs in {fleet.log_dir}")
        time.sleep(0.2)


def show(result: dict[str, Any]) -> None:
    table = Table(title=f"RSS of serve + worker over {result['mentions']:,} mentions")
    table.add_column("mentions done")
    table.add_column("RSS MB", justify="right")
    for done, rss in result["curve"]:
        table.add_row(f"{done:,}", str(rss))
    Console(stderr=True).print(table)
