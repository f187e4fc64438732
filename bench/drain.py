"""Draining a backlog: mentions per second and CRM calls per mention, at two backlog sizes.

A backlog of mentions (one author per ``AUTHOR_SHARE`` mentions) is stored first (not
timed), then the in-process worker (``Worker.run_once``, the loop ``horseshoe serve`` runs) routes and
delivers it to the Zendesk fake (Channel Framework push, connected without REST credentials, the
case of issue 11's finding 1) and the Salesforce fake (sObject Collections, identity on). Both
fakes answer after ``LATENCY`` seconds per call and count every request. The baseline is the same
code on a 1,000-mention backlog in the same run: per-mention cost must not grow with the backlog
(goal: the big backlog drains within 20% of the small one's rate). Full run: 1,000 and 100,000
mentions (``--size N`` to pick the big one); ``--quick``: 500 and 2,000, each given 20 s
(a run that does not finish reports its rate over those 20 s and ``finished: false``).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.identity import Counted
from plugin.config import Settings
from plugin.models import Author, Mention
from plugin.runtime import build_runtime
from plugin.store.intake import IntakeTransaction
from plugin.store.repo import Store
from plugin.worker.loop import Worker
from sandbox.base.service import MEASURING_CRM_LATENCY, ServiceSettings
from sandbox.salesforce.org import RunningOrg, start_org
from sandbox.server import RunningServer, serve_in_thread
from sandbox.zendesk import create_app as create_zendesk
from sandbox.zendesk.models import ZendeskState

SUBDOMAIN = "bench"
LATENCY = MEASURING_CRM_LATENCY  # seconds per CRM call (issue 11: the fakes' realistic setting)
AUTHOR_SHARE = 3  # one author per this many mentions
STORE_BATCH = 500  # mentions per INSERT when the backlog is stored (SQLite allows 32,766 parameters)
MANIFEST = {
    "name": "Horseshoe bench",
    "id": "com.example.horseshoe-bench",
    "author": "bench",
    "version": "v1",
    "push_client_id": "zd_horseshoe_bench",
    "urls": {"admin_ui": "https://integration.example/admin_ui"},
}


def backlog(total: int, seed: int = 0) -> list[Mention]:
    authors = max(1, total // AUTHOR_SHARE)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    return [
        Mention(
            network="x", external_id=f"p{seed}-{n}", thread_id=f"p{seed}-{n}",
            author=Author(external_id=f"a{seed}-{n % authors}", handle=f"h{n % authors}", name=f"Person {n % authors}"),
            text=f"my order {n} never arrived @brand", created_at=start + timedelta(seconds=n), account="brand",
        )
        for n in range(total)
    ]  # fmt: skip


def store_backlog(store: Store, tenant_id: int, account_id: int, mentions: list[Mention]) -> None:
    """Store ``mentions`` into the inbox the way a webhook batch is stored (``IntakeTransaction.
    insert_many``: one multi-row INSERT per ``STORE_BATCH``), not one transaction per mention: the
    rows are the same, and a 100,000 backlog is stored in seconds instead of half an hour."""
    for start in range(0, len(mentions), STORE_BATCH):
        batch = mentions[start : start + STORE_BATCH]
        ids = store.intake.run(partial(_insert, tenant_id=tenant_id, account_id=account_id, batch=batch))
        if None in ids:
            raise RuntimeError("a backlog mention was stored twice: the bench's external ids must be unique")


def _insert(tx: IntakeTransaction, *, tenant_id: int, account_id: int, batch: list[Mention]) -> list[int | None]:
    return tx.insert_many(tenant_id, account_id, batch)


class Fakes:
    """The Zendesk and Salesforce fakes, ``latency`` seconds per API call, each counting its calls;
    ``limits`` {"zendesk"|"salesforce": (calls, window seconds)} gives one a request budget (then 429)."""

    def __init__(self, latency: float, limits: dict[str, tuple[int, float]] | None = None):
        limits = limits or {}
        self.zd_state = ZendeskState()
        self.zd_state.create_account(SUBDOMAIN, admin_name="Ada Admin", admin_email="ada@bench.example")
        pending = self.zd_state.begin_install(SUBDOMAIN, "https://integration.example/manifest.json", MANIFEST)
        self.instance = self.zd_state.finish_install(pending.instance_push_id, "Brand", '{"account": "brand"}', None)
        zd_limit, zd_window = limits.get("zendesk", (None, 60.0))
        zd_settings = ServiceSettings(latency=latency, rate_limit=zd_limit, rate_window=zd_window)
        self.zd = Counted(create_zendesk(state=self.zd_state, settings=zd_settings))
        self.zd_server: RunningServer = serve_in_thread(self.zd)
        self.org: RunningOrg = start_org("bench")
        self.org.app.set_latency(latency)
        if "salesforce" in limits:
            self.org.app.set_rate_limit(*limits["salesforce"])

    def zendesk_config(self) -> dict[str, Any]:
        return {"subdomain": SUBDOMAIN, "api_base": self.zd_server.url,
                "instance_push_id": self.instance.instance_push_id,
                "zendesk_access_token": self.instance.zendesk_access_token}  # fmt: skip

    def connect_brand(self, store: Store) -> tuple[int, int]:
        """The bench tenant with one X account ("brand") and both CRMs connected to these fakes:
        (tenant id, account id)."""
        tenant_id = store.ensure_tenant(SUBDOMAIN)
        account_id = store.upsert_account(tenant_id, "x", "brand", {"user_access_token": "t"}, handle="brand")
        store.set_sink_connection(tenant_id, "zendesk", self.zendesk_config())
        store.set_sink_connection(tenant_id, "salesforce", self.org.sink_config())
        return tenant_id, account_id

    def stop(self) -> None:
        self.zd_server.stop()
        self.org.stop()


def drain(fakes: Fakes, total: int, data_dir: str, deadline_s: float) -> dict[str, Any]:
    """Store ``total`` mentions, then time the worker until every delivery is done."""
    rt = build_runtime(
        Settings(
            data_dir=data_dir,
            secret_key="bench-secret-key-not-for-production",
            allowed_private_hosts="127.0.0.1,localhost",  # the fakes run here (plugin/egress.py)
        )
    )
    try:
        tenant_id, account_id = fakes.connect_brand(rt.store)
        # The backlog is stored straight into the inbox (what ingest commits first); the
        # ``horseshoe_mention_stored`` observers are not part of draining and would only make the
        # set-up slow.
        stored = time.perf_counter()
        store_backlog(rt.store, tenant_id, account_id, backlog(total, seed=total))
        store_ms = (time.perf_counter() - stored) * 1000 / total
        zd_before, sf_before = fakes.zd.count, fakes.org.calls()
        worker = Worker(rt, owner="bench")
        started, cpu_started = time.perf_counter(), time.process_time()
        ticks = 0
        while time.perf_counter() - started < deadline_s:
            ticks += 1
            # The queue sizes are counted only when a tick found nothing to do: counting every table
            # after every tick costs in proportion to the backlog and was billed to the drain rate.
            if worker.run_once().busy:
                continue
            counts = rt.store.counts()
            if counts["mentions_pending"] == 0 and counts["deliveries_pending"] == 0:
                break
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        counts = rt.store.counts()
        done = counts["mentions"] - counts["mentions_pending"]
        return {
            "mentions": total,
            "store_ms_per_mention": round(store_ms, 2),
            "routed": done,
            "delivered": counts["deliveries_delivered"],
            "finished": counts["mentions_pending"] == 0 and counts["deliveries_pending"] == 0,
            "seconds": round(elapsed, 2),
            "mentions_per_s": round(done / elapsed, 1),
            # This process's CPU (worker and the in-process fakes) per mention drained: unlike the
            # rate, hardly moved by what else the host runs.
            "cpu_ms_per_mention": round(1000 * cpu / max(1, done), 2),
            "ticks": ticks,
            "zendesk_calls": fakes.zd.count - zd_before,
            "salesforce_calls": fakes.org.calls() - sf_before,
        }
    finally:
        rt.db.dispose()


def run(quick: bool = False, size: int | None = None) -> dict[str, Any]:
    small, big = (500 if quick else 1000), size or (2000 if quick else 100_000)
    fakes = Fakes(LATENCY)
    try:
        with tempfile.TemporaryDirectory(prefix="horseshoe-drain-") as tmp:
            # Warm-up, not reported: the language models load on first use (seconds on a busy
            # machine), which would otherwise be billed to the small backlog alone.
            drain(fakes, 60, f"{tmp}/warm", deadline_s=120)
            first = drain(fakes, small, f"{tmp}/small", deadline_s=20 if quick else 600)
            second = drain(fakes, big, f"{tmp}/big", deadline_s=20 if quick else 6 * 3600)
    finally:
        fakes.stop()
    table = Table(title=f"Draining a backlog (CRM latency {LATENCY * 1000:.0f} ms per call, SQLite)")
    columns = ("backlog", "store ms/mention", "finished", "seconds", "mentions/s", "Zendesk calls/mention",
               "Salesforce calls/mention")  # fmt: skip
    for column in columns:
        table.add_column(column)
    for r in (first, second):
        table.add_row(
            f"{r['mentions']:,}", str(r["store_ms_per_mention"]), str(r["finished"]), str(r["seconds"]),
            str(r["mentions_per_s"]),
            f"{r['zendesk_calls'] / max(1, r['delivered'] // 2):.4f}",
            f"{r['salesforce_calls'] / max(1, r['delivered'] // 2):.4f}",
        )  # fmt: skip
    Console().print(table)
    both = first["mentions"] + second["mentions"]
    return {
        "small_backlog": small,
        "mentions_per_s_1k": first["mentions_per_s"],
        "mentions_per_s_big": second["mentions_per_s"],
        "mentions_per_s_100k": second["mentions_per_s"] if big == 100_000 else None,
        "big_backlog": big,
        "big_over_small": round(second["mentions_per_s"] / max(0.1, first["mentions_per_s"]), 3),
        "finished": first["finished"] and second["finished"],
        "zendesk_calls_per_mention": round((first["zendesk_calls"] + second["zendesk_calls"]) / both, 4),
        "salesforce_calls_per_mention": round((first["salesforce_calls"] + second["salesforce_calls"]) / both, 4),
        "crm_latency_s": LATENCY,
        "store_ms_per_mention": round((first["store_ms_per_mention"] + second["store_ms_per_mention"]) / 2, 2),
        "cpu_ms_per_mention_1k": first["cpu_ms_per_mention"],
        "cpu_ms_per_mention_big": second["cpu_ms_per_mention"],
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``python -m bench drain --size N``: the big backlog (default 100,000; 2,000 with --quick)."""
    parser.add_argument("--size", type=int, default=None, help="mentions in the big backlog")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    add_arguments(parser)
    args = parser.parse_args()
    import json

    print(json.dumps(run(args.quick, args.size)))
