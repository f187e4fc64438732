"""The rollup rows every service figure is read from, and the arithmetic of adding to them.

A change to a service fact adds a ``Delta`` to one ``metric_hours`` and one ``metric_days`` row (tenant,
bucket, brand account, network) inside the transaction that changes the fact (plugin/store/service.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, insert, select, update
from sqlalchemy.exc import IntegrityError

from plugin.store import tables as t
from plugin.store.db import as_utc, utcnow

if TYPE_CHECKING:
    from plugin.store.inbox import RoutedMention

# Upper edges (minutes) of the first-response histogram: every 5 minutes up to a day, then a few
# coarse ones. An SLA threshold must be one of them (checked where thresholds are configured).
HISTOGRAM_EDGES: tuple[int, ...] = (*range(5, 24 * 60 + 1, 5), 36 * 60, 48 * 60, 72 * 60, 7 * 24 * 60)
OVERFLOW = "inf"
SCALARS = ("mentions", "promoting", "detracting", "answered", "resolved")
SUMS = ("response_seconds", "resolution_seconds")
COUNTERS = ("response_histogram", "business_histogram", "by_intent", "by_sentiment", "praise", "csat")


def histogram_bucket(seconds: float) -> str:
    """The histogram key a response time falls in: the smallest edge it does not exceed."""
    minutes = max(0.0, seconds) / 60.0
    for edge in HISTOGRAM_EDGES:
        if minutes <= edge:
            return str(edge)
    return OVERFLOW


def promoting(labels: Mapping[str, Any]) -> bool:
    """Praise, or positive about anything but spam/security (the Social Promoter Score's numerator)."""
    return labels.get("intent") == "praise" or (
        labels.get("sentiment") == "positive" and labels.get("intent") not in ("spam", "security")
    )


def detracting(labels: Mapping[str, Any]) -> bool:
    return labels.get("intent") == "complaint" or (
        labels.get("sentiment") == "negative" and labels.get("intent") not in ("spam", "security")
    )


def hour_of(value: datetime) -> datetime:
    value = as_utc(value) or value
    return value.replace(minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class HourRow:
    hour: datetime
    account_id: int
    network: str
    mentions: int
    promoting: int
    detracting: int
    answered: int
    response_seconds: float
    response_histogram: dict[str, int]
    resolved: int
    resolution_seconds: float
    by_intent: dict[str, int]
    by_sentiment: dict[str, int]
    praise: dict[str, int]
    csat: dict[str, int]
    # First responses in the tenant's business time (plugin/businesshours.py); the same as
    # ``response_histogram`` for a tenant whose clock runs around the clock.
    business_histogram: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class FactRow:
    id: int
    tenant_id: int
    mention_id: int
    account_id: int
    network: str
    author_external_id: str
    created_at: datetime
    first_reply_at: datetime | None
    solved_at: datetime | None
    csat_state: str | None
    csat_rating: int | None


@dataclass(frozen=True)
class Delta:
    """What one change adds to a rollup row."""

    counts: Mapping[str, int]
    sums: Mapping[str, float]
    counters: Mapping[str, Mapping[str, int]]


def _empty_row(tenant_id: int, column: str, start: datetime, account_id: int, network: str) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id, column: start, "account_id": account_id, "network": network,
        **dict.fromkeys(SCALARS, 0), **dict.fromkeys(SUMS, 0), **{c: {} for c in COUNTERS},
    }  # fmt: skip


def bump(conn: Connection, tenant_id: int, hour: datetime, account_id: int, network: str, delta: Delta) -> None:
    """Add ``delta`` to the hour's and the day's rollup rows."""
    bump_many(conn, [(RollupKey(tenant_id, hour, account_id, network), delta)])


@dataclass(frozen=True, order=True)
class RollupKey:
    """The rollup row (per hour, and per day of that hour) a contribution goes to."""

    tenant_id: int
    hour: datetime
    account_id: int
    network: str


def merged(a: Delta, b: Delta) -> Delta:
    """One delta adding what ``a`` and ``b`` add."""
    counts = dict(a.counts)
    for name, n in b.counts.items():
        counts[name] = counts.get(name, 0) + n
    sums = dict(a.sums)
    for name, amount in b.sums.items():
        sums[name] = sums.get(name, 0.0) + amount
    counters = {name: dict(c) for name, c in a.counters.items()}
    for name, c in b.counters.items():
        into = counters.setdefault(name, {})
        for k, n in c.items():
            into[k] = into.get(k, 0) + n
    return Delta(counts, sums, counters)


def bump_many(conn: Connection, contributions: Iterable[tuple[RollupKey, Delta]]) -> None:
    """Add every contribution to its hour's and day's rollup rows: one update per row, however many
    contributions it gets, every hour row in key order and then every day row in key order.

    One tenant's mentions all land on the same few rows, so every worker's transaction locks them:
    summed first, a group commit of 50 mentions holds each row for one UPDATE instead of 50, and
    callers bump as the last step of their transaction, so the lock is held until the commit only
    (not across the rest of their writes). One locking order for everybody keeps two such
    transactions from deadlocking on rows of different hours of the same day."""
    by_key: dict[RollupKey, Delta] = {}
    for key, delta in contributions:
        by_key[key] = merged(by_key[key], delta) if key in by_key else delta
    by_day: dict[RollupKey, Delta] = {}
    for key in sorted(by_key):
        _bump_one(conn, t.metric_hours, "hour", key.hour, key.tenant_id, key.account_id, key.network, by_key[key])
        day = RollupKey(key.tenant_id, key.hour.replace(hour=0), key.account_id, key.network)
        by_day[day] = merged(by_day[day], by_key[key]) if day in by_day else by_key[key]
    for key in sorted(by_day):
        _bump_one(conn, t.metric_days, "day", key.hour, key.tenant_id, key.account_id, key.network, by_day[key])


def _bump_one(
    conn: Connection, h: Any, column: str, start: datetime, tenant_id: int, account_id: int, network: str, delta: Delta
) -> None:
    """One rollup row, created first if needed (and row-locked on PostgreSQL while it is updated)."""
    key = and_(h.c.tenant_id == tenant_id, h.c[column] == start, h.c.account_id == account_id, h.c.network == network)
    row = conn.execute(select(h).where(key).with_for_update()).mappings().first()
    if row is None:
        try:
            with conn.begin_nested():  # two first contributions at once: one insert wins, the other updates
                conn.execute(insert(h).values(**_empty_row(tenant_id, column, start, account_id, network)))
        except IntegrityError:
            pass
        row = conn.execute(select(h).where(key).with_for_update()).mappings().one()
    values: dict[str, Any] = {}
    for name, n in delta.counts.items():
        values[name] = h.c[name] + n
    for name, amount in delta.sums.items():
        values[name] = float(row[name] or 0) + amount
    for name, counts in delta.counters.items():
        merged = dict(row[name] or {})
        for k, n in counts.items():
            merged[k] = int(merged.get(k, 0)) + n
        values[name] = merged
    conn.execute(update(h).where(h.c.id == row["id"]).values(**values))


def _fact(row: Any) -> FactRow:
    return FactRow(
        id=int(row.id), tenant_id=int(row.tenant_id), mention_id=int(row.mention_id),
        account_id=int(row.account_id or 0), network=row.network, author_external_id=row.author_external_id,
        created_at=as_utc(row.created_at) or row.created_at, first_reply_at=as_utc(row.first_reply_at),
        solved_at=as_utc(row.solved_at), csat_state=row.csat_state,
        csat_rating=row.csat_rating,
    )  # fmt: skip


def _hour_row(r: Any, column: str = "hour") -> HourRow:
    values: dict[str, Any] = {
        "hour": as_utc(r[column]) or r[column], "account_id": int(r["account_id"]), "network": r["network"],
    }  # fmt: skip
    values.update({k: int(r[k]) for k in SCALARS})
    values.update({k: float(r[k] or 0) for k in SUMS})
    values.update({k: {str(a): int(b) for a, b in (r[k] or {}).items()} for k in COUNTERS})
    if r.get("business_histogram") is None:  # a row written before migration 0014's backfill
        values["business_histogram"] = values["response_histogram"]
    return HourRow(**values)


def mention_delta(labels: Mapping[str, Any]) -> Delta:
    extra = labels.get("praise_employees") or []
    return Delta(
        counts={"mentions": 1, "promoting": int(promoting(labels)), "detracting": int(detracting(labels))},
        sums={},
        counters={
            "by_intent": {str(labels.get("intent") or "none"): 1},
            "by_sentiment": {str(labels.get("sentiment") or "none"): 1},
            "praise": {str(e): 1 for e in extra} if labels.get("intent") == "praise" else {},
        },
    )


def record_routed(conn: Connection, routed: Iterable[RoutedMention]) -> None:
    """Inside routing's write transaction: a fact and its rollup contribution per engaged mention
    (the contributions summed per rollup row and bumped last, see ``bump_many``). The facts that
    exist already (routing again after a crash) are read with one query and the new ones written
    with one multi-row INSERT for the whole group."""
    f = t.service_facts
    engaged = [r for r in routed if r.engaged]
    if not engaged:
        return
    ids = sorted({r.mention.id for r in engaged})
    have = {int(i) for i in conn.execute(select(f.c.mention_id).where(f.c.mention_id.in_(ids))).scalars()}
    facts: list[dict[str, Any]] = []
    contributions: list[tuple[RollupKey, Delta]] = []
    for r in engaged:
        if r.mention.id in have:
            continue
        have.add(r.mention.id)
        payload = r.mention.payload
        created = as_utc(datetime.fromisoformat(str(payload["created_at"]).replace("Z", "+00:00")))
        received = as_utc(r.mention.received_at) or utcnow()
        created = min(created or received, received)  # a clock ahead of ours never makes time negative
        account_id = int(r.mention.account_id or 0)
        facts.append({
            "tenant_id": r.mention.tenant_id, "mention_id": r.mention.id, "account_id": account_id,
            "network": r.mention.network, "thread_key": str(payload.get("thread_id") or r.mention.external_id),
            "author_external_id": str(payload["author"]["external_id"]), "created_at": created,
            "hour": hour_of(created),
        })  # fmt: skip
        key = RollupKey(r.mention.tenant_id, hour_of(created), account_id, r.mention.network)
        contributions.append((key, mention_delta(r.labels)))
    if facts:
        conn.execute(insert(f), facts)
    bump_many(conn, contributions)
