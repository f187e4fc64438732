"""The service figures, computed from the hourly rollup rows only (definitions: README, "Service metrics").

Every figure here is a pure function of ``HourRow``s, the filters and "now", so the dashboard page and
``/api/metrics`` show the same numbers for the same filters, and tests check them by hand.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from plugin.businesshours import ALWAYS, BusinessHours
from plugin.errors import BadInput
from plugin.store.service import HISTOGRAM_EDGES, OVERFLOW, HourRow

PERIODS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30), "90d": timedelta(days=90)}
DEFAULT_PERIOD = "7d"
DEFAULT_SLA_MINUTES = (60, 360, 1440)
MAX_RANGE = timedelta(days=400)
BACKLOG_AGES = (("under 1 h", 1), ("1-6 h", 6), ("6-24 h", 24), ("1-3 days", 72), ("over 3 days", None))
NEGATIVE_RATINGS = ("1", "2")
SATISFIED_RATINGS = ("4", "5")


@dataclass(frozen=True)
class Filters:
    since: datetime
    until: datetime
    period: str  # one of PERIODS, or "custom"
    network: str | None = None
    account_id: int | None = None

    @property
    def granularity(self) -> str:
        return "hour" if self.until - self.since <= timedelta(hours=48) else "day"

    @property
    def bucket(self) -> timedelta:
        return timedelta(hours=1) if self.granularity == "hour" else timedelta(days=1)

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": self.period, "since": iso(self.since), "until": iso(self.until),
            "network": self.network, "account": self.account_id, "granularity": self.granularity,
        }  # fmt: skip


def iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _when(args: Mapping[str, str], name: str) -> datetime | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(f"{name} must be an ISO 8601 date or time, e.g. 2026-01-31T00:00:00Z") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def parse_filters(args: Mapping[str, str], now: datetime, networks: Iterable[str]) -> Filters:
    """Filters from query or form fields: ``period`` (24h/7d/30d/90d) or ``since``/``until``,
    ``network``, ``account`` (a brand account id). Anything else is a 400 with the reason."""
    network = (args.get("network") or "").strip() or None
    if network is not None and network not in set(networks):
        raise BadInput(f"network must be one of {', '.join(sorted(networks))}")
    account_raw = (args.get("account") or "").strip()
    if account_raw and not account_raw.isdigit():
        raise BadInput("account must be a brand account id (a number)")
    account_id = int(account_raw) if account_raw else None
    since, until = _when(args, "since"), _when(args, "until")
    if since is not None or until is not None:
        until = until or now
        since = since or until - PERIODS[DEFAULT_PERIOD]
        if since >= until:
            raise BadInput("since must be before until")
        if until - since > MAX_RANGE:
            raise BadInput(f"a custom range spans at most {MAX_RANGE.days} days")
        return Filters(since, until, "custom", network, account_id)
    period = (args.get("period") or DEFAULT_PERIOD).strip()
    if period not in PERIODS:
        raise BadInput(f"period must be one of {', '.join(PERIODS)} (or give since/until)")
    return Filters(now - PERIODS[period], now, period, network, account_id)


def parse_thresholds(value: object) -> tuple[int, ...]:
    """SLA thresholds in minutes, each a first-response histogram edge (every 5 min up to 24 h)."""
    if value in (None, "", []):
        return DEFAULT_SLA_MINUTES
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise ValueError("SLA thresholds are a list of minutes, e.g. 60,360,1440")
    out = []
    for item in items:
        minutes = int(str(item).strip())
        if minutes not in HISTOGRAM_EDGES:
            raise ValueError(f"an SLA threshold of {minutes} min is not measured: use a multiple of 5 min up to 24 h")
        out.append(minutes)
    return tuple(sorted(set(out)))


def threshold_label(minutes: int) -> str:
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"


def _ratio(part: float, whole: float, digits: int = 1) -> float | None:
    return round(100.0 * part / whole, digits) if whole else None


@dataclass
class _Sums:
    mentions: int = 0
    promoting: int = 0
    detracting: int = 0
    answered: int = 0
    response_seconds: float = 0.0
    resolved: int = 0
    resolution_seconds: float = 0.0

    def add(self, row: HourRow) -> None:
        for name in ("mentions", "promoting", "detracting", "answered", "resolved"):
            setattr(self, name, getattr(self, name) + getattr(row, name))
        self.response_seconds += row.response_seconds
        self.resolution_seconds += row.resolution_seconds


def _merge(rows: Iterable[HourRow], name: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for row in rows:
        for key, n in getattr(row, name).items():
            out[key] = out.get(key, 0) + n
    return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


def _within(histogram: Mapping[str, int], minutes: int) -> int:
    return sum(n for key, n in histogram.items() if key != OVERFLOW and int(key) <= minutes)


def _cumulative(histogram: Mapping[str, int], thresholds: Sequence[int]) -> list[int]:
    """Answers within each threshold (sorted ascending), in one pass over the histogram."""
    out = [0] * len(thresholds)
    for key, n in histogram.items():
        if key == OVERFLOW:
            continue
        minutes = int(key)
        for i, limit in enumerate(thresholds):
            if minutes <= limit:
                out[i] += n
    return out


def sla(
    rows: Sequence[HourRow],
    thresholds: Sequence[int],
    now: datetime,
    bucket: timedelta = timedelta(hours=1),
    clock: BusinessHours = ALWAYS,
) -> list[dict[str, Any]]:
    """Per threshold T: answered within T / the mentions whose answer is due, i.e. answered, or
    unanswered and written more than T ago (a mention still inside its T is not yet a miss; with the
    rollup's grain, "written" is taken as the end of its hour or day, so a miss is never early).
    With business hours, T and "ago" are business time (the histogram recorded in it)."""
    within = [0] * len(thresholds)
    due = [0] * len(thresholds)
    for row in rows:
        histogram = row.response_histogram if clock.always else row.business_histogram
        for i, n in enumerate(_cumulative(histogram, thresholds)):
            within[i] += n
        ended = row.hour + bucket
        for i, minutes in enumerate(thresholds):
            due[i] += row.answered
            if row.mentions > row.answered and clock.add(ended, minutes * 60.0) <= now:
                due[i] += row.mentions - row.answered
    return [
        {"threshold_minutes": minutes, "label": threshold_label(minutes), "within": within[i], "due": due[i],
         "share": _ratio(within[i], due[i])}
        for i, minutes in enumerate(thresholds)
    ]  # fmt: skip


def _percentile(histogram: Mapping[str, int], fraction: float) -> float | None:
    """Upper bound (minutes) of the histogram bucket holding that fraction of the answers."""
    total = sum(histogram.values())
    if not total:
        return None
    seen = 0
    for key in [str(e) for e in HISTOGRAM_EDGES] + [OVERFLOW]:
        seen += histogram.get(key, 0)
        if seen >= fraction * total:
            return None if key == OVERFLOW else float(key)
    return None


def csat(counts: Mapping[str, int]) -> dict[str, Any]:
    ratings = {str(r): int(counts.get(str(r), 0)) for r in range(1, 6)}
    answered = sum(ratings.values())
    return {
        "asked": int(counts.get("asked", 0)),
        "skipped": int(counts.get("skipped", 0)),
        "failed": int(counts.get("failed", 0)),  # asked, but the question could not be sent
        "answered": answered,
        "ratings": ratings,
        "average": round(sum(int(k) * n for k, n in ratings.items()) / answered, 2) if answered else None,
        # CSAT score: share of answers that are satisfied (4 or 5), in percent.
        "score": _ratio(sum(ratings[k] for k in SATISFIED_RATINGS), answered),
        "negative": sum(ratings[k] for k in NEGATIVE_RATINGS),
    }


def backlog(rows: Sequence[HourRow], now: datetime) -> dict[str, Any]:
    """Conversations of the period whose ticket/case is not solved, by age (the age of their hour)."""
    ages = {label: 0 for label, _ in BACKLOG_AGES}
    oldest: datetime | None = None
    for row in rows:
        open_ = row.mentions - row.resolved
        if open_ <= 0:
            continue
        oldest = row.hour if oldest is None or row.hour < oldest else oldest
        hours = (now - row.hour).total_seconds() / 3600.0
        for label, limit in BACKLOG_AGES:
            if limit is None or hours < limit:
                ages[label] += open_
                break
    return {
        "open": sum(ages.values()),
        "oldest_hours": round((now - oldest).total_seconds() / 3600.0, 1) if oldest else None,
        "by_age": ages,
    }


def summary(
    rows: Sequence[HourRow],
    thresholds: Sequence[int],
    now: datetime,
    bucket: timedelta = timedelta(hours=1),
    clock: BusinessHours = ALWAYS,
) -> dict[str, Any]:
    s = _Sums()
    for row in rows:
        s.add(row)
    histogram = _merge(rows, "response_histogram")
    by_network: dict[str, int] = {}
    for row in rows:
        by_network[row.network] = by_network.get(row.network, 0) + row.mentions
    return {
        "mentions": s.mentions,
        "answered": s.answered,
        "unanswered": s.mentions - s.answered,
        "first_response": {
            "mean_minutes": round(s.response_seconds / s.answered / 60.0, 1) if s.answered else None,
            "median_minutes_at_most": _percentile(histogram, 0.5),
            "p90_minutes_at_most": _percentile(histogram, 0.9),
        },
        "sla": sla(rows, thresholds, now, bucket, clock),
        "sla_clock": "around the clock" if clock.always else f"business hours ({clock.spec})",
        "resolved": s.resolved,
        "resolution_rate": _ratio(s.resolved, s.mentions),
        "resolution": {"mean_hours": round(s.resolution_seconds / s.resolved / 3600.0, 2) if s.resolved else None},
        "backlog": backlog(rows, now),
        "volume": {
            "by_network": dict(sorted(by_network.items(), key=lambda kv: (-kv[1], kv[0]))),
            "by_intent": _merge(rows, "by_intent"),
            "by_sentiment": _merge(rows, "by_sentiment"),
        },
        "promoting": s.promoting,
        "detracting": s.detracting,
        # Social Promoter Score: share promoting minus share detracting, in points (-100..100).
        "sps": round(100.0 * (s.promoting - s.detracting) / s.mentions, 1) if s.mentions else None,
        "praise": _merge(rows, "praise"),
        "csat": csat(_merge(rows, "csat")),
    }


def _bucket_start(hour: datetime, granularity: str) -> datetime:
    return hour if granularity == "hour" else hour.replace(hour=0)


def _point(start: datetime, rows: Sequence[HourRow], thresholds: Sequence[int], now: datetime,
           bucket: timedelta, clock: BusinessHours) -> dict[str, Any]:  # fmt: skip
    s = _Sums()
    for row in rows:
        s.add(row)
    ratings = csat(_merge(rows, "csat"))
    return {
        "start": iso(start), "mentions": s.mentions, "answered": s.answered, "resolved": s.resolved,
        "mean_first_response_minutes": round(s.response_seconds / s.answered / 60.0, 1) if s.answered else None,
        "sla": {str(x["threshold_minutes"]): x["share"] for x in sla(rows, thresholds, now, bucket, clock)},
        "sps": round(100.0 * (s.promoting - s.detracting) / s.mentions, 1) if s.mentions else None,
        "csat_average": ratings["average"], "csat_score": ratings["score"],
    }  # fmt: skip


def series(
    rows: Sequence[HourRow], filters: Filters, thresholds: Sequence[int], now: datetime, clock: BusinessHours = ALWAYS
) -> list[dict[str, Any]]:
    """The figures per hour (periods up to 48 h) or per day, every bucket of the period present."""
    step = filters.bucket
    start = _bucket_start(filters.since.replace(minute=0, second=0, microsecond=0), filters.granularity)
    grouped: dict[datetime, list[HourRow]] = {}
    for row in rows:
        grouped.setdefault(_bucket_start(row.hour, filters.granularity), []).append(row)
    out = []
    while start < filters.until:
        out.append(_point(start, grouped.get(start, []), thresholds, now, step, clock))
        start += step
    return out


def metrics(
    rows: Sequence[HourRow], filters: Filters, thresholds: Sequence[int], now: datetime, clock: BusinessHours = ALWAYS
) -> dict[str, Any]:
    """The whole answer of ``/api/metrics`` (and what the dashboard draws)."""
    return {
        "filters": filters.as_dict(),
        "generated_at": iso(now),
        "sla_thresholds_minutes": list(thresholds),
        "totals": summary(rows, thresholds, now, filters.bucket, clock),
        "series": series(rows, filters, thresholds, now, clock),
    }
