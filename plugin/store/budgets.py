"""Rate pauses shared by every worker: when a target (a Zendesk instance, a Salesforce org, a network
account) answers 429, every worker leaves it alone until its Retry-After, instead of each batch
finding out with a 429 of its own."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update
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
