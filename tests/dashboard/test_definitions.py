"""The metric definitions against figures computed by hand on the fixed data set (dataset.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from plugin.dashboard import figures
from plugin.errors import BadInput
from tests.dashboard.conftest import Loaded
from tests.dashboard.dataset import DAY, NOW, at

THRESHOLDS = (60, 360, 1440)


def _figures(loaded: Loaded, network: str | None = None, account: int | None = None) -> dict[str, Any]:
    filters = figures.Filters(DAY, DAY + timedelta(days=1), "custom", network, account)
    service = loaded.rt.store.service
    rows = service.hours(loaded.acme.id, filters.since, filters.until, network=network, account_id=account)
    return figures.metrics(rows, filters, THRESHOLDS, NOW)


def _sla(totals: dict[str, Any]) -> dict[int, tuple[int, int, float | None]]:
    return {s["threshold_minutes"]: (s["within"], s["due"], s["share"]) for s in totals["sla"]}


def test_first_response_sla_resolution_by_hand(loaded: Loaded) -> None:
    totals = _figures(loaded)["totals"]
    assert (totals["mentions"], totals["answered"], totals["unanswered"]) == (6, 5, 1)
    # (30 + 180 + 1320 + 5 + 50) / 5 answers
    assert totals["first_response"]["mean_minutes"] == 317.0
    # sorted 5, 30, 50, 180, 1320: the median is 50 (a 5-minute bucket edge), the 90th the 1320 one
    assert totals["first_response"]["median_minutes_at_most"] == 50.0
    assert totals["first_response"]["p90_minutes_at_most"] == 1320.0
    # due = 5 answered + the unanswered m4, long overdue at NOW
    assert _sla(totals) == {60: (3, 6, 50.0), 360: (4, 6, 66.7), 1440: (5, 6, 83.3)}
    # solved m1 after 2 h, m2 after 12 h, m5 after 0.5 h
    assert (totals["resolved"], totals["resolution_rate"]) == (3, 50.0)
    assert totals["resolution"]["mean_hours"] == round((2 + 12 + 0.5) / 3, 2)
    # open: m3, m4 (09:00 and 10:00 hours), m6 (10:00); the oldest open hour began 39 h before NOW
    assert totals["backlog"] == {
        "open": 3,
        "oldest_hours": 39.0,
        "by_age": {"under 1 h": 0, "1-6 h": 0, "6-24 h": 0, "1-3 days": 3, "over 3 days": 0},
    }


def test_sps_volume_praise_csat_by_hand(loaded: Loaded) -> None:
    totals = _figures(loaded)["totals"]
    # promoting: m1 (praise), m5 and m6 (positive); detracting: m2, m4 (complaints) -> (3 - 2) / 6
    assert (totals["promoting"], totals["detracting"], totals["sps"]) == (3, 2, 16.7)
    assert totals["volume"]["by_network"] == {"x": 5, "mastodon": 1}
    assert totals["volume"]["by_intent"] == {"question": 3, "complaint": 2, "praise": 1}
    assert totals["volume"]["by_sentiment"] == {"positive": 3, "negative": 2, "neutral": 1}
    assert totals["praise"] == {"lee": 1}
    # ratings 5, 2, 4: average 11/3, satisfied (4-5) 2 of 3, one negative; m3 skipped
    assert totals["csat"] == {
        "asked": 3, "skipped": 1, "failed": 0, "answered": 3, "ratings": {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1},
        "average": 3.67, "score": 66.7, "negative": 1,
    }  # fmt: skip


def test_filters_by_network_and_account(loaded: Loaded) -> None:
    x = _figures(loaded, network="x")["totals"]
    # m1..m5: answered within 30, 180, 1320, 5 min; m4 never
    assert (x["mentions"], x["answered"]) == (5, 4)
    assert _sla(x) == {60: (2, 5, 40.0), 360: (3, 5, 60.0), 1440: (4, 5, 80.0)}
    assert x["sps"] == 0.0  # promoting m1, m5; detracting m2, m4
    mastodon = _figures(loaded, account=loaded.accounts["mastodon"])["totals"]
    assert (mastodon["mentions"], mastodon["answered"], mastodon["sps"]) == (1, 1, 100.0)
    assert _sla(mastodon)[60] == (1, 1, 100.0)


def test_series_per_hour_and_per_day(loaded: Loaded) -> None:
    hourly = _figures(loaded)["series"]
    assert len(hourly) == 24 and hourly[0]["start"] == "2020-01-06T00:00:00Z"
    nine, ten = hourly[9], hourly[10]
    assert (nine["mentions"], nine["answered"], nine["resolved"]) == (3, 3, 2)
    assert nine["sla"] == {"60": 33.3, "360": 66.7, "1440": 100.0}
    assert (ten["mentions"], ten["answered"], ten["sps"]) == (3, 2, 33.3)  # m4 -, m5 +, m6 +: (2 - 1) / 3
    filters = figures.Filters(DAY - timedelta(days=3), DAY + timedelta(days=4), "custom")
    days = loaded.rt.store.service.rollup(loaded.acme.id, filters.since, filters.until, grain="day")
    assert len(days) == 2  # one row per account and network for the day
    daily = figures.metrics(days, filters, THRESHOLDS, NOW)
    assert [d["mentions"] for d in daily["series"]] == [0, 0, 0, 6, 0, 0, 0]
    # the daily rollup holds exactly what the hours hold (only "due" and ages are coarser: a day's end)
    hourly_totals = figures.summary(
        loaded.rt.store.service.hours(loaded.acme.id, DAY, DAY + timedelta(days=1)), THRESHOLDS, NOW
    )
    same = {k for k in hourly_totals if k not in ("sla", "backlog")}
    assert {k: daily["totals"][k] for k in same} == {k: hourly_totals[k] for k in same}
    assert [s["within"] for s in daily["totals"]["sla"]] == [3, 4, 5]
    assert daily["totals"]["backlog"]["open"] == 3


def test_an_answer_not_yet_due_is_not_a_miss(loaded: Loaded) -> None:
    service = loaded.rt.store.service
    rows = service.hours(loaded.acme.id, DAY, DAY + timedelta(days=1))
    # At 11:30 the 10:00-hour mentions (m4 unanswered) are not yet past 1 h from the end of their hour.
    early = figures.sla(rows, THRESHOLDS, at(11, 30))
    assert early[0]["due"] == 5 and early[0]["within"] == 3
    # and m3 (09:20, answered after 22 h) was not answered yet at 11:30 either: only answered rows count
    assert figures.sla(rows, THRESHOLDS, NOW)[0]["due"] == 6


def test_repeated_events_count_once(loaded: Loaded) -> None:
    service = loaded.rt.store.service
    before = _figures(loaded)["totals"]
    assert service.record_reply(loaded.acme.id, "x", "m1", None, at(9, 45)) == 0
    assert service.record_solved(loaded.acme.id, "zendesk", [("t-m1", at(23))]) == []
    fact = service.facts_for_ticket(loaded.acme.id, "zendesk", "t-m1")[0]
    assert service.record_csat(fact.id, "answered", rating=1) is False
    assert _figures(loaded)["totals"] == before


def test_a_reply_answers_the_whole_thread_written_before_it(loaded: Loaded) -> None:
    from plugin.models import Author, Mention
    from plugin.store.inbox import RoutedMention

    store, tenant = loaded.rt.store, loaded.acme.id
    first = Mention(network="x", external_id="t1", thread_id="conv", author=Author(external_id="a"),
                    created_at=at(14), account="brand")  # fmt: skip
    second = first.model_copy(update={"external_id": "t2", "created_at": at(14, 20)})
    later = first.model_copy(update={"external_id": "t3", "created_at": at(15)})
    for mention in (first, second, later):
        mention_id = store.inbox.insert(tenant, loaded.accounts["x"], mention)
        assert mention_id is not None
        row = store.inbox.for_routing_many([mention_id])[0][0]
        store.inbox.finish_routing_many([RoutedMention(row, True, {"intent": "question"}, {})])
    # One reply to the second message answers the first too (same conversation), not the later one.
    assert store.service.record_reply(tenant, "x", "t2", None, at(14, 30)) == 2
    fourteen = figures.summary(store.service.hours(tenant, at(14), at(15)), THRESHOLDS, NOW)
    assert fourteen["answered"] == 2 and fourteen["first_response"]["mean_minutes"] == (30 + 10) / 2


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        ({"period": "1y"}, "period must be one of"),
        ({"network": "myspace"}, "network must be one of"),
        ({"account": "abc"}, "account must be"),
        ({"since": "yesterday"}, "since must be an ISO 8601"),
        ({"since": "2020-01-02", "until": "2020-01-01"}, "since must be before until"),
        ({"since": "2000-01-01", "until": "2020-01-01"}, "at most 400 days"),
    ],
)
def test_bad_filters_are_refused_with_a_reason(args: dict[str, str], reason: str) -> None:
    with pytest.raises(BadInput, match=reason):
        figures.parse_filters(args, NOW, ["x", "mastodon"])


def test_thresholds_must_be_measured_edges() -> None:
    assert figures.parse_thresholds("30, 60,240") == (30, 60, 240)
    assert figures.parse_thresholds("") == THRESHOLDS
    with pytest.raises(ValueError, match="not measured"):
        figures.parse_thresholds("61")


def test_a_conversation_in_both_crms_is_resolved_once_by_the_first_solve(loaded: Loaded) -> None:
    service, tenant = loaded.rt.store.service, loaded.acme.id
    # m3 is open in Zendesk (t-m3); it is also a SocialPost in Salesforce.
    assert service.link_tickets(tenant, "salesforce", [("0ST000000000001", "x", "m3")]) == 1
    assert service.link_tickets(tenant, "salesforce", [("0ST000000000002", "x", "m3")]) == 0  # first link kept
    assert "0ST000000000001" in service.open_tickets(tenant, "salesforce")
    assert len(service.record_solved(tenant, "salesforce", [("0ST000000000001", at(20))])) == 1
    assert service.record_solved(tenant, "zendesk", [("t-m3", at(21))]) == []
    assert "t-m3" not in service.open_tickets(tenant, "zendesk")
    totals = _figures(loaded)["totals"]
    mean = round((2 + 12 + 0.5 + (20 - 9 - 1 / 3)) / 4, 2)  # m3 was written at 09:20, solved at 20:00
    assert totals["resolved"] == 4 and totals["resolution"]["mean_hours"] == mean
