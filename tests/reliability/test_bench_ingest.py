"""``python -m bench ingest --quick`` as anyone would run it: every webhook answered 200 is in the
inbox afterwards, and the JSON line carries the figures issue 11 names. Outcomes only, never a speed
(the subprocess timeout only keeps a hung run from hanging the suite)."""

from __future__ import annotations

from tests.reliability.test_bench_quick import bench

KEYS = ("webhooks_per_s", "hello_per_s", "ratio", "p99_ms", "p50_ms")


def test_ingest_quick_loses_no_accepted_webhook_and_reports_its_figures() -> None:
    figures = bench("ingest", "--quick")
    for key in KEYS:
        assert key in figures and f"{key}_64" in figures, (key, figures)
    assert figures["accepted"] >= 2 * figures["count"], figures  # both phases answered 200 throughout
    assert figures["errors"] == 0 and figures["errors_64"] == 0, figures
    assert figures["lost"] == 0, figures
