"""``python -m bench budget --quick`` run as anyone would run it (issue 11): three worker processes
share one Zendesk budget. Asserted are correctness properties only: nothing lost, nothing imported
twice, and at most 1% of Zendesk's answers 429 (the shared bucket never sends more than the limit
allows, whatever the machine's speed). How much of the budget was used is a timing, measured by the
benchmark and recorded in BENCHMARKS.md, never asserted here."""

from __future__ import annotations

import pytest

from tests.reliability.test_bench_quick import bench

pytestmark = pytest.mark.soak  # about 6 minutes of three worker processes: on demand (-m soak)


def test_budget_quick_shares_one_bucket_without_loss_duplicates_or_429s() -> None:
    figures = bench("budget", "--quick")
    assert figures["workers"] == 3 and figures["mentions"] == 2400
    assert figures["lost"] == 0, figures
    assert figures["duplicates"] == 0, figures
    assert figures["calls"] > 0 and figures["share_429"] <= 0.01, figures
    assert figures["baseline"]["lost"] == 0 and figures["baseline"]["duplicates"] == 0, figures
