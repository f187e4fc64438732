"""Token buckets in the database: one rate budget per target, shared by every worker process.

A bucket holds up to ``capacity`` tokens and refills at ``per_second``; a call spends ``cost``
tokens. Spending is ONE conditional UPDATE that refills and spends in the same statement
(``tokens + elapsed * per_second``, capped, must cover the cost), so two processes racing for the
last token cannot both win, on SQLite (writers serialised by ``BEGIN IMMEDIATE``) as on PostgreSQL
(the row lock of the UPDATE). The first spend of a target INSERTs its row full; a concurrent INSERT
of the same row falls back to the UPDATE.

A batch that costs more than the whole bucket (a push to 40 channel instances from a bucket of 35)
is let through when the bucket is full and leaves it in debt (negative tokens): it could never be
sent otherwise, and the debt makes everyone wait for it to be paid back. What the service says
(``observe``: remaining calls, its real limit; ``hold``: a 429's Retry-After) corrects the bucket,
which only ever lowers the tokens: a header never lets more through than the bucket would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, case, insert, literal, select, update
from sqlalchemy.exc import IntegrityError

from plugin.store.db import Database
from plugin.store.rate_tables import rate_buckets

MIN_CAPACITY = 1.0
EPSILON = 1e-6  # a refill computed to 1.9999999 tokens pays for 2: float rounding must not refuse


@dataclass(frozen=True)
class BucketSpec:
    """A service's limit (``limit`` calls per ``window`` seconds) as a bucket that stays under it.

    ``headroom`` is the share kept as the burst: the bucket refills at ``(1 - headroom)`` of the
    limit and holds ``headroom`` of it, so that in any window of the service at most
    ``capacity + refill * window = limit`` calls go out, whatever the phase of the service's window.

    ``burst`` (a share of the limit) replaces that burst for a long window whose service reports the
    exact remaining on every answer (a Salesforce org's rolling 24-hour allocation): the bucket may
    then hold most of the limit at once, because every answer caps it at what is really left
    (``observe``), while pacing a day's allocation over the day would hold a bad day's work for hours.
    """

    limit: float
    window: float
    headroom: float = 0.05
    burst: float | None = None

    @property
    def capacity(self) -> float:
        share = self.headroom if self.burst is None else self.burst
        return max(MIN_CAPACITY, self.limit * share)

    @property
    def per_second(self) -> float:
        return max(self.limit * (1.0 - self.headroom), 1e-9) / self.window


@dataclass(frozen=True)
class Bucket:
    target: str
    capacity: float
    per_second: float
    tokens: float  # as of ``stamp``
    stamp: float
    limit: float
    window: float

    def available(self, now: float) -> float:
        return min(self.capacity, self.tokens + max(0.0, now - self.stamp) * self.per_second)

    def wait_for(self, cost: float, now: float) -> float:
        """Seconds from ``now`` until ``cost`` tokens (at most a full bucket) are there."""
        need = min(cost, self.capacity)
        start = max(now, self.stamp)  # a hold moves the stamp into the future: no refill before it
        have = min(self.capacity, self.tokens + max(0.0, now - self.stamp) * self.per_second)
        return max(0.0, start - now) + max(0.0, need - have) / self.per_second


def _refilled(now: float) -> ColumnElement[float]:
    c = rate_buckets.c
    elapsed = case((c.stamp < now, literal(now) - c.stamp), else_=literal(0.0))
    refilled = c.tokens + elapsed * c.per_second
    return case((refilled > c.capacity, c.capacity), else_=refilled)


def _later_stamp(now: float) -> ColumnElement[float]:
    c = rate_buckets.c
    return case((c.stamp < now, literal(now)), else_=c.stamp)


class RateBudgetRepository:
    def __init__(self, db: Database):
        self.db = db

    def state(self, target: str) -> Bucket | None:
        c = rate_buckets.c
        with self.db.read() as conn:
            row = conn.execute(select(rate_buckets).where(c.target == target)).first()
        return _bucket(row) if row is not None else None

    def take(self, target: str, cost: float, spec: BucketSpec, now: float) -> float:
        """Spend ``cost`` tokens of ``target``: 0.0 when granted, else the seconds to wait (nothing spent)."""
        c = rate_buckets.c
        refilled = _refilled(now)
        need = min(cost, spec.capacity) - EPSILON
        spend = (
            update(rate_buckets)
            .where(c.target == target, refilled >= case((c.capacity < need, c.capacity - EPSILON), else_=literal(need)))
            .values(tokens=refilled - cost, stamp=_later_stamp(now))
        )
        with self.db.begin() as conn:
            if conn.execute(spend).rowcount:
                return 0.0
            row = conn.execute(select(rate_buckets).where(c.target == target)).first()
            if row is not None:
                return max(_bucket(row).wait_for(cost, now), 1e-3)
        try:
            with self.db.begin() as conn:
                conn.execute(insert(rate_buckets).values(_fresh(target, spec, now, spent=cost)))
            return 0.0
        except IntegrityError:
            # Another process created the bucket meanwhile: spend from it like any later call.
            with self.db.begin() as conn:
                if conn.execute(spend).rowcount:
                    return 0.0
                row = conn.execute(select(rate_buckets).where(c.target == target)).one()
                return max(_bucket(row).wait_for(cost, now), 1e-3)

    def adjust(self, target: str, delta: float) -> None:
        """Give back (``delta`` > 0) tokens reserved but not used, or charge calls made beyond the
        reservation (``delta`` < 0; the debt never exceeds one bucket)."""
        c = rate_buckets.c
        moved = c.tokens + delta
        floor = -c.capacity
        tokens = case((moved < floor, floor), (moved > c.capacity, c.capacity), else_=moved)
        with self.db.begin() as conn:
            conn.execute(update(rate_buckets).where(c.target == target).values(tokens=tokens))

    def observe(self, target: str, remaining: float | None, spec: BucketSpec | None, now: float) -> None:
        """The service said how many calls are left (``remaining``) and/or what its limit really is
        (``spec``): resize the bucket to the real limit and never hold more than is left."""
        c = rate_buckets.c
        current = self.state(target)
        if current is not None and not _corrects(current, remaining, spec, now):
            return  # the usual answer: nothing to correct, so no write lock is taken
        with self.db.begin() as conn:
            row = conn.execute(select(rate_buckets).where(c.target == target)).first()
            if row is None:
                if spec is None:
                    return
                conn.execute(insert(rate_buckets).values(_fresh(target, spec, now, spent=0.0)))
                row = conn.execute(select(rate_buckets).where(c.target == target)).one()
            bucket = _bucket(row)
            values: dict[str, float] = {}
            capacity = bucket.capacity
            if spec is not None and (spec.limit != bucket.limit or spec.window != bucket.window):
                capacity = spec.capacity
                values.update(capacity=capacity, per_second=spec.per_second, limit_per_window=spec.limit,
                              window_seconds=spec.window)  # fmt: skip
            tokens = min(bucket.available(now), capacity)
            if remaining is not None:
                tokens = min(tokens, remaining)
            if tokens != bucket.tokens or values:
                values.update(tokens=tokens, stamp=max(now, bucket.stamp))
                conn.execute(update(rate_buckets).where(c.target == target).values(**values))

    def hold(self, target: str, until: float, spec: BucketSpec, now: float) -> None:
        """The service refused a call until ``until`` (a 429): the bucket is empty and does not
        refill before then, for every worker."""
        c = rate_buckets.c
        emptied = case((c.tokens > 0.0, literal(0.0)), else_=c.tokens)
        later = case((c.stamp < until, literal(until)), else_=c.stamp)
        with self.db.begin() as conn:
            if conn.execute(
                update(rate_buckets).where(c.target == target).values(tokens=emptied, stamp=later)
            ).rowcount:
                return
        try:
            with self.db.begin() as conn:
                conn.execute(
                    insert(rate_buckets).values({**_fresh(target, spec, now, spent=spec.capacity), "stamp": until})
                )
        except IntegrityError:
            with self.db.begin() as conn:
                conn.execute(update(rate_buckets).where(c.target == target).values(tokens=emptied, stamp=later))


def _corrects(bucket: Bucket, remaining: float | None, spec: BucketSpec | None, now: float) -> bool:
    """Whether what the service said changes ``bucket`` (a lower count left, or another limit)."""
    if spec is not None and (spec.limit != bucket.limit or spec.window != bucket.window):
        return True
    return remaining is not None and remaining < bucket.available(now)


def _fresh(target: str, spec: BucketSpec, now: float, *, spent: float) -> dict[str, object]:
    return {
        "target": target,
        "capacity": spec.capacity,
        "per_second": spec.per_second,
        "tokens": spec.capacity - spent,
        "stamp": now,
        "limit_per_window": spec.limit,
        "window_seconds": spec.window,
    }


def _bucket(r: Any) -> Bucket:
    """A ``rate_buckets`` row as a Bucket."""
    return Bucket(
        target=str(r.target),
        capacity=float(r.capacity),
        per_second=float(r.per_second),
        tokens=float(r.tokens),
        stamp=float(r.stamp),
        limit=float(r.limit_per_window),
        window=float(r.window_seconds),
    )
