"""1,000 mentions from 300 authors: at most 0.05 CRM calls per mention, counted at the fakes, next to
a naive one-look-up-per-mention resolver run against the same fakes (see bench/identity.py)."""

from __future__ import annotations

from bench.identity import identity_calls


def test_resolution_costs_at_most_a_twentieth_of_a_call_per_mention() -> None:
    figures = identity_calls(1000, 300, seed=3)
    assert figures["linked"] == {"zendesk": figures["expected_links_per_crm"],
                                 "salesforce": figures["expected_links_per_crm"]}  # fmt: skip
    assert figures["crm_calls_per_mention"] <= 0.05, figures
    assert figures["baseline_per_mention"] >= 2.0, figures  # one look-up per mention in each CRM
