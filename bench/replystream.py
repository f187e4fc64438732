"""Agents' replies in Salesforce: found by the change stream vs by polling, in the same run.

One org on the fake (Change Data Capture of Social Post selected), one worker's ``run_forever`` on a
thread (``Worker.start_thread``: what ``horseshoe serve``'s worker process runs). Agents write outbound
SocialPosts at a steady pace; for each we time how long until it leaves "Pending" in Salesforce (found,
and its fate written back: here Failed, since no network account is connected, which is the same path
without a network), and the fake counts horseshoe's SOQL queries, first over an idle stretch (no reply:
what most orgs are doing most of the time), then while agents answer. Baseline: the same worker with
``reply_stream: false``, polling every ``reply_poll_seconds`` (10 s, the shipped default). ``--quick``:
60 s idle and 30 s busy per mode, else 300 s idle and 120 s busy; one reply every 3 s while busy.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from typing import Any

from rich.console import Console
from rich.table import Table

from plugin.config import Settings
from plugin.runtime import build_runtime
from plugin.worker.loop import Worker
from sandbox.salesforce.org import RunningOrg, start_org

QUERY = "GET /services/data/v<version>/query"
EVERY = 3.0  # seconds between two agents' replies


def _inbound(org: RunningOrg) -> dict[str, Any]:
    """A customer's post as horseshoe writes it (the reply's ReplyTo)."""
    admin = org.client()
    case = admin.Case.create({"Subject": "Late order", "Origin": "Twitter"})["id"]
    post = admin.SocialPost.create({
        "Name": "Tweet from @ada", "Content": "my order is late @brand", "Provider": "Twitter", "IsOutbound": False,
        "ExternalPostId": "1001", "R6PostId": "x:1001", "Recipient": "brand", "ParentId": case,
    })["id"]  # fmt: skip
    return {"Id": post, "ParentId": case}


def _mode(org: RunningOrg, data_dir: str, streaming: bool, idle: float, seconds: float) -> dict[str, Any]:
    settings = Settings(data_dir=data_dir, secret_key="bench-secret-key-not-for-production",
                        allowed_private_hosts="127.0.0.1,localhost", worker_idle_seconds=0.2)  # fmt: skip
    rt = build_runtime(settings)
    admin = org.client()
    worker = Worker(rt, owner="bench-worker")
    try:
        tenant = rt.store.ensure_tenant("bench")
        rt.store.set_sink_connection(tenant, "salesforce", org.sink_config(reply_stream=streaming))
        inbound = _inbound(org)
        worker.start_thread()
        time.sleep(3.0)  # the worker's first tick and, when streaming, its handshake
        idle_before = org.state.calls[QUERY]
        time.sleep(idle)
        idle_queries = org.state.calls[QUERY] - idle_before
        queries_before = org.state.calls[QUERY]
        created: dict[str, float] = {}
        seen: dict[str, float] = {}
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            reply = admin.SocialPost.create({
                "Name": "Reply", "Content": "Sorry! DM us.", "IsOutbound": True, "Status": "Pending",
                "Provider": "Twitter", "ReplyToId": inbound["Id"], "ParentId": inbound["ParentId"],
                "MessageType": "Reply",
            })["id"]  # fmt: skip
            created[reply] = time.monotonic()
            next_at = created[reply] + EVERY
            while time.monotonic() < next_at:
                for post in org.records("SocialPost"):
                    if post["Id"] in created and post["Id"] not in seen and post["Status"] != "Pending":
                        seen[post["Id"]] = time.monotonic()
                time.sleep(0.05)
        elapsed = time.monotonic() - start
        queries = org.state.calls[QUERY] - queries_before
        deadline = time.monotonic() + 30.0
        while len(seen) < len(created) and time.monotonic() < deadline:
            for post in org.records("SocialPost"):
                if post["Id"] in created and post["Id"] not in seen and post["Status"] != "Pending":
                    seen[post["Id"]] = time.monotonic()
            time.sleep(0.05)
        waits = sorted(seen[i] - created[i] for i in seen)
        row = rt.store.reply_streams.of(tenant, "salesforce")
        return {
            "mode": "streaming" if streaming else "polling",
            "stream_mode": row.mode if row is not None else "none",
            "replies": len(created),
            "found": len(seen),
            "median_s": round(statistics.median(waits), 2) if waits else None,
            "max_s": round(waits[-1], 2) if waits else None,
            "idle_soql_per_min": round(idle_queries * 60.0 / idle, 1),
            "busy_soql_per_min": round(queries * 60.0 / elapsed, 1),
        }
    finally:
        worker.stop()
        time.sleep(0.5)
        rt.db.dispose()


def run(quick: bool = False) -> dict[str, Any]:
    idle, seconds = (60.0, 30.0) if quick else (300.0, 120.0)
    results = []
    for streaming in (False, True):
        org = start_org("bench")
        org.state.changes.connect_timeout = 110.0
        try:
            with tempfile.TemporaryDirectory() as data_dir:
                results.append(_mode(org, data_dir, streaming, idle, seconds))
        finally:
            org.stop()
    title = f"Salesforce agent replies: {idle:.0f} s idle, then one every {EVERY:.0f} s for {seconds:.0f} s"
    table = Table(title=title)
    for column in ("mode", "idle SOQL/min", "replies", "found", "median s", "max s", "busy SOQL/min", "stream row"):
        table.add_column(column)
    for r in results:
        table.add_row(r["mode"], str(r["idle_soql_per_min"]), str(r["replies"]), str(r["found"]),
                      str(r["median_s"]), str(r["max_s"]), str(r["busy_soql_per_min"]), r["stream_mode"])  # fmt: skip
    Console().print(table)
    polling, streaming_result = results
    return {
        "bench": "replystream", "quick": quick, "idle_seconds": idle, "busy_seconds": seconds,
        "polling": polling, "streaming": streaming_result,
        "goal_met": bool(
            streaming_result["found"] == streaming_result["replies"]
            and (streaming_result["median_s"] or 99) < (polling["median_s"] or 0)
            and streaming_result["idle_soql_per_min"] < polling["idle_soql_per_min"]
        ),
    }  # fmt: skip
