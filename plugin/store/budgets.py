"""Limits shared by every process. Rate pauses: when a target (a Zendesk instance, a Salesforce org, a
network account) answers 429, every worker leaves it alone until its Retry-After, instead of each batch
finding out with a 429 of its own. Callback budgets: the bytes an unauthenticated caller may make us
store per tenant and minute, however many server processes answer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from plugin.store import tables as t
from plugin.store.db import Database, as_utc, utcnow


class RatePauseRepository:
    def __init__(self, db: Database):
        self.db = db

    def paused_until(self, target: str) -> datetime | None:
        """When calls to ``target`` may resume; None when it is not paused."""
        rp = t.rate_pauses.c
        with self.db.read() as conn:
            until = as_utc(conn.execute(select(rp.paused_until).where(rp.target == target)).scalar())
        return until if until is not None and until > utcnow() else None

    def pause(self, target: str, until: datetime, reason: str) -> None:
        """Pause ``target`` until ``until`` (a later pause already stored wins)."""
        rp = t.rate_pauses.c
        later = (
            update(t.rate_pauses)
            .where(rp.target == target, rp.paused_until < until)
            .values(paused_until=until, reason=reason, updated_at=utcnow())
        )
        with self.db.begin() as conn:
            if conn.execute(later).rowcount or conn.execute(select(rp.target).where(rp.target == target)).first():
                return
        try:
            with self.db.begin() as conn:
                conn.execute(
                    insert(t.rate_pauses).values(target=target, paused_until=until, reason=reason, updated_at=utcnow())
                )
        except IntegrityError:
            # Another worker stored a pause for the same target meanwhile (PostgreSQL): keep the later.
            with self.db.begin() as conn:
                conn.execute(later)


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
