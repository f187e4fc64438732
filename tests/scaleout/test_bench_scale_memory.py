"""``python -m bench scale --quick`` and ``python -m bench memory --quick`` as anyone would run them.

Outcomes only, never timings or megabytes (those go to BENCHMARKS.md): every mention of the backlog
reaches both CRM fakes exactly once, whatever the number of worker processes, and the JSON lines carry
the keys runs are compared by. ``scale`` needs PostgreSQL: without HORSESHOE_TEST_POSTGRES_URL, or
with one that does not answer, it is skipped with the reason on a laptop and fails in CI.
"""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from plugin.store.db import normalize_url
from tests.reliability.test_bench_quick import bench
from tests.support.requires import missing

pytestmark = pytest.mark.soak  # minutes of worker processes each: on demand (./run tests -m soak)

POSTGRES_URL = os.environ.get("HORSESHOE_TEST_POSTGRES_URL", "")


def require_postgres() -> None:
    if not POSTGRES_URL:
        missing("HORSESHOE_TEST_POSTGRES_URL is not set: bench scale runs its workers on PostgreSQL")
    engine = create_engine(normalize_url(POSTGRES_URL))
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        missing(f"HORSESHOE_TEST_POSTGRES_URL is set but PostgreSQL does not answer: {exc.orig}")
    finally:
        engine.dispose()


def test_scale_quick_delivers_every_mention_once_with_1_2_and_3_workers() -> None:
    require_postgres()
    figures = bench("scale", "--quick")
    for key in ("per_s_1", "per_s_2", "per_s_3", "speedup_3", "lost", "duplicates"):
        assert key in figures, figures
    assert figures["finished"] is True, figures
    assert figures["lost"] == 0 and figures["duplicates"] == 0, figures
    assert figures["failed"] == 0, figures
    assert [r["workers"] for r in figures["runs"]] == [1, 2, 3]
    # each run delivered its whole backlog to both CRMs (one delivery per mention and sink)
    assert all(r["delivered"] == 2 * figures["mentions"] for r in figures["runs"]), figures["runs"]


def test_memory_bench_passes_every_mention_through_serve_and_worker() -> None:
    # A short run (2,000 mentions) keeps the suite in its time budget; `--quick` (20,000) and the full
    # 1,000,000 are run on demand (BENCHMARKS.md, "Memory").
    figures = bench("memory", "--quick", "--mentions", "2000")
    for key in ("rss_growth_mb", "rss_peak_mb", "mentions"):
        assert key in figures, figures
    assert figures["mentions"] == 2_000 and figures["finished"] is True, figures
    assert figures["delivered"] == 2 * figures["mentions"], figures
    assert figures["rss_peak_mb"] > 0 and len(figures["curve"]) >= 2, figures
