"""Webhook ingest: signed Messenger webhooks per second and response times, against hello-world.

``horseshoe serve`` runs as a real process (gunicorn, its default workers and threads, its worker
process routing what arrives, file SQLite) beside the Meta Graph fake its Messenger account points at.
The baseline, in the same run, is a hello-world Flask app under the very same gunicorn set-up
(``bench/_hello.py``: ``HorseshoeServer`` with only the app replaced), sent the same bodies.

Each webhook carries one Messenger message in the fake's own wire format (a body the fake queued,
its ``mid`` made unique per webhook), signed with the app secret as Meta signs it. 16, then 64
concurrent clients (one keep-alive connection each) send a fixed number of requests, hello-world
first, then webhooks; every response time is kept. Afterwards every webhook that was answered 200 is
looked up in the inbox: ``lost`` counts those not stored (must be 0).

Goals (issue 11): webhooks/s >= 50% of hello-world's, webhook p99 < 100 ms at 16 clients.
``--quick``: 200 requests per phase; the full run: 2,000.
"""

from __future__ import annotations

import argparse
import copy
import http.client
import json
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from bench.pipeline import free_port
from bench.procs import Proc, horseshoe_argv
from plugin.config import Settings
from plugin.runtime import build_runtime
from plugin.store import tables as t
from sandbox.meta.harness import MessengerHarness
from sandbox.meta.models import sign as meta_sign

CLIENTS = (16, 64)
WARMUP = 20  # requests per server before anything is measured (imports, caches, connections)
GOAL_RATIO = 0.5
GOAL_P99_MS = 100.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--count", type=int, default=None, help="requests per phase (default 2000; quick 300)")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: serve's default)")
    parser.add_argument("--threads", type=int, default=None, help="threads per worker (default: serve's default)")
    parser.add_argument("--keep", action="store_true", help="keep the data directory (database, server logs)")
    parser.add_argument(
        "--no-worker", dest="with_worker", action="store_false", help="serve without its worker process (diagnosis)"
    )


@dataclass
class Phase:
    """One batch of requests from ``clients`` concurrent keep-alive connections."""

    clients: int
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)  # mids answered 200
    errors: list[str] = field(default_factory=list)

    @property
    def per_s(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile_ms(self, share: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(share * len(ordered)))]


Request = tuple[str, bytes, dict[str, str]]  # mid, body, headers


def webhooks(template: dict[str, Any], secret: str, prefix: str, count: int) -> list[Request]:
    """``count`` signed webhook bodies, each the template's message with its own ``mid``."""
    out = []
    for n in range(count):
        body = copy.deepcopy(template)
        mid = f"mid.bench.{prefix}.{n}"
        event = body["entry"][0]["messaging"][0]
        event["message"]["mid"] = mid
        event["message"]["text"] = f"my order {n} has not arrived, can you help?"
        raw = json.dumps(body, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": meta_sign(secret, raw)}
        out.append((mid, raw, headers))
    return out


def fire(port: int, path: str, requests: Sequence[Request], clients: int) -> Phase:
    """Send ``requests`` over ``clients`` keep-alive connections at once; wall time from the first send
    to the last answer."""
    phase = Phase(clients)
    shares = [requests[n::clients] for n in range(clients)]
    start = threading.Barrier(clients + 1)

    def client(share: Sequence[Request]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        start.wait()
        for mid, body, headers in share:
            began = time.perf_counter()
            response: http.client.HTTPResponse | None = None
            for attempt in range(2):
                try:
                    conn.request("POST", path, body=body, headers=headers)
                    response = conn.getresponse()
                    response.read()
                    break
                except (OSError, http.client.HTTPException) as exc:
                    conn.close()  # the server closed an idle keep-alive connection: reconnect once
                    if attempt:
                        phase.errors.append(f"{type(exc).__name__}: {exc}")
            if response is None:
                continue
            phase.latencies.append(time.perf_counter() - began)
            if response.status == 200:
                phase.accepted.append(mid)
            else:
                phase.errors.append(f"HTTP {response.status}")
        conn.close()

    threads = [threading.Thread(target=client, args=(share,), daemon=True) for share in shares]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    phase.seconds = time.perf_counter() - began
    return phase


def run(
    quick: bool = False,
    count: int | None = None,
    workers: int | None = None,
    threads: int | None = None,
    keep: bool = False,
    with_worker: bool = True,
) -> dict[str, Any]:
    count = count or (200 if quick else 2000)
    data_dir = Path(tempfile.mkdtemp(prefix="horseshoe-bench-ingest-"))
    settings = Settings(
        data_dir=str(data_dir), secret_key=secrets.token_urlsafe(48), allowed_private_hosts="127.0.0.1,localhost"
    )
    runtime = build_runtime(settings)
    harness = MessengerHarness()
    harness.start()
    procs: list[Proc] = []
    ok = False
    try:
        harness.reset()
        context = harness.account()
        tenant_id = runtime.store.ensure_tenant("bench")
        account_id = runtime.store.upsert_account(
            tenant_id, "messenger", context.external_id, dict(context.credentials),
            handle="bench", settings=dict(context.settings), api_base=context.api_base,
        )  # fmt: skip
        found = runtime.store.account(account_id)
        assert found is not None
        public_key, secret = found[0].public_key, context.credentials["app_secret"]
        # The fake's own webhook body for a message, as the template of every webhook sent.
        first = harness.inject_private("hello")
        assert first is not None
        sample = harness.signed_webhook(first)
        assert sample is not None
        template = json.loads(sample.body)

        serve_port, hello_port = free_port(), free_port()
        sizing = [*(["--workers", str(workers)] if workers else []), *(["--threads", str(threads)] if threads else [])]
        sizing += [] if with_worker else ["--no-worker"]
        env = {
            "HORSESHOE_DATA_DIR": str(data_dir),
            "HORSESHOE_DATABASE_URL": settings.resolved_database_url,
            "HORSESHOE_SECRET_KEY": settings.secret_key,
            "HORSESHOE_PUBLIC_URL": f"http://127.0.0.1:{serve_port}",
            "HORSESHOE_ALLOWED_PRIVATE_HOSTS": "127.0.0.1,localhost",
            "HORSESHOE_BROKER_URL": "",
        }
        serve = Proc(
            "serve",
            horseshoe_argv("serve", "--host", "127.0.0.1", "--port", str(serve_port), *sizing),
            env,
            data_dir / "serve.log",
            f"http://127.0.0.1:{serve_port}/healthz",
        )
        hello_argv = [sys.executable, "-m", "bench._hello", "--port", str(hello_port)]
        hello_argv += ["--workers", str(workers or 2), "--threads", str(threads or 8)]
        hello = Proc("hello", hello_argv, env, data_dir / "hello.log", f"http://127.0.0.1:{hello_port}/healthz")
        procs = [serve, hello]
        for proc in procs:
            proc.start()

        path = f"/webhooks/messenger/{public_key}"
        accepted: list[str] = []
        warm = webhooks(template, secret, "warm", WARMUP)
        accepted += fire(serve_port, path, warm, 4).accepted
        fire(hello_port, "/hello", warm, 4)
        results: dict[int, tuple[Phase, Phase]] = {}
        for clients in CLIENTS:
            batch = webhooks(template, secret, f"c{clients}", count)
            hello_phase = fire(hello_port, "/hello", batch, clients)
            ingest_phase = fire(serve_port, path, batch, clients)
            accepted += ingest_phase.accepted
            results[clients] = (ingest_phase, hello_phase)
        for proc in procs:
            proc.stop()
        figures = _figures(results, lost=_lost(runtime, tenant_id, accepted), accepted=len(accepted))
        figures.update(count=count, workers=workers or 2, threads=threads or 8, with_worker=with_worker)
        figures["data_dir"] = str(data_dir) if keep else None
        show(figures)
        ok = figures["lost"] == 0
        return figures
    finally:
        for proc in procs:
            proc.stop()
        harness.stop()
        runtime.db.dispose()
        if ok and not keep:
            shutil.rmtree(data_dir, ignore_errors=True)


def _lost(runtime: Any, tenant_id: int, accepted: Sequence[str]) -> int:
    """Webhooks answered 200 whose message is not in the inbox."""
    m = t.mentions.c
    with runtime.db.read() as conn:
        stored = {
            r.external_id
            for r in conn.execute(select(m.external_id).where(m.tenant_id == tenant_id, m.network == "messenger"))
        }
    return sum(1 for mid in accepted if mid not in stored)


def _figures(results: dict[int, tuple[Phase, Phase]], *, lost: int, accepted: int) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for clients, (ingest, hello) in results.items():
        suffix = "" if clients == CLIENTS[0] else f"_{clients}"
        figures[f"webhooks_per_s{suffix}"] = round(ingest.per_s, 1)
        figures[f"hello_per_s{suffix}"] = round(hello.per_s, 1)
        figures[f"ratio{suffix}"] = round(ingest.per_s / hello.per_s, 3) if hello.per_s else 0.0
        figures[f"p50_ms{suffix}"] = round(ingest.percentile_ms(0.50), 1)
        figures[f"p99_ms{suffix}"] = round(ingest.percentile_ms(0.99), 1)
        figures[f"hello_p50_ms{suffix}"] = round(hello.percentile_ms(0.50), 1)
        figures[f"hello_p99_ms{suffix}"] = round(hello.percentile_ms(0.99), 1)
        figures[f"errors{suffix}"] = len(ingest.errors) + len(hello.errors)
        if ingest.errors or hello.errors:
            figures[f"first_errors{suffix}"] = sorted(set(ingest.errors + hello.errors))[:5]
        figures[f"mean_ms{suffix}"] = round(1000 * statistics.fmean(ingest.latencies), 1) if ingest.latencies else 0.0
    figures["lost"] = lost
    figures["accepted"] = accepted
    figures["goal_ratio_met"] = figures["ratio"] >= GOAL_RATIO
    figures["goal_p99_met"] = figures["p99_ms"] < GOAL_P99_MS
    return figures


def show(figures: dict[str, Any]) -> None:
    table = Table(title=f"ingest: signed Messenger webhooks vs hello-world, {figures['count']} requests per phase")
    for column in ("clients", "webhooks/s", "hello/s", "ratio", "p50 ms", "p99 ms", "hello p50/p99 ms", "errors"):
        table.add_column(column, justify="right")
    for clients in CLIENTS:
        s = "" if clients == CLIENTS[0] else f"_{clients}"
        table.add_row(
            str(clients), f"{figures['webhooks_per_s' + s]:.0f}", f"{figures['hello_per_s' + s]:.0f}",
            f"{figures['ratio' + s]:.2f}", f"{figures['p50_ms' + s]:.1f}", f"{figures['p99_ms' + s]:.1f}",
            f"{figures['hello_p50_ms' + s]:.1f} / {figures['hello_p99_ms' + s]:.1f}", str(figures["errors" + s]),
        )  # fmt: skip
    Console().print(table)
    Console().print(
        f"accepted {figures['accepted']}, lost {figures['lost']}; goals: ratio >= {GOAL_RATIO} "
        f"{'met' if figures['goal_ratio_met'] else 'NOT met'}, p99 < {GOAL_P99_MS:.0f} ms at 16 clients "
        f"{'met' if figures['goal_p99_met'] else 'NOT met'}"
    )
