"""One rate budget shared by every worker (issue 11): how much of Zendesk's budget a backlog uses, and
how many of its answers are 429s.

The Zendesk fake counts requests per account in fixed, clock-aligned windows, as Zendesk does: 700
per minute (the Enterprise plan), or with ``--quick`` time scaled down 2.5 times, 280 per 24 s. Every
call answers after 50 ms. A backlog that needs minutes of that budget (mentions of 12 brand accounts, each
account its own channel instance, so a worker's pass pushes about 4 mentions to each of 12 instances)
is stored first (not timed), then 3 worker processes (the ``horseshoe worker`` loop) drain it from one
SQLite file; timing starts when all three are looping. Measured from the fake's side while the backlog lasts:

- ``budget_used``: accepted pushes / what the limit allowed over that time (release to last push);
- ``share_429``: 429 answers / all answers; ``calls``, ``responses_429``;
- ``lost`` (deliveries not delivered at the end) and ``duplicates`` (mentions Zendesk imported twice).

The naive baseline in the same run is the same workers with ``rate_budget_backend = off``: no shared
bucket, only the shared pause after a 429 (what horseshoe did before). Goals: budget_used >= 0.9,
share_429 <= 0.01.
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import insert, select, update

from bench.drain import MANIFEST  # the bench app Zendesk installs, one for every bench
from bench.procs import Proc
from plugin.config import Settings, load_settings
from plugin.models import Author, Mention
from plugin.runtime import build_runtime
from plugin.store import tables as t
from plugin.store.statuses import DeliveryStatus, MentionStatus
from plugin.worker.loop import Worker
from sandbox.base.service import ServiceSettings
from sandbox.server import serve_in_thread
from sandbox.zendesk import create_app as create_zendesk
from sandbox.zendesk.models import ZendeskState

SUBDOMAIN = "bench"
LATENCY = 0.05
WORKERS = 3
SECRET = "bench-secret-key-not-for-production"


READY_SECONDS = 300.0  # a shared, loaded machine can take a minute to import horseshoe in 3 processes


class PushLog:
    """WSGI wrapper: when each push was answered, with what status, and which resources it imported."""

    def __init__(self, app: Callable[..., Any]):
        self.app = app
        self.lock = threading.Lock()
        self.answers: list[tuple[float, int]] = []  # (time, HTTP status); the runs take turns
        self.imported: Counter[str] = Counter()  # external_id -> times Zendesk answered "success"

    def reset(self) -> None:
        with self.lock:
            self.answers.clear()
            self.imported.clear()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not str(environ.get("PATH_INFO", "")).endswith("/any_channel/push.json"):
            return self.app(environ, start_response)
        seen: list[int] = []

        def recording(status: str, headers: Any, *rest: Any) -> Any:
            seen.append(int(status.split()[0]))
            return start_response(status, headers, *rest)

        body = b"".join(self.app(environ, recording))
        with self.lock:
            self.answers.append((time.monotonic(), seen[0]))
            if seen[0] == 200:
                for result in json.loads(body).get("results", []):
                    if (result.get("status") or {}).get("code") == "success":
                        self.imported[str(result.get("external_resource_id"))] += 1
        return [body]


ACCOUNTS = 12  # brand accounts, each fed to Zendesk by its own channel instance: one push per account
BATCH_SIZE = 12  # delivery_batch_size: claims of 48, so a pass pushes about 4 mentions to each instance


def install(zd_state: ZendeskState, subdomain: str) -> list[tuple[str, str]]:
    """A Zendesk account with one channel instance per brand account: (push id, token) each."""
    zd_state.create_account(subdomain, admin_name="Ada Admin", admin_email=f"ada@{subdomain}.example")
    found = []
    for n in range(ACCOUNTS):
        pending = zd_state.begin_install(subdomain, "https://integration.example/manifest.json", MANIFEST)
        instance = zd_state.finish_install(pending.instance_push_id, f"Brand {n}", f'{{"account": "brand{n}"}}', None)
        found.append((instance.instance_push_id, instance.zendesk_access_token))
    return found


def seed(data_dir: Path, config: dict[str, Any], total: int) -> Settings:
    """A tenant whose backlog is routed: one Zendesk delivery per mention, due only once released (not timed;
    written in bulk: ingest and routing are not what this measures)."""
    settings = Settings(data_dir=str(data_dir), secret_key=SECRET, allowed_private_hosts="127.0.0.1,localhost")
    rt = build_runtime(settings)
    later = datetime.now(UTC) + timedelta(days=1)
    try:
        tenant_id = rt.store.ensure_tenant(SUBDOMAIN)
        accounts = []
        for n in range(ACCOUNTS):
            account_id = rt.store.upsert_account(tenant_id, "x", f"brand{n}", {"user_access_token": "t"})
            rt.store.brand_accounts.release_cursor(account_id, next_poll=later)  # nothing to poll in this run
            accounts.append(account_id)
        rt.store.set_sink_connection(tenant_id, "zendesk", config)
        start = datetime(2026, 11, 1, tzinfo=UTC)
        with rt.db.begin() as conn:
            conn.execute(insert(t.mentions), [
                {"tenant_id": tenant_id, "account_id": accounts[n % ACCOUNTS], "network": "x",
                 "external_id": f"p{n}", "thread_id": f"p{n}", "author_external_id": f"a{n % 500}",
                 "payload": Mention(network="x", external_id=f"p{n}", thread_id=f"p{n}",
                                    author=Author(external_id=f"a{n % 500}", handle=f"h{n % 500}"),
                                    text=f"my order {n} never arrived @brand", account=f"brand{n % ACCOUNTS}",
                                    created_at=start + timedelta(seconds=n)).model_dump(mode="json"),
                 "status": MentionStatus.ROUTED, "labels": {}, "deleted": False, "edits": 0,
                 "created_at": start + timedelta(seconds=n), "received_at": datetime.now(UTC)}
                for n in range(total)
            ])  # fmt: skip
            ids = conn.execute(select(t.mentions.c.id)).scalars().all()
            conn.execute(insert(t.deliveries), [
                {"mention_id": i, "tenant_id": tenant_id, "sink": "zendesk", "status": DeliveryStatus.PENDING,
                 "attempts": 0, "next_attempt_at": later, "updated_at": datetime.now(UTC)}
                for i in ids
            ])  # fmt: skip
    finally:
        rt.db.dispose()
    return settings


def release(settings: Settings) -> None:
    rt = build_runtime(settings, upgrade=False)
    try:
        with rt.db.begin() as conn:
            conn.execute(update(t.deliveries).values(next_attempt_at=datetime.now(UTC)))
    finally:
        rt.db.dispose()


def drain(name: str, backend: str, log: PushLog, config: dict[str, Any], tmp: Path,
          total: int, limit: int, window: float) -> dict[str, Any]:  # fmt: skip
    data_dir = tmp / name
    settings = seed(data_dir, config, total)
    env = {
        "HORSESHOE_DATA_DIR": str(data_dir),
        "HORSESHOE_SECRET_KEY": SECRET,
        "HORSESHOE_ALLOWED_PRIVATE_HOSTS": "127.0.0.1,localhost",
        "HORSESHOE_DELIVERY_BATCH_SIZE": str(BATCH_SIZE),
        "HORSESHOE_WORKER_IDLE_SECONDS": "0.2",
        "HORSESHOE_BACKOFF_CAP_SECONDS": str(window),
        "HORSESHOE_RATE_BUDGET_BACKEND": backend,
        "HORSESHOE_LOG_LEVEL": "WARNING",
    }
    workers = [
        Proc(f"{name}{n}", [sys.executable, "-m", "bench.budget", "--worker", str(data_dir / f"ready{n}")], env,
             data_dir / f"worker{n}.log")
        for n in range(WORKERS)
    ]  # fmt: skip
    rt = build_runtime(settings, upgrade=False)
    try:
        for worker in workers:
            worker.start()
        # Start-up (imports) is not measured: the backlog comes due once every worker is looping.
        ready_by = time.monotonic() + READY_SECONDS
        while not all((data_dir / f"ready{n}").exists() for n in range(WORKERS)):
            if time.monotonic() > ready_by or not all(w.alive() for w in workers):
                raise RuntimeError(f"workers did not start; see {data_dir}/worker*.log")
            time.sleep(0.2)
        log.reset()
        release(settings)
        started = time.monotonic()
        deadline = started + 3 * total / 4 / (limit / window) + 60
        while time.monotonic() < deadline and rt.store.counts()["deliveries_pending"]:
            time.sleep(0.2)
        counts = rt.store.counts()
    finally:
        for worker in workers:
            worker.stop()
        rt.db.dispose()
    with log.lock:
        answers = list(log.answers)
        imported = Counter(log.imported)
    accepted = [at for at, status in answers if status == 200]
    refused = sum(1 for _, status in answers if status == 429)
    elapsed = max(accepted) - started if accepted else 0.0
    allowed = limit * elapsed / window  # what the limit allowed while the backlog lasted
    return {
        "calls": len(answers),
        "accepted": len(accepted),
        "responses_429": refused,
        "share_429": round(refused / max(1, len(answers)), 4),
        "budget_used": round(len(accepted) / max(1.0, allowed), 3),
        "seconds": round(elapsed, 1),
        "lost": counts["deliveries_pending"] + counts["deliveries_failed"],
        "duplicates": sum(n - 1 for n in imported.values() if n > 1),
        "imported": len(imported),
    }


def serve_worker(ready_file: str) -> None:
    """One worker process, exactly what ``horseshoe worker`` runs, that says when it is looping."""
    runtime = build_runtime(load_settings())
    worker = Worker(runtime)
    worker.run_once()
    Path(ready_file).write_text("ready", encoding="utf-8")
    worker.run_forever()


def run(quick: bool = False) -> dict[str, Any]:
    # --quick scales time down 2.5 times: Zendesk's minute becomes 24 s, its 700 requests 280 (the same
    # 11.7 requests a second; the bucket's burst, 5% of the limit, still covers a pass's 12 pushes).
    limit, window = (280, 24.0) if quick else (700, 60.0)
    total = 2400 if quick else 12_000
    zd_state = ZendeskState()
    log = PushLog(create_zendesk(state=zd_state, requests_per_minute=limit, rate_window=window,
                                 settings=ServiceSettings(latency=LATENCY)))  # fmt: skip
    server = serve_in_thread(log)
    figures = {}
    try:
        with tempfile.TemporaryDirectory(prefix="horseshoe-budget-") as tmp:
            for name, backend in (("shared", "database"), ("naive", "off")):
                subdomain = f"{SUBDOMAIN}{name}"  # each run its own Zendesk account, so its own budget
                instances = install(zd_state, subdomain)
                config: dict[str, Any] = {"subdomain": subdomain, "api_base": server.url, "plan": "enterprise",
                          "instances": {push_id: {"token": token, "accounts": [["x", f"brand{n}"]]}
                                        for n, (push_id, token) in enumerate(instances)}}  # fmt: skip
                if quick:
                    config.update(requests_per_minute=limit, rate_window_seconds=window)
                figures[name] = drain(name, backend, log, config, Path(tmp), total, limit, window)
    finally:
        server.stop()
    shared, naive = figures["shared"], figures["naive"]
    title = f"Zendesk limited to {limit} requests / {window:.0f} s, {WORKERS} workers, {total:,} mentions"
    table = Table(title=title)
    for column in ("", "budget used", "429 share", "calls", "429s", "seconds", "lost", "duplicates"):
        table.add_column(column)
    for label, r in (("shared bucket", shared), ("naive (no bucket)", naive)):
        table.add_row(label, f"{r['budget_used']:.1%}", f"{r['share_429']:.2%}", str(r["calls"]),
                      str(r["responses_429"]), str(r["seconds"]), str(r["lost"]), str(r["duplicates"]))  # fmt: skip
    Console().print(table)
    keys = ("budget_used", "share_429", "calls", "responses_429", "lost", "duplicates", "seconds")
    return {
        **{key: shared[key] for key in keys},
        "mentions": total,
        "limit": limit,
        "window_s": window,
        "workers": WORKERS,
        "baseline": {key: naive[key] for key in keys},
        "goals_met": shared["budget_used"] >= 0.9 and shared["share_429"] <= 0.01,
    }


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        serve_worker(sys.argv[2])
