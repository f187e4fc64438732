"""Business hours: the spec, business time across nights, weekends and DST, and the SLA figures on a
tenant's clock, by hand on the fixed data set (dataset.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from plugin import businesshours
from plugin.businesshours import BusinessHoursError, parse
from plugin.dashboard import figures
from plugin.runtime import Runtime, build_runtime
from tests.conftest import fast_settings
from tests.dashboard import dataset
from tests.dashboard.dataset import DAY, NOW
from tests.security.conftest import ZENDESK, install

BERLIN = "Europe/Berlin: Mon-Fri 09:00-17:00; Sat 10:00-14:00"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_elapsed_skips_nights_and_closed_days() -> None:
    hours = parse(BERLIN)
    # Friday 16:30 Berlin (15:30 UTC) to Monday 09:30 Berlin: 30 min Friday, 4 h Saturday, 30 min Monday.
    assert hours.elapsed(utc(2026, 11, 27, 15, 30), utc(2026, 11, 30, 8, 30)) == 5 * 3600
    # Inside one open interval it is plain time; wholly outside it is nothing.
    assert hours.elapsed(utc(2026, 11, 30, 9, 0), utc(2026, 11, 30, 9, 45)) == 45 * 60
    assert hours.elapsed(utc(2026, 11, 29, 1, 0), utc(2026, 11, 29, 22, 0)) == 0  # a Sunday
    assert hours.elapsed(utc(2026, 11, 30, 10, 0), utc(2026, 11, 30, 9, 0)) == 0


def test_add_is_the_inverse_of_elapsed() -> None:
    hours = parse(BERLIN)
    start = utc(2026, 11, 27, 15, 30)  # Friday 16:30 Berlin
    assert hours.add(start, 3600) == utc(2026, 11, 28, 9, 30)  # Saturday 10:30 Berlin
    assert hours.add(utc(2026, 11, 28, 20, 0), 1800) == utc(2026, 11, 30, 8, 30)  # Saturday night -> Monday
    for seconds in (0, 60, 3600 * 7, 3600 * 30):
        assert hours.elapsed(start, hours.add(start, seconds)) == pytest.approx(seconds)


def test_daylight_saving_change_keeps_real_durations() -> None:
    hours = parse("Europe/Berlin: Sun 00:00-24:00")
    # 2026-03-29: Berlin skips 02:00-03:00, so that Sunday is 23 hours long.
    assert hours.elapsed(utc(2026, 3, 28, 0, 0), utc(2026, 3, 30, 0, 0)) == 23 * 3600
    # 2026-10-25: 02:00-03:00 happens twice, a 25-hour Sunday.
    assert hours.elapsed(utc(2026, 10, 24, 0, 0), utc(2026, 10, 26, 0, 0)) == 25 * 3600


def test_day_ranges_wrap_and_midnight_closes() -> None:
    hours = parse("UTC: Fri-Mon 20:00-24:00")
    assert [bool(day) for day in hours.week] == [True, False, False, False, True, True, True]
    assert hours.elapsed(utc(2026, 11, 30, 23, 0), utc(2026, 12, 1, 21, 0)) == 3600  # Monday 23-24, Tuesday closed


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("Mon-Fri 09:00-17:00", "time zone"),
        ("Mars/Olympus: Mon 09:00-17:00", "IANA time zone"),
        ("UTC: Mon 17:00-09:00", "close after they open"),
        ("UTC: Funday 09:00-17:00", "cannot read"),
        ("UTC: Fun 09:00-17:00", "not a day"),
        ("UTC: Mon 09:00-25:00", "not a time of day"),
        ("UTC: Mon 09:00-12:00; Mon 11:00-13:00", "overlaps"),
        ("UTC: ", "time zone"),
        ("UTC: Mon 09:00-17:00" + "; Tue 09:00-17:00" * 40, "at most"),
    ],
)  # fmt: skip
def test_bad_specs_say_what_to_write(spec: str, says: str) -> None:
    with pytest.raises(BusinessHoursError, match=says):
        parse(spec)


def test_empty_is_around_the_clock_and_a_spec_reads_back() -> None:
    assert parse("").always and parse(None).always
    assert parse(BERLIN).spec == BERLIN
    assert businesshours.stored("Gone/Zone: Mon 09:00-17:00").always  # a stored spec that no longer reads


@pytest.fixture
def rt_with_hours(tmp_path: object, any_database_url: str) -> Iterator[tuple[Runtime, int]]:
    rt = build_runtime(fast_settings(str(tmp_path), any_database_url, zendesk_api_base=ZENDESK))
    acme = install(rt, "acme", "1001")
    mastodon = rt.store.upsert_account(acme.id, "mastodon", "brand", {"access_token": "t"}, handle="brand")
    # Open three hours a weekday morning; set before the data set's answers are recorded.
    rt.store.csat.set_business_hours(acme.id, "UTC: Mon-Fri 09:00-12:00", "test")
    dataset.load(rt, acme.id, {"x": acme.account_id, "mastodon": mastodon})
    yield rt, acme.id
    rt.db.dispose()


def test_sla_on_business_hours_by_hand(rt_with_hours: tuple[Runtime, int]) -> None:
    rt, tenant_id = rt_with_hours
    filters = figures.Filters(DAY, DAY + timedelta(days=1), "custom")
    rows = rt.store.service.hours(tenant_id, filters.since, filters.until)
    clock = businesshours.stored(rt.store.csat.business_hours(tenant_id))
    totals: dict[str, Any] = figures.metrics(rows, filters, (60, 360, 1440), NOW, clock)["totals"]
    sla = {s["threshold_minutes"]: (s["within"], s["due"], s["share"]) for s in totals["sla"]}
    # Business minutes to the answer (Monday 2020-01-06, open 09-12 UTC): m1 30, m2 170 (09:10-12:00),
    # m3 160 (09:20-12:00; answered Tuesday 07:20, before opening), m5 5, m6 50; m4 never.
    # m4 (the 10:00 hour, ended 11:00) is overdue for 60 business minutes (Monday 12:00 < NOW, Wednesday
    # 00:00) but not yet for 360 (Monday 1 h + Tuesday 3 h + Wednesday 2 h: Wednesday 11:00).
    assert sla == {60: (3, 6, 50.0), 360: (5, 5, 100.0), 1440: (5, 5, 100.0)}
    assert totals["sla_clock"] == "business hours (UTC: Mon-Fri 09:00-12:00)"
    # First response itself stays calendar time: (30 + 180 + 1320 + 5 + 50) / 5.
    assert totals["first_response"]["mean_minutes"] == 317.0
    # Around the clock, the same rows give the calendar SLA (test_definitions.py).
    calendar = figures.metrics(rows, filters, (60, 360, 1440), NOW)["totals"]
    assert [(s["within"], s["due"]) for s in calendar["sla"]] == [(3, 6), (4, 6), (5, 6)]
