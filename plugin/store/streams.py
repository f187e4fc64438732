"""Change streams of agents' replies, one row per CRM connection (migration 0015).

Exactly one worker listens to a connection's stream: the row is claimed under a lease
(``plugin.store.leases``) and renewed while the listener runs. The row keeps the stream's position
(Salesforce's replayId), so a restarted listener resumes where the last one stopped, and its mode:
``streaming`` while a listener holds it and the CRM answers, ``polling`` when the CRM denies the
stream or it keeps failing (then the agent-reply poll runs at its normal interval, and the stream is
tried again at ``next_attempt_at``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from plugin.store import leases
from plugin.store import tables as t
from plugin.store.db import Database, as_utc, utcnow

STREAMING, POLLING = "streaming", "polling"


@dataclass(frozen=True)
class ReplyStreamRow:
    id: int
    tenant_id: int
    sink: str
    position: str | None
    mode: str
    detail: str | None
    events: int
    failures: int
    last_event_at: datetime | None
    healthy_at: datetime | None
    next_attempt_at: datetime | None
    lease_owner: str | None
    lease_until: datetime | None

    @property
    def live(self) -> bool:
        """Streaming, and a listener holds it right now (a dead worker's lease runs out)."""
        return self.mode == STREAMING and self.lease_until is not None and self.lease_until > utcnow()


class ReplyStreamRepository:
    def __init__(self, db: Database):
        self.db = db

    def _row(self, r: object) -> ReplyStreamRow:
        v = r._mapping  # type: ignore[attr-defined]
        return ReplyStreamRow(
            id=int(v["id"]), tenant_id=int(v["tenant_id"]), sink=v["sink"], position=v["position"],
            mode=v["mode"], detail=v["detail"], events=int(v["events"]), failures=int(v["failures"]),
            last_event_at=as_utc(v["last_event_at"]), healthy_at=as_utc(v["healthy_at"]),
            next_attempt_at=as_utc(v["next_attempt_at"]), lease_owner=v["lease_owner"],
            lease_until=as_utc(v["lease_until"]),
        )  # fmt: skip

    def ensure(self, tenant_id: int, sink: str) -> int:
        """The connection's stream row (created in polling mode the first time)."""
        c = t.reply_streams.c
        where = and_(c.tenant_id == tenant_id, c.sink == sink)
        with self.db.read() as conn:
            found = conn.execute(select(c.id).where(where)).scalar()
        if found is not None:
            return int(found)
        try:
            with self.db.begin() as conn:
                values = {"tenant_id": tenant_id, "sink": sink, "mode": POLLING, "events": 0, "failures": 0}
                conn.execute(insert(t.reply_streams).values(**values, updated_at=utcnow()))
        except IntegrityError:
            pass  # another worker created it in between
        with self.db.read() as conn:
            return int(conn.execute(select(c.id).where(where)).scalar_one())

    def get(self, stream_id: int) -> ReplyStreamRow | None:
        with self.db.read() as conn:
            row = conn.execute(select(t.reply_streams).where(t.reply_streams.c.id == stream_id)).first()
        return self._row(row) if row is not None else None

    def of(self, tenant_id: int, sink: str) -> ReplyStreamRow | None:
        c = t.reply_streams.c
        with self.db.read() as conn:
            row = conn.execute(select(t.reply_streams).where(c.tenant_id == tenant_id, c.sink == sink)).first()
        return self._row(row) if row is not None else None

    def all(self) -> list[ReplyStreamRow]:
        c = t.reply_streams.c
        with self.db.read() as conn:
            rows = conn.execute(select(t.reply_streams).order_by(c.tenant_id, c.sink)).all()
        return [self._row(r) for r in rows]

    def claim(self, owner: str, ids: Sequence[int], lease_seconds: float) -> list[int]:
        """Of ``ids``, the streams due (not waiting for a retry) and free, now leased to ``owner``."""
        if not ids:
            return []
        c = t.reply_streams.c
        due = and_(c.id.in_(list(ids)), or_(c.next_attempt_at.is_(None), c.next_attempt_at <= utcnow()))
        return leases.claim(self.db, t.reply_streams, due, owner, len(ids), lease_seconds, order_by=[c.id])

    def renew(self, owner: str, ids: Sequence[int], lease_seconds: float) -> set[int]:
        return leases.renew(self.db, t.reply_streams, ids, owner, lease_seconds)

    def _update(self, stream_id: int, owner: str, **values: object) -> bool:
        c = t.reply_streams.c
        with self.db.begin() as conn:
            done = conn.execute(
                update(t.reply_streams)
                .where(c.id == stream_id, leases.held_by(t.reply_streams, owner))
                .values(**values, updated_at=utcnow())
            )
            return bool(done.rowcount)

    def healthy(self, stream_id: int, owner: str, detail: str) -> bool:
        """The stream answered normally; False when ``owner`` lost the lease (it must stop)."""
        return self._update(stream_id, owner, mode=STREAMING, detail=detail, failures=0, healthy_at=utcnow())

    def advanced(self, stream_id: int, owner: str, position: str | None, events: int) -> bool:
        """Events were read up to ``position``; written only while ``owner`` holds the stream."""
        c = t.reply_streams.c
        values: dict[str, object] = {"events": c.events + events, "last_event_at": utcnow()}
        if position is not None:
            values["position"] = position
        return self._update(stream_id, owner, **values)

    def fell_back(self, stream_id: int, owner: str, detail: str, retry_in: float) -> None:
        """Back to polling until ``retry_in`` seconds from now; the lease is given up."""
        c = t.reply_streams.c
        self._update(
            stream_id, owner, mode=POLLING, detail=detail, failures=c.failures + 1,
            next_attempt_at=utcnow() + timedelta(seconds=retry_in), **leases.released(),
        )  # fmt: skip

    def release(self, stream_id: int, owner: str) -> None:
        """Stop listening (worker shutdown): the next worker takes over at once from the stored position."""
        self._update(stream_id, owner, mode=POLLING, detail="listener stopped", **leases.released())
