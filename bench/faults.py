"""Every fake misbehaves at once; all work still completes, and attempts per item stay bounded.

``python -m bench faults [--quick] [--rate 0.3] [--mentions N]`` runs the whole pipeline as processes
(bench/pipeline.py: ``horseshoe serve`` and a ``horseshoe worker`` on a SQLite file, customers on
every network, agents in Zendesk and Salesforce) while Zendesk, Salesforce and every network's fake
answer ``rate`` of their API calls with a fault: 429 with Retry-After and without, 503, a held
connection (timeout), a dropped connection, or a slow but correct answer. Then faults stop and the
run waits until all is quiet; lost items, duplicates and replies posted twice are counted from the
fakes, attempts per delivery and reply from horseshoe's store. Default 5,000 mentions; ``--quick``: 1,000.
"""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.pipeline import Run, run_pipeline

KEYS = ("mentions", "rate", "lost", "duplicates", "double_replies", "max_attempts", "mean_attempts", "uncertain")
# How the faulted share of calls divides among the kinds of trouble (sums to 1).
MIX = {
    "rate_429": 0.2,
    "rate_429_bare": 0.15,
    "rate_5xx": 0.25,
    "rate_timeout": 0.1,
    "rate_reset": 0.15,
    "rate_slow": 0.15,
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rate", type=float, default=0.3, help="share of API calls that fail (default 0.3)")
    parser.add_argument("--mentions", type=int, default=None, help="default 5,000 (--quick: 1,000)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--keep", action="store_true", help="keep the data directory and process logs")
    parser.add_argument(
        "--spare", action="append", default=[], metavar="FAKE", help="leave this fake without faults (repeatable)"
    )


def plan(rate: float) -> dict[str, Any]:
    # A held connection lasts longer than a slow answer but less than a minute-long client timeout.
    return {**{k: rate * share for k, share in MIX.items()}, "timeout_seconds": 2.0, "slow_seconds": 0.3}


def run(
    quick: bool = False,
    rate: float = 0.3,
    mentions: int | None = None,
    seed: int = 11,
    keep: bool = False,
    spare: list[str] | None = None,
) -> dict[str, Any]:
    mentions = mentions if mentions is not None else (1_000 if quick else 5_000)
    spared = tuple(spare or ())
    figures = run_pipeline(Run(mentions=mentions, seed=seed, faults=plan(rate), keep=keep, spare=spared))
    figures["rate"] = rate
    figures["spared"] = list(spared)
    show(figures)
    result = {key: figures[key] for key in KEYS}
    result.update({k: v for k, v in figures.items() if k not in KEYS})
    return result


def show(figures: dict[str, Any]) -> None:
    table = Table(title=f"faults: {figures['rate']:.0%} of every fake's API calls fail")
    table.add_column("measured")
    table.add_column("value", justify="right")
    for key in ("mentions", "stored", "replies", "replies_posted", "lost", "duplicates", "double_replies"):
        table.add_row(key, str(figures[key]))
    for key in ("uncertain", "replies_failed", "deliveries_failed", "max_attempts", "mean_attempts", "seconds"):
        table.add_row(key, str(figures[key]))
    for kind, count in sorted(figures["faults_injected"].items()):
        table.add_row(f"injected {kind}", str(count))
    Console(stderr=True).print(table)
