"""Triage cost: mentions/s through every triage hook, and the cost triage adds per mention to ingest.

Two measurements in one run, on the project's labelled posts (tests/data/triage, cycled to N mentions
from N/5 authors, one in three a reply in a thread; ``--quick``: 400, else 2,000):
1. triage alone: the merged labels of every ``horseshoe_triage`` plugin (language, intent, sentiment,
   PII, priority, engage), as ``route`` computes them but without a store: mentions/s, mean, p95;
2. ingest + route on a fresh SQLite store, once with the built-in triage plugins (triage, escalation and
   praise observers) and once with them unregistered (the baseline: what ingest costs without triage);
   the difference per mention is what triage adds, store look-ups included. Goal: < 2 ms on average.
   Both runs hold one database connection open throughout (see ``ingest_and_route``).
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from plugin.config import Settings
from plugin.context import Tenant, tenant_context
from plugin.models import Author, Mention
from plugin.pipeline import inbound as pipeline
from plugin.plugins import Hooks, get_plugin_manager
from plugin.runtime import build_runtime
from plugin.triage import merge_labels

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "triage"
TRIAGE_PLUGINS = ("triage", "triage_escalation", "triage_praise")


def texts() -> list[str]:
    rows = []
    for name in ("train.jsonl", "eval.jsonl"):
        rows += [json.loads(line)["text"] for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line]
    return rows


def mentions(total: int) -> list[Mention]:
    pool = texts()
    start = datetime.now(UTC) - timedelta(minutes=30)
    # Every third mention follows up on an earlier one (a reply in a thread): those take the longer
    # path through the store look-ups (loops and echoes are only possible in answers).
    return [
        Mention(
            network="x",
            external_id=f"b{n}",
            thread_id=f"b{n - n % 3}",
            parent_id=f"b{n - 1}" if n % 3 else None,
            author=Author(external_id=f"a{n % max(1, total // 5)}", handle=f"user{n % max(1, total // 5)}"),
            text=pool[n % len(pool)],
            created_at=start + timedelta(milliseconds=n),
            url=f"https://x.example/b{n}",
            account="brand",
        )
        for n in range(total)
    ]


def triage_alone(batch: list[Mention]) -> list[float]:
    hooks = Hooks(get_plugin_manager(load_entry_points=False))
    tenant = Tenant(id=1, key="bench")
    with tenant_context(tenant):
        for mention in batch[:50]:  # warm-up: language models and the classifier load once per process
            merge_labels(hooks.triage(mention))
        times = []
        for mention in batch:
            started = time.perf_counter()
            merge_labels(hooks.triage(mention))
            times.append(time.perf_counter() - started)
    return times


def ingest_and_route(batch: list[Mention], with_triage: bool) -> float:
    """Seconds to ingest and route ``batch`` on a fresh store (no CRM connected: no delivery)."""
    pm = get_plugin_manager(load_entry_points=False)
    if not with_triage:
        for name in TRIAGE_PLUGINS:
            pm.unregister(name=name)
    with tempfile.TemporaryDirectory(prefix="horseshoe-bench-triage-") as data_dir:
        runtime = build_runtime(Settings(data_dir=data_dir, secret_key="bench-" + "k" * 40), pm=pm)
        # Both runs hold one connection open for their whole duration, as a running service does.
        # Triage's read pool keeps connections open anyway; without this the baseline alone would pay
        # SQLite's WAL checkpoint on every transaction (the last connection's close) and look slower.
        keeper = runtime.db.engine.connect()
        try:
            tenant_id = runtime.store.ensure_tenant("bench")
            account_id = runtime.store.upsert_account(tenant_id, "x", "brand", {})
            account = runtime.store.account(account_id)[0]  # type: ignore[index]
            # Warm both runs the same way (models, SQLite pages).
            warm = [m.model_copy(update={"external_id": "w" + m.external_id}) for m in mentions(20)]
            pipeline.ingest(runtime, account, warm)
            pipeline.route(runtime, "bench", limit=100)
            started = time.perf_counter()
            for start in range(0, len(batch), 50):
                pipeline.ingest(runtime, account, batch[start : start + 50])
                routed = pipeline.route(runtime, "bench", limit=50)
                assert routed == len(batch[start : start + 50])
            return time.perf_counter() - started
        finally:
            keeper.close()
            runtime.db.dispose()


def run(quick: bool = False) -> dict[str, Any]:
    total = 400 if quick else 2000
    batch = mentions(total)
    times = triage_alone(batch)
    mean_ms = statistics.fmean(times) * 1000
    p95_ms = sorted(times)[int(len(times) * 0.95)] * 1000
    with_triage = ingest_and_route(batch, with_triage=True)
    without = ingest_and_route(batch, with_triage=False)
    added_ms = (with_triage - without) / total * 1000
    table = Table(title=f"Triage of {total} mentions (labelled posts, 10 languages)")
    for column in ("measure", "value"):
        table.add_column(column)
    table.add_row("triage alone: mentions/s", f"{total / sum(times):,.0f}")
    table.add_row("triage alone: mean / p95 per mention", f"{mean_ms:.2f} ms / {p95_ms:.2f} ms")
    table.add_row("ingest + route, no triage (baseline)", f"{without / total * 1000:.2f} ms/mention")
    table.add_row("ingest + route, with triage", f"{with_triage / total * 1000:.2f} ms/mention")
    table.add_row("added by triage (goal < 2 ms)", f"{added_ms:.2f} ms/mention")
    Console().print(table)
    return {
        "mentions": total,
        "triage_mentions_per_second": round(total / sum(times), 1),
        "triage_mean_ms": round(mean_ms, 3),
        "triage_p95_ms": round(p95_ms, 3),
        "ingest_ms_per_mention_without_triage": round(without / total * 1000, 3),
        "ingest_ms_per_mention_with_triage": round(with_triage / total * 1000, 3),
        "added_ms_per_mention": round(added_ms, 3),
        "goal_ms": 2.0,
    }
