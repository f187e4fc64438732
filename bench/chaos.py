"""Kill horseshoe at random and count from the fakes what that cost: nothing, if the promises hold.

``python -m bench chaos [--quick] [--mentions N] [--kills K] [--store sqlite|postgres] [--workers W]``
runs the whole pipeline as processes (bench/pipeline.py): ``horseshoe serve`` and W ``horseshoe
worker`` processes on one database, scripted customers on every network, agents answering from
Zendesk and Salesforce, while a supervisor SIGKILLs serve or a worker at random moments (K times,
default 20; ``--quick``: 1,000 mentions and 3 kills) and restarts it. Then, once all is quiet, it
counts from the fakes: mentions that never reached Zendesk or Salesforce (lost), items imported
twice (tickets' comments, SocialPosts, personas), the same agent reply posted twice; and, from
horseshoe's store, replies left ``uncertain`` (killed mid-send: reported to the agent, not a failure).
"""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.pipeline import LEASE_SECONDS, Run, run_pipeline

KEYS = ("mentions", "replies", "kills", "lost", "duplicates", "double_replies", "uncertain")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mentions", type=int, default=None, help="default 10,000 (--quick: 1,000)")
    parser.add_argument("--kills", type=int, default=None, help="SIGKILLs (default 20; --quick: 3)")
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--workers", type=int, default=None, help="horseshoe worker processes (default 1; postgres 3)")
    parser.add_argument("--kill-gap", type=float, default=None, help="mean seconds between kills")
    parser.add_argument("--lease", type=float, default=None, help="seconds a claim holds (default 10)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the data directory and process logs")


def run(
    quick: bool = False,
    mentions: int | None = None,
    kills: int | None = None,
    store: str = "sqlite",
    workers: int | None = None,
    kill_gap: float | None = None,
    lease: float | None = None,
    seed: int = 7,
    keep: bool = False,
) -> dict[str, Any]:
    mentions = mentions if mentions is not None else (1_000 if quick else 10_000)
    kills = kills if kills is not None else (3 if quick else 20)
    workers = workers if workers is not None else (3 if store == "postgres" else 1)
    # Spread the kills over roughly the time the customers take to write (about 150 mentions a second).
    gap = kill_gap if kill_gap is not None else max(2.0, mentions / 150 / max(1, kills))
    options: dict[str, Any] = {"lease_seconds": lease} if lease is not None else {}
    figures = run_pipeline(
        Run(mentions=mentions, workers=workers, store=store, kills=kills, kill_gap=gap, seed=seed, keep=keep, **options)
    )
    figures["lease_seconds"] = lease if lease is not None else LEASE_SECONDS
    show(figures)
    result = {key: figures[key] for key in KEYS}
    result.update({k: v for k, v in figures.items() if k not in KEYS})
    return result


def show(figures: dict[str, Any]) -> None:
    table = Table(title=f"chaos: {figures['kills']} SIGKILLs of serve and workers ({figures['store']})")
    table.add_column("measured from the fakes")
    table.add_column("count", justify="right")
    for key in ("mentions", "stored", "replies", "replies_posted", "kills", "lost", "duplicates"):
        table.add_row(key, str(figures[key]))
    for key in ("double_replies", "uncertain", "replies_failed", "deliveries_failed", "still_pending", "seconds"):
        table.add_row(key, str(figures[key]))
    Console(stderr=True).print(table)
