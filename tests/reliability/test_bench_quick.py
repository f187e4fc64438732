"""The short versions of the proofs, run as anyone would run them (``python -m bench NAME --quick``):
the JSON line each ends with must show nothing lost, nothing doubled, no server error. These are
outcomes, never timings; the subprocess timeout only keeps a hung run from hanging the suite."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
HANG_GUARD_SECONDS = 1200


def bench(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_SECONDS,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, done.stdout[-2000:]
    figures: dict[str, Any] = json.loads(lines[-1])
    return figures


def test_chaos_quick_loses_and_doubles_nothing() -> None:
    figures = bench("chaos", "--quick")
    assert figures["mentions"] == 1000 and figures["kills"] == 3
    assert figures["lost"] == 0, figures
    assert figures["duplicates"] == 0, figures
    assert figures["double_replies"] == 0, figures
    assert figures["replies"] > 0 and figures["still_pending"] == 0, figures


def test_faults_quick_completes_all_work_with_bounded_attempts() -> None:
    figures = bench("faults", "--quick")
    assert figures["mentions"] == 1000 and figures["rate"] == 0.3
    assert figures["lost"] == 0 and figures["duplicates"] == 0 and figures["double_replies"] == 0, figures
    assert figures["still_pending"] == 0, figures
    assert sum(figures["faults_injected"].values()) > 0, figures
    # Attempts are bounded by the retry policy the processes ran with, not by a number picked from a run:
    # - a reply is posted at most max_attempts times, then the agent is told;
    # - a delivery retries by age (a CRM down for a day loses nothing), so what bounds it is the back-off:
    #   each retry waits at least half its ceiling min(cap, base * 2**(n-1)) (RetryPolicy: half fixed,
    #   half jitter), so no delivery can fail more often than that allows while the fakes misbehave,
    #   plus the one attempt that gets through once they stop. A retry storm (work retried without
    #   waiting, an attempt counted for work that never met the CRM) breaks this bound at once.
    policy = figures["retry_policy"]
    assert 1 <= figures["max_reply_attempts"] <= policy["max_attempts"], figures
    bound = attempts_within(figures["fault_seconds"], policy["base_seconds"], policy["cap_seconds"]) + 1
    assert 1 <= figures["max_delivery_attempts"] <= bound, (bound, figures)


def attempts_within(seconds: float, base: float, cap: float) -> int:
    """The most failed attempts a delivery can make in ``seconds`` under RetryPolicy's back-off: the
    first at once, each next one at least half its ceiling later."""
    attempts, elapsed = 1, 0.0
    while elapsed + min(cap, base * 2 ** (attempts - 1)) / 2 <= seconds:
        elapsed += min(cap, base * 2 ** (attempts - 1)) / 2
        attempts += 1
    return attempts


def test_the_attempt_bound_follows_the_back_off() -> None:
    # The demo's policy (base 0.2 s, cap 2 s): waits of 0.1, 0.2, 0.4, 0.8, then 1 s each.
    assert attempts_within(0.0, 0.2, 2.0) == 1
    assert attempts_within(1.5, 0.2, 2.0) == 5
    assert attempts_within(61.5, 0.2, 2.0) == 65


def test_fuzz_quick_finds_no_server_error_and_no_crash() -> None:
    figures = bench("fuzz", "--quick")
    assert figures["inputs"] >= 5000
    assert figures["server_errors"] == 0 and figures["crashes"] == 0, figures["findings"]


def test_metrics_quick_prints_api_and_count_times() -> None:
    figures = bench("metrics", "--quick")
    assert figures["mentions"] == 50_000
    assert figures["api_ms"] > 0 and figures["count_ms"] > 0
    # the answer is read from the rollup: a few rows per day and account, not one per mention
    assert figures["rollup_rows"] < figures["mentions"] / 5
