"""Business hours: the clock an SLA runs on when a support team is not there around the clock.

A tenant's hours are written as one line, the IANA time zone first, then the open hours per day::

    Europe/Berlin: Mon-Fri 09:00-17:00; Sat 10:00-14:00

Empty means around the clock (every figure is then calendar time). A mention written on Friday at 16:30
and answered on Monday at 09:30 was answered within one business hour. Days are Mon..Sun; a rule names a
day or a range (``Mon-Fri``, ``Fri-Mon`` wraps); ``24:00`` closes at midnight. Local times follow the
zone's daylight-saving changes. Holidays are not modelled (README, "Service metrics").
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

log = logging.getLogger(__name__)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_SPEC = 500
_RULE = re.compile(r"^([A-Za-z]{3})(?:-([A-Za-z]{3}))?\s+(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
# Adding hours never looks further ahead than this: a week always has some open time (checked on parse).
_MAX_DAYS = 8 * 7


class BusinessHoursError(ValueError):
    """The spec cannot be read; the message says what to write instead."""


@dataclass(frozen=True)
class BusinessHours:
    """Open intervals per weekday (0 = Monday), as seconds after local midnight, in ``zone``."""

    zone: str = "UTC"
    week: tuple[tuple[tuple[int, int], ...], ...] = ()  # empty = around the clock
    spec: str = ""

    @property
    def always(self) -> bool:
        return not self.week

    def _open_on(self, day: date) -> tuple[tuple[int, int], ...]:
        return self.week[day.weekday()]

    def _local(self, moment: datetime) -> datetime:
        return moment.astimezone(ZoneInfo(self.zone))

    def _span(self, day: date, start: int, end: int) -> tuple[datetime, datetime]:
        tz = ZoneInfo(self.zone)
        return _wall(day, start, tz), _wall(day, end, tz)

    def elapsed(self, start: datetime, end: datetime) -> float:
        """Business seconds between two instants (0 when ``end`` is not after ``start``)."""
        if end <= start:
            return 0.0
        if self.always:
            return (end - start).total_seconds()
        total = 0.0
        day = self._local(start).date() - timedelta(days=1)  # an interval may start the day before
        last = self._local(end).date()
        while day <= last:
            for opens, closes in self._open_on(day):
                a, b = self._span(day, opens, closes)
                lo, hi = max(a, start), min(b, end)
                if hi > lo:
                    total += (hi - lo).total_seconds()
            day += timedelta(days=1)
        return total

    def add(self, start: datetime, seconds: float) -> datetime:
        """The instant at which ``seconds`` business seconds have passed since ``start``."""
        if self.always:
            return start + timedelta(seconds=seconds)
        left = max(0.0, seconds)
        day = self._local(start).date() - timedelta(days=1)
        for _ in range(_MAX_DAYS + 2):
            for opens, closes in self._open_on(day):
                a, b = self._span(day, opens, closes)
                lo = max(a, start)
                if b <= lo:
                    continue
                available = (b - lo).total_seconds()
                if left <= available:
                    return lo + timedelta(seconds=left)
                left -= available
            day += timedelta(days=1)
        return start + timedelta(days=_MAX_DAYS)  # unreachable for a parsed spec (a week has open time)


def _wall(day: date, offset: int, tz: ZoneInfo) -> datetime:
    """``offset`` seconds after local midnight of ``day`` as a UTC instant (24:00 = the next midnight).
    Going through UTC keeps real durations across daylight-saving changes."""
    if offset >= 24 * 3600:
        return datetime.combine(day + timedelta(days=1), time(), tzinfo=tz).astimezone(UTC)
    hours, rest = divmod(offset, 3600)
    return datetime.combine(day, time(hours, rest // 60, rest % 60), tzinfo=tz).astimezone(UTC)


ALWAYS = BusinessHours()


def parse(spec: str | None) -> BusinessHours:
    """``"Europe/Berlin: Mon-Fri 09:00-17:00; Sat 10:00-14:00"``; empty = around the clock."""
    text = (spec or "").strip()
    if not text:
        return ALWAYS
    if len(text) > MAX_SPEC:
        raise BusinessHoursError(f"business hours are at most {MAX_SPEC} characters")
    zone, sep, rules = text.partition(":")
    zone = zone.strip()
    if not sep or not rules.strip():
        raise BusinessHoursError(
            "write the time zone, a colon, then the hours, e.g. 'Europe/Berlin: Mon-Fri 09:00-17:00; Sat 10:00-14:00'"
        )
    if zone not in available_timezones() and zone != "UTC":
        raise BusinessHoursError(f"{zone!r} is not an IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise BusinessHoursError(f"{zone!r} is not an IANA time zone") from None
    week: list[list[tuple[int, int]]] = [[] for _ in DAYS]
    for raw in rules.split(";"):
        rule = raw.strip()
        if not rule:
            continue
        found = _RULE.match(rule)
        if found is None:
            raise BusinessHoursError(
                f"cannot read {rule!r}: write a day or days and the hours, e.g. 'Mon-Fri 09:00-17:00'"
            )
        first, last, h1, m1, h2, m2 = found.groups()
        days = _days(first, last or first)
        opens, closes = _clock(int(h1), int(m1), rule), _clock(int(h2), int(m2), rule)
        if closes <= opens:
            raise BusinessHoursError(f"in {rule!r} the hours must close after they open (overnight: two rules)")
        for d in days:
            if any(opens < b and a < closes for a, b in week[d]):
                raise BusinessHoursError(f"{rule!r} overlaps hours given before for {DAYS[d].title()}")
            week[d].append((opens, closes))
    if not any(week):
        raise BusinessHoursError("business hours need at least one open interval")
    return BusinessHours(zone=zone, week=tuple(tuple(sorted(d)) for d in week), spec=text)


def stored(spec: str | None) -> BusinessHours:
    """A spec read back from the database: it was checked when saved; one that no longer reads (a time
    zone dropped from the system's tz database) falls back to around the clock, loudly."""
    try:
        return parse(spec)
    except BusinessHoursError as exc:
        log.warning("stored business hours %r no longer read (%s): using around the clock", spec, exc)
        return ALWAYS


def _days(first: str, last: str) -> list[int]:
    names = [first.lower(), last.lower()]
    for name in names:
        if name not in DAYS:
            raise BusinessHoursError(f"{name!r} is not a day; use Mon, Tue, Wed, Thu, Fri, Sat, Sun")
    a, b = DAYS.index(names[0]), DAYS.index(names[1])
    return [(a + i) % 7 for i in range((b - a) % 7 + 1)]


def _clock(hours: int, minutes: int, rule: str) -> int:
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise BusinessHoursError(f"{hours:02d}:{minutes:02d} in {rule!r} is not a time of day")
    return hours * 3600 + minutes * 60
