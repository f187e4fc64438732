"""``horseshoe demo`` end to end: every network, both CRMs, nothing lost or doubled."""

from __future__ import annotations

from sandbox.demo.run import run_demo


def test_demo_reaches_every_network_and_both_crms() -> None:
    summary = run_demo(mentions=40, exit_when_done=True, faults=True, port=0, seed=3, keep_data=False)
    # the 40 customer mentions, plus the satisfaction ratings customers sent back by DM
    assert summary["mentions"] == 40 + summary["csat_ratings"]
    assert summary["duplicates"] == 0 and summary["lost"] == 0
    assert summary["tickets"] > 0 and summary["replies_sent"] > 0
    assert summary["sf_posts"] == 40 and summary["sf_cases"] > 0 and summary["sf_contacts"] > 0
    assert summary["sf_replies_sent"] > 0  # an agent's reply written in Salesforce was published
    # Triage labelled every mention (and the two listening posts, on X and VK, that only share the
    # brand's word); security reports were escalated; the only skips are that listening noise and the
    # customers' satisfaction ratings (stored, never ticketed).
    expected_skips = {"listening_not_for_us": 2}
    if summary["csat_ratings"]:
        expected_skips["satisfaction_rating"] = summary["csat_ratings"]
    assert summary["skipped"] == expected_skips
    assert sum(summary["intents"].values()) == summary["mentions"] + 2
    # the simulated day: some answered within the hour, some late, some not at all; a Social Promoter Score
    assert 0 < summary["sla_1h"] < 100 and summary["unanswered"] > 0 and summary["sps"] is not None
    assert summary["resolved"] > 0
    assert summary["security_escalations"] == summary["intents"].get("security", 0)
    networks = summary["networks"]
    assert set(networks) == {"x", "facebook", "messenger", "instagram", "mastodon", "bluesky", "telegram", "vk"}
    for name, figures in networks.items():
        assert figures["mentions"] >= 3 and figures["replies"] >= 1, name  # spread over every network
    assert networks["x"]["mentions"] <= 40 // 3
    # Whole conversations, counted from the fakes: three customers found by listening (two on X, one on
    # VK; not those using the word for something else), one handoff, three deletions (Mastodon, Bluesky,
    # Facebook) noted on their tickets as internal notes, images attached.
    assert (summary["listening"], summary["handoffs"], summary["deletions"]) == (3, 1, 3)
    assert summary["attachments"] >= 1
    # Every brand account and the Salesforce org were connected through their guided flows (the audit
    # trail says "via": "connect_flow" for each), none inserted by hand.
    accounts = summary["accounts"]
    assert {a.split(":", 1)[0] for a in accounts["via_connect_flow"]} == set(networks)
    assert len(accounts["via_connect_flow"]) == len(networks) and accounts["not_via_connect_flow"] == []
    assert accounts["crm_via_connect_flow"] == ["salesforce"]
