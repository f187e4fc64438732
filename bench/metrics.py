"""``/api/metrics`` over 1,000,000 stored mentions against a plain ``COUNT(*)`` of the same table.

One tenant, three brand accounts on three networks, mentions spread over 90 days (80 % answered,
60 % solved, a realistic mix of intents and sentiments), stored through the store's bulk import so
facts and the hourly rollup are written exactly as routing writes them. Then, in the same process
and database (SQLite, WAL): the median of 5 requests ``GET /api/metrics`` over the whole 90 days
(authenticated like Zendesk's app), and the median of 5 ``SELECT COUNT(*) FROM mentions``. The API
reads the rollup (about hours x accounts x networks rows), so its time does not grow with the
mentions, while the count has to visit every row. ``--quick``: 50,000 mentions.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console
from rich.table import Table

from plugin.config import Settings
from plugin.runtime import build_runtime
from plugin.web import create_app
from plugin.zendesk.instances import with_instance
from plugin.zendesk.tokens import InstanceMetadata, issue_metadata

NETWORKS = ("x", "facebook", "mastodon")
INTENTS = ("question", "complaint", "praise", "order_status", "feedback")
SENTIMENTS = ("positive", "neutral", "negative")
DAYS = 90
CHUNK = 20_000
RUNS = 5


def _facts(rng: random.Random, start: int, count: int, end: datetime) -> list[dict[str, Any]]:
    out = []
    for i in range(start, start + count):
        created = end - timedelta(seconds=rng.uniform(0, DAYS * 86400))
        fact: dict[str, Any] = {
            "external_id": f"m{i}",
            "created_at": created,
            "labels": {"intent": rng.choice(INTENTS), "sentiment": rng.choice(SENTIMENTS)},
        }
        if rng.random() < 0.8:
            fact["first_reply_at"] = created + timedelta(minutes=rng.expovariate(1 / 90))
            if rng.random() < 0.75:
                fact["solved_at"] = fact["first_reply_at"] + timedelta(hours=rng.expovariate(1 / 8))
        out.append(fact)
    return out


def _median_ms(action: Any) -> float:
    times = []
    for _ in range(RUNS):
        began = time.perf_counter()
        action()
        times.append((time.perf_counter() - began) * 1000.0)
    return round(statistics.median(times), 2)


def run(quick: bool = False) -> dict[str, Any]:
    total = 50_000 if quick else 1_000_000
    console = Console(stderr=True)
    data_dir = tempfile.mkdtemp(prefix="horseshoe-bench-metrics-")
    rt = build_runtime(Settings(data_dir=data_dir, secret_key="bench-metrics", public_url="http://127.0.0.1:9"))
    tenant_id = rt.store.ensure_tenant("bench")
    rt.store.set_sink_connection(
        tenant_id, "zendesk", with_instance(None, "bench", "push-bench", "tok", "http://127.0.0.1:9")
    )
    accounts = {
        n: rt.store.upsert_account(tenant_id, n, f"brand-{n}", {"token": "t"}, handle="brand") for n in NETWORKS
    }
    metadata = issue_metadata(rt.box, InstanceMetadata(tenant="bench", account_ids=tuple(accounts.values()), name="b",
                                                       instance="push-bench"))  # fmt: skip
    rng = random.Random(16)
    end = datetime.now(UTC)
    began = time.perf_counter()
    stored = 0
    while stored < total:
        count = min(CHUNK, total - stored)
        network = NETWORKS[(stored // CHUNK) % len(NETWORKS)]
        rt.store.service.import_history(tenant_id, accounts[network], network, _facts(rng, stored, count, end))
        stored += count
        console.print(f"stored {stored:,} / {total:,} mentions", end="\r")
    load_s = time.perf_counter() - began
    client = create_app(rt).test_client()
    since = (end - timedelta(days=DAYS)).strftime("%Y-%m-%dT%H:%M:%SZ")
    query = {"since": since, "until": end.strftime("%Y-%m-%dT%H:%M:%SZ")}
    headers = {"Authorization": f"Bearer {metadata}"}

    def api() -> None:
        answer = client.get("/api/metrics", query_string=query, headers=headers)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        assert answer.get_json()["totals"]["mentions"] == total

    def count_query() -> None:
        assert rt.store.service.mention_count() == total

    api()  # warm: the first request builds the app's templates
    api_ms = _median_ms(api)
    count_ms = _median_ms(count_query)
    rollup_rows = len(rt.store.service.hours(tenant_id, end - timedelta(days=DAYS + 1), end + timedelta(hours=1)))
    table = Table(title=f"/api/metrics over {total:,} mentions ({DAYS} days) vs COUNT(*)")
    for column in ("what", "median ms"):
        table.add_column(column)
    table.add_row("GET /api/metrics (whole period, every figure)", f"{api_ms:.2f}")
    table.add_row("SELECT COUNT(*) FROM mentions", f"{count_ms:.2f}")
    console.print(table)
    rt.db.dispose()
    return {
        "mentions": total,
        "rollup_rows": rollup_rows,
        "api_ms": api_ms,
        "count_ms": count_ms,
        "api_vs_count": round(api_ms / count_ms, 3) if count_ms else None,
        "load_seconds": round(load_s, 1),
    }
