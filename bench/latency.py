"""Webhook → ticket latency at 10, 100 and 1,000 mentions a second (issue 11).

The real ``horseshoe serve`` (gunicorn, one web process, its worker process, file SQLite) receives signed
Messenger webhooks from an open-loop sender: mention *i* is due at ``start + i / rate`` whatever
happened to the ones before (a slow server makes the queue grow, it does not slow the sender down).
Every webhook is one customer's first message, so each becomes its own Zendesk ticket (Channel
Framework push to the Zendesk fake) and its own SocialPost (sObject Collections to the Salesforce
fake); both fakes take ``LATENCY`` (50 ms) per call and count every call. The latency of a mention
is from the moment it was due to be sent to the creation time the fake stamped on its ticket /
SocialPost (the same clock: the fakes run in this process); a mention still missing when the run
gives up counts with the time waited so far (a lower bound), and is reported.

The baseline in the same run is the same server with one mention per CRM call
(``HORSESHOE_DELIVERY_BATCH_SIZE=1``) at 100 mentions a second. ``docs/latency.svg`` is drawn from
the run: p50 and p99 against the offered load, for both CRMs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import requests
from rich.console import Console
from rich.table import Table

from bench.drain import LATENCY, Fakes
from bench.procs import Proc, horseshoe_argv
from bench.webhook_client import webhook_session
from plugin.config import Settings
from plugin.runtime import build_runtime
from sandbox.meta import DEFAULT_APP_SECRET, DEFAULT_PAGE_ID, DEFAULT_TOKEN, MetaState
from sandbox.meta import create_app as create_meta
from sandbox.server import RunningServer, serve_in_thread

SECRET_KEY = "bench-latency-secret-key-not-for-production"
SENDERS = 64  # concurrent HTTP clients of the open-loop sender
RATES_FULL = {10: 30.0, 100: 20.0, 1000: 10.0}  # mentions/s -> seconds of sending
RATES_QUICK = {10: 3.0, 100: 4.0, 1000: 2.0}
SVG = Path(__file__).resolve().parent.parent / "docs" / "latency.svg"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Run:
    """One load step: when each mention was due to be sent, and what became of it."""

    rate: int
    due: dict[str, float] = field(default_factory=dict)  # mid -> time.time() it was due
    refused: int = 0  # webhooks answered with anything but 200 (or not at all)
    errors: list[str] = field(default_factory=list)  # "mid: what went wrong" for each of them
    zendesk: dict[str, float] = field(default_factory=dict)  # mid -> seconds to its ticket
    salesforce: dict[str, float] = field(default_factory=dict)  # mid -> seconds to its SocialPost
    zendesk_calls: int = 0
    salesforce_calls: int = 0
    delivered: int = 0  # mentions with both their ticket and their SocialPost when the run gave up


class World:
    """The fakes (Zendesk and Salesforce at ``LATENCY`` per call; the Graph fake for the Page) and
    one database with a tenant whose Messenger Page feeds both CRMs."""

    def __init__(self, data_dir: str):
        self.crm = Fakes(LATENCY)
        self.meta_state = MetaState()
        self.meta_state.add_page()
        self.meta: RunningServer = serve_in_thread(create_meta(self.meta_state))
        self.data_dir = data_dir
        rt = build_runtime(self.settings())
        try:
            tenant_id = rt.store.ensure_tenant("bench")
            credentials = {"page_access_token": DEFAULT_TOKEN, "app_secret": DEFAULT_APP_SECRET,
                           "verify_token": "verify-me", "page_id": DEFAULT_PAGE_ID}  # fmt: skip
            account_id = rt.store.upsert_account(
                tenant_id, "messenger", DEFAULT_PAGE_ID, credentials, handle="brand", api_base=self.meta.url
            )
            rt.store.set_sink_connection(tenant_id, "zendesk", self.crm.zendesk_config())
            rt.store.set_sink_connection(tenant_id, "salesforce", self.crm.org.sink_config())
            found = rt.store.account(account_id)
            assert found is not None
            self.webhook_path = f"/webhooks/messenger/{found[0].public_key}"
        finally:
            rt.db.dispose()

    def settings(self) -> Settings:
        return Settings(data_dir=self.data_dir, secret_key=SECRET_KEY, allowed_private_hosts="127.0.0.1,localhost")

    def serve(self, log_dir: Path, batch_size: int) -> tuple[Proc, str]:
        port = free_port()
        env = {
            "HORSESHOE_DATA_DIR": self.data_dir,
            "HORSESHOE_SECRET_KEY": SECRET_KEY,
            "HORSESHOE_ALLOWED_PRIVATE_HOSTS": "127.0.0.1,localhost",
            "HORSESHOE_DELIVERY_BATCH_SIZE": str(batch_size),
            "HORSESHOE_LOG_LEVEL": "WARNING",
        }
        argv = horseshoe_argv("serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--threads", "8")
        proc = Proc("serve", argv, env, log_dir / f"serve-{batch_size}.log", f"http://127.0.0.1:{port}/healthz")
        proc.start()
        return proc, f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self.crm.stop()
        self.meta.stop()

    # -- what the fakes hold ---------------------------------------------------------------------
    def ticket_times(self) -> dict[str, datetime]:
        """mid -> creation time of the Zendesk ticket its comment opened."""
        state = self.crm.zd_state
        with state.lock:
            account = state.account("bench")
            return {ext.partition(":")[2]: account.tickets[ticket_id].created_at
                    for (_instance, ext), (ticket_id, _comment) in account.external_index.items()}  # fmt: skip

    def social_post_times(self) -> dict[str, datetime]:
        """mid -> CreatedDate of its SocialPost in the Salesforce fake."""
        state = self.crm.org.state
        with state.lock:
            org = state.org(self.crm.org.org_id)
            return {str(r.values["ExternalPostId"]): r.values["CreatedDate"]
                    for r in org.records.values() if r.sobject == "SocialPost" and not r.deleted}  # fmt: skip


def webhook(mid: str, sender: str, text: str, now: float) -> tuple[bytes, dict[str, str]]:
    """A Messenger ``messages`` webhook as Meta sends it, signed with the app secret."""
    ms = int(now * 1000)
    body = json.dumps({"object": "page", "entry": [{"id": DEFAULT_PAGE_ID, "time": ms, "messaging": [{
        "sender": {"id": sender}, "recipient": {"id": DEFAULT_PAGE_ID}, "timestamp": ms,
        "message": {"mid": mid, "text": text}}]}]}).encode()  # fmt: skip
    signature = "sha256=" + hmac.new(DEFAULT_APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return body, {"Content-Type": "application/json", "X-Hub-Signature-256": signature}


def send(url: str, run: Run, seconds: float, label: str) -> None:
    """Open loop: mention i is due at start + i/rate; late sends go at once, never skipped."""
    local = threading.local()
    lock = threading.Lock()

    def post(mid: str, sender: str, due: float) -> None:
        session = getattr(local, "session", None) or webhook_session()
        local.session = session
        body, headers = webhook(mid, sender, f"my order {mid} never arrived, can you help?", due)
        try:
            status = session.post(url, data=body, headers=headers, timeout=60).status_code
            error = "" if status == 200 else f"HTTP {status}"
        except requests.RequestException as exc:  # still unanswered after webhook_session's resends
            error = repr(exc)
        if error:
            with lock:
                run.refused += 1
                run.errors.append(f"{mid}: {error}")

    total = int(run.rate * seconds)
    start = time.time() + 0.2
    with ThreadPoolExecutor(max_workers=SENDERS) as pool:
        for i in range(total):
            due = start + i / run.rate
            pause = due - time.time()
            if pause > 0:
                time.sleep(pause)
            mid = f"m_{label}_{run.rate}_{i}"
            run.due[mid] = due
            pool.submit(post, mid, f"{label}{run.rate}{i:07d}", due)


def collect(world: World, run: Run, give_up_s: float) -> None:
    """Wait until every mention has its ticket and SocialPost, or ``give_up_s`` after the last send."""
    deadline = time.time() + give_up_s
    while True:
        tickets, posts = world.ticket_times(), world.social_post_times()
        done = all(m in tickets and m in posts for m in run.due)
        if done or time.time() > deadline:
            break
        time.sleep(0.25)
    now = time.time()
    run.delivered = sum(1 for m in run.due if m in tickets and m in posts)
    for mid, due in run.due.items():
        run.zendesk[mid] = (tickets[mid].timestamp() if mid in tickets else now) - due
        run.salesforce[mid] = (posts[mid].timestamp() if mid in posts else now) - due


def step(world: World, base: str, rate: int, seconds: float, label: str, give_up_s: float) -> Run:
    run = Run(rate)
    zd_before, sf_before = world.crm.zd.count, world.crm.org.calls()
    send(base + world.webhook_path, run, seconds, label)
    collect(world, run, give_up_s)
    run.zendesk_calls = world.crm.zd.count - zd_before
    run.salesforce_calls = world.crm.org.calls() - sf_before
    return run


def pct(values: list[float], q: float) -> float:
    if len(values) < 2:
        return round(values[0], 3) if values else 0.0
    return round(statistics.quantiles(values, n=1000, method="inclusive")[int(q * 1000) - 1], 3)


def figures(run: Run) -> dict[str, Any]:
    both = list(run.zendesk.values()) + list(run.salesforce.values())
    n = max(1, len(run.due))
    return {
        "sent": len(run.due),
        "refused": run.refused,
        "delivered": run.delivered,
        "p50_s": pct(both, 0.5),
        "p99_s": pct(both, 0.99),
        "zendesk_p50_s": pct(list(run.zendesk.values()), 0.5),
        "zendesk_p99_s": pct(list(run.zendesk.values()), 0.99),
        "salesforce_p50_s": pct(list(run.salesforce.values()), 0.5),
        "salesforce_p99_s": pct(list(run.salesforce.values()), 0.99),
        "zendesk_calls_per_mention": round(run.zendesk_calls / n, 4),
        "salesforce_calls_per_mention": round(run.salesforce_calls / n, 4),
    }


def warm_up(world: World, base: str) -> None:
    """Not measured: the first mentions load the language models and open the CRM sessions.

    Its label is one letter, like the measured steps', so its texts have as many words: posts under
    ``LONG_POST_WORDS`` use lingua's high-accuracy models, which load on the first such post and hold
    the interpreter lock meanwhile (1-5 s: every thread of the process stops). With "warm" (one word
    more) the warm-up loaded only the other detector and the 10/s step paid that load.

    A webhook the server did not take would never become a ticket: stop at once rather than wait
    ``give_up_s`` for it."""
    run = Run(5)
    send(base + world.webhook_path, run, 2.0, "w")
    if run.refused:
        raise RuntimeError(f"{run.refused} warm-up webhooks not taken: {'; '.join(run.errors[:5])}")
    collect(world, run, give_up_s=300)


def draw(results: dict[int, dict[str, Any]], path: Path = SVG) -> None:
    import pygal

    chart = pygal.XY(
        title="Webhook → CRM record latency against load (50 ms per CRM call, SQLite, 2 cores)",
        x_title="offered load (mentions per second, log scale)",
        y_title="latency (seconds, log scale)",
        logarithmic=True,
        dots_size=4,
        legend_at_bottom=True,
        explicit_size=True,
        width=900,
        height=520,
    )
    for crm in ("zendesk", "salesforce"):
        for q in ("p50", "p99"):
            chart.add(f"{crm} {q}", [(rate, max(0.001, r[f"{crm}_{q}_s"])) for rate, r in sorted(results.items())])
    path.write_bytes(chart.render())


def run(quick: bool = False) -> dict[str, Any]:
    rates = RATES_QUICK if quick else RATES_FULL
    give_up = 60.0 if quick else 180.0
    results: dict[int, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="horseshoe-latency-") as tmp:
        world = World(tmp)
        try:
            proc, base = world.serve(Path(tmp), batch_size=0)
            try:
                warm_up(world, base)
                for rate, seconds in rates.items():
                    results[rate] = figures(step(world, base, rate, seconds, "a", give_up))
            finally:
                proc.stop()
            # The baseline: the same server, one mention per CRM call, at 100 a second.
            proc, base = world.serve(Path(tmp), batch_size=1)
            try:
                warm_up(world, base)  # a new process: its language models load again
                baseline = figures(step(world, base, 100, rates[100], "b", give_up))
            finally:
                proc.stop()
        finally:
            world.stop()
    table = Table(title=f"Webhook → ticket / SocialPost (CRM fakes {LATENCY * 1000:.0f} ms per call, file SQLite)")
    for column in ("load", "sent", "refused", "delivered", "Zendesk p50/p99 s", "Salesforce p50/p99 s",
                   "ZD calls/mention", "SF calls/mention"):  # fmt: skip
        table.add_column(column)
    rows = [(f"{rate}/s", r) for rate, r in results.items()] + [("100/s batch=1 (baseline)", baseline)]
    for name, r in rows:
        table.add_row(
            name, str(r["sent"]), str(r["refused"]), str(r["delivered"]),
            f"{r['zendesk_p50_s']} / {r['zendesk_p99_s']}", f"{r['salesforce_p50_s']} / {r['salesforce_p99_s']}",
            str(r["zendesk_calls_per_mention"]), str(r["salesforce_calls_per_mention"]),
        )  # fmt: skip
    Console().print(table)
    draw(results)
    out: dict[str, Any] = {}
    for rate, r in results.items():
        out[f"p50_s_{rate}"], out[f"p99_s_{rate}"] = r["p50_s"], r["p99_s"]
        out[f"delivered_share_{rate}"] = round(r["delivered"] / max(1, r["sent"]), 3)
    out.update({
        "zendesk_calls_per_mention_100": results[100]["zendesk_calls_per_mention"],
        "salesforce_calls_per_mention_100": results[100]["salesforce_calls_per_mention"],
        "zendesk_p99_s_100": results[100]["zendesk_p99_s"],
        "salesforce_p99_s_100": results[100]["salesforce_p99_s"],
        "refused": sum(r["refused"] for r in results.values()),
        "baseline_p50_s_100": baseline["p50_s"],
        "baseline_p99_s_100": baseline["p99_s"],
        "baseline_zendesk_calls_per_mention_100": baseline["zendesk_calls_per_mention"],
        "baseline_salesforce_calls_per_mention_100": baseline["salesforce_calls_per_mention"],
        "crm_latency_s": LATENCY,
        "seconds_per_rate": {str(k): v for k, v in rates.items()},
    })  # fmt: skip
    return out
