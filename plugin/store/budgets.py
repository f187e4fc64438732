"""Limits shared by every process. Rate pauses: when a target (a Zendesk instance, a Salesforce org, a
network account) answers 429, every worker leaves it alone until its Retry-After, instead of each batch
finding out with a 429 of its own; a 429 without Retry-After counts a strike: the caller pauses for a
back-off that doubles with each consecutive strike, and the next success clears them. Callback
budgets: the bytes an unauthenticated caller may make us store per tenant and minute, however many
server processes answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from plugin.store import tables as t
from plugin.store.db import Database, as_utc, utcnow


@dataclass(frozen=True)
class RatePause:
    until: datetime | None  # when calls may resume; None when the target is not paused now
    strikes: int  # consecutive 429s without Retry-After


class RatePauseRepository:
    def __init__(self, db: Database):
        self.db = db

    def state(self, target: str) -> RatePause:
        rp = t.rate_pauses.c
        with self.db.read() as conn:
            row = conn.execute(select(rp.paused_until, rp.strikes).where(rp.target == target)).first()
        if row is None:
            return RatePause(None, 0)
        until = as_utc(row.paused_until)
        return RatePause(until if until is not None and until > utcnow() else None, int(row.strikes or 0))

    def paused_until(self, target: str) -> datetime | None:
        """When calls to ``target`` may resume; None when it is not paused."""
        return self.state(target).until

    def pause(self, target: str, until: datetime, reason: str, *, strike: bool = False) -> None:
        """Pause ``target`` until ``until`` (a later pause already stored wins); ``strike`` counts a
        429 that named no Retry-After."""
        rp = t.rate_pauses.c
        now = utcnow()
        added = 1 if strike else 0
        later = (
            update(t.rate_pauses)
            .where(rp.target == target, rp.paused_until < until)
            .values(paused_until=until, reason=reason, strikes=rp.strikes + added, updated_at=now)
        )
        struck = update(t.rate_pauses).where(rp.target == target).values(strikes=rp.strikes + added, updated_at=now)
        with self.db.begin() as conn:
            if conn.execute(later).rowcount:
                return
            if conn.execute(select(rp.target).where(rp.target == target)).first():
                if strike:
                    conn.execute(struck)
                return
        try:
            with self.db.begin() as conn:
                conn.execute(
                    insert(t.rate_pauses).values(
                        target=target, paused_until=until, reason=reason, strikes=added, updated_at=now
                    )
                )
        except IntegrityError:
            # Another worker stored a pause for the same target meanwhile (PostgreSQL): keep the later.
            with self.db.begin() as conn:
                if not conn.execute(later).rowcount and strike:
                    conn.execute(struck)

    def clear_strikes(self, target: str) -> None:
        """A call to ``target`` succeeded: the next 429 without Retry-After starts the back-off over."""
        rp = t.rate_pauses.c
        with self.db.begin() as conn:
            conn.execute(update(t.rate_pauses).where(rp.target == target, rp.strikes > 0).values(strikes=0))


class CallbackBudgetRepository:
    """Bytes an unauthenticated caller may make us store per key and window, shared by all processes.

    The spend is one conditional UPDATE (``used + size <= limit``), so two processes racing for the
    last bytes cannot both win; the first request of a window INSERTs its row, and a concurrent
    INSERT of the same row falls back to the UPDATE. Windows before the previous one are deleted
    when a new window starts, so the table holds about two rows per active key.
    """

    def __init__(self, db: Database):
        self.db = db

    def spend(self, key: str, window_start: int, size: int, limit: int) -> bool:
        """Add ``size`` to ``key``'s window; False (nothing added) when that would pass ``limit``."""
        if size > limit:
            return False
        b = t.callback_budgets.c
        within = (
            update(t.callback_budgets)
            .where(b.budget_key == key, b.window_start == window_start, b.used + size <= limit)
            .values(used=b.used + size)
        )
        with self.db.begin() as conn:
            if conn.execute(within).rowcount:
                return True
            exists = select(b.used).where(b.budget_key == key, b.window_start == window_start)
            if conn.execute(exists).first() is not None:
                return False  # the window's row is there and this would pass the limit
        try:
            with self.db.begin() as conn:
                conn.execute(delete(t.callback_budgets).where(b.budget_key == key, b.window_start < window_start - 1))
                conn.execute(insert(t.callback_budgets).values(budget_key=key, window_start=window_start, used=size))
            return True
        except IntegrityError:
            # Another process opened the window meanwhile: spend from its row like any later request.
            with self.db.begin() as conn:
                return bool(conn.execute(within).rowcount)
