"""Service facts and their hourly rollup: the only place the dashboard's figures are read from.

A fact is one engaged mention: when the customer wrote it, when we first answered its conversation,
when its ticket/case was solved, and the satisfaction asked for. Every change to a fact adds its
contribution to one ``metric_hours`` row (tenant, hour the customer wrote, brand account, network) in
the same transaction, guarded by the fact's own "not yet" condition, so a repeated event counts once
and a figure over any period is a sum over at most hours x accounts x networks rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update

from plugin import businesshours
from plugin.store import tables as t
from plugin.store.csat import business_hours_spec
from plugin.store.db import Database, as_utc, insert_ignoring_conflicts, utcnow
from plugin.store.rollups import (
    HISTOGRAM_EDGES,
    OVERFLOW,
    Delta,
    FactRow,
    HourRow,
    RollupKey,
    _bump_one,
    _fact,
    _hour_row,
    bump,
    bump_many,
    histogram_bucket,
    hour_of,
    mention_delta,
    record_routed,
)

# The rollup arithmetic lives in plugin/store/rollups.py; these names stay importable from here.
__all__ = ["HISTOGRAM_EDGES", "OVERFLOW", "Delta", "FactRow", "HourRow", "ServiceRepository", "record_routed"]


class ServiceRepository:
    def __init__(self, db: Database):
        self.db = db

    # -- facts as they happen ----------------------------------------------------------------
    def record_reply(
        self, tenant_id: int, network: str, in_reply_to: str | None, thread_id: str | None, at: datetime
    ) -> int:
        """An agent's reply was published at ``at``: it is the first response of every unanswered
        mention of its conversation written before it. Returns how many facts it answered."""
        f, m = t.service_facts, t.mentions
        at = as_utc(at) or at
        keys = [k for k in (thread_id, in_reply_to) if k]
        with self.db.begin() as conn:
            if in_reply_to:
                thread = conn.execute(
                    select(f.c.thread_key)
                    .join(m, m.c.id == f.c.mention_id)
                    .where(m.c.tenant_id == tenant_id, m.c.network == network, m.c.external_id == in_reply_to)
                ).scalar()
                if thread:
                    keys.append(thread)
            if not keys:
                return 0
            rows = conn.execute(
                select(f).where(
                    f.c.tenant_id == tenant_id,
                    f.c.network == network,
                    f.c.thread_key.in_(set(keys)),
                    f.c.first_reply_at.is_(None),
                    f.c.created_at <= at,
                )
            ).all()
            clock = businesshours.stored(business_hours_spec(conn, tenant_id)) if rows else None
            contributions: list[tuple[RollupKey, Delta]] = []
            for row in rows:
                fact = _fact(row)
                if not conn.execute(
                    update(f).where(f.c.id == fact.id, f.c.first_reply_at.is_(None)).values(first_reply_at=at)
                ).rowcount:
                    continue
                seconds = (at - fact.created_at).total_seconds()
                business = clock.elapsed(fact.created_at, at) if clock else seconds
                delta = Delta({"answered": 1}, {"response_seconds": seconds},
                              {"response_histogram": {histogram_bucket(seconds): 1},
                               "business_histogram": {histogram_bucket(business): 1}})  # fmt: skip
                contributions.append((RollupKey(tenant_id, hour_of(fact.created_at), fact.account_id, fact.network),
                                      delta))  # fmt: skip
            bump_many(conn, contributions)  # last: the rollup rows are shared by every worker
            return len(rows)

    def link_tickets(self, tenant_id: int, sink: str, links: Sequence[tuple[str, str, str]]) -> int:
        """``(ticket id, network, mention external_id)``: which ticket/record of ``sink`` a mention
        landed in. A fact keeps its first link per CRM (a follow-up ticket does not move the
        conversation it started in). One transaction of two statements however many links (a
        delivered batch of 200 mentions): the facts are found in one query, linked in one insert
        that leaves a fact already linked (earlier, or by another worker at the same moment) as is."""
        if not links:
            return 0
        f, m, st = t.service_facts, t.mentions, t.service_tickets
        by_network: dict[str, set[str]] = {}
        for _ticket, network, external_id in links:
            by_network.setdefault(network, set()).add(external_id)
        wanted = or_(*(and_(m.c.network == n, m.c.external_id.in_(sorted(ids))) for n, ids in by_network.items()))
        with self.db.begin() as conn:
            facts = {
                (row.network, row.external_id): row.id
                for row in conn.execute(
                    select(f.c.id, m.c.network, m.c.external_id)
                    .join(m, m.c.id == f.c.mention_id)
                    .where(m.c.tenant_id == tenant_id, wanted)
                )
            }
            rows: dict[int, dict[str, Any]] = {}
            for ticket, network, external_id in links:
                fact_id = facts.get((network, external_id))
                if fact_id is not None and fact_id not in rows:  # the first link given for a fact wins
                    rows[fact_id] = {"tenant_id": tenant_id, "fact_id": fact_id, "sink": sink, "ticket": ticket}
            if not rows:
                return 0
            statement = (
                insert_ignoring_conflicts(conn, st)
                .on_conflict_do_nothing(index_elements=["fact_id", "sink"])
                .returning(st.c.id)
            )
            return len(conn.execute(statement, list(rows.values())).all())

    def _facts_on(self, conn: Connection, tenant_id: int, sink: str, ticket: str, *, unsolved: bool) -> list[FactRow]:
        f, st = t.service_facts, t.service_tickets
        query = (
            select(f)
            .join(st, st.c.fact_id == f.c.id)
            .where(st.c.tenant_id == tenant_id, st.c.sink == sink, st.c.ticket == ticket)
            .order_by(f.c.id)
        )
        if unsolved:
            query = query.where(f.c.solved_at.is_(None))
        return [_fact(r) for r in conn.execute(query).all()]

    def record_solved(self, tenant_id: int, sink: str, solved: Sequence[tuple[str, datetime]]) -> list[FactRow]:
        """Tickets/cases solved at the given times: each linked fact is resolved once (the first
        time, in whichever CRM). Returns the facts resolved now."""
        f = t.service_facts
        done: list[FactRow] = []
        contributions: list[tuple[RollupKey, Delta]] = []
        with self.db.begin() as conn:
            for ticket, when in solved:
                when = as_utc(when) or when
                for fact in self._facts_on(conn, tenant_id, sink, ticket, unsolved=True):
                    if not conn.execute(
                        update(f).where(f.c.id == fact.id, f.c.solved_at.is_(None)).values(solved_at=when)
                    ).rowcount:
                        continue
                    seconds = max(0.0, (when - fact.created_at).total_seconds())
                    delta = Delta({"resolved": 1}, {"resolution_seconds": seconds}, {})
                    key = RollupKey(tenant_id, hour_of(fact.created_at), fact.account_id, fact.network)
                    contributions.append((key, delta))
                    done.append(fact)
            bump_many(conn, contributions)  # last: the rollup rows are shared by every worker
        return done

    def survey_of(self, tenant_id: int, network: str, author_external_id: str, since: datetime) -> FactRow | None:
        """The author's latest conversation whose satisfaction question was asked since ``since``."""
        f = t.service_facts
        with self.db.read() as conn:
            row = conn.execute(
                select(f)
                .where(
                    f.c.tenant_id == tenant_id, f.c.network == network, f.c.author_external_id == author_external_id,
                    f.c.csat_state.in_(("asked", "answered")), f.c.solved_at >= since,
                )
                .order_by(f.c.solved_at.desc())
                .limit(1)
            ).first()  # fmt: skip
        return None if row is None else _fact(row)

    def last_message_at(self, tenant_id: int, network: str, author_external_id: str) -> datetime | None:
        """When the author last wrote to this tenant on this network (a messaging window's start)."""
        f = t.service_facts
        with self.db.read() as conn:
            value = conn.execute(
                select(func.max(f.c.created_at)).where(
                    f.c.tenant_id == tenant_id, f.c.network == network, f.c.author_external_id == author_external_id
                )
            ).scalar()
        return as_utc(value)

    def mention_payload(self, fact: FactRow) -> dict[str, Any]:
        """The normalized mention a fact was made from."""
        with self.db.read() as conn:
            payload = conn.execute(select(t.mentions.c.payload).where(t.mentions.c.id == fact.mention_id)).scalar()
        return dict(payload or {})

    def open_tickets(self, tenant_id: int, sink: str, limit: int = 200) -> list[str]:
        """Linked tickets/records of ``sink`` whose conversation is not solved yet, oldest first
        (what a status query must ask about)."""
        f, st = t.service_facts, t.service_tickets
        with self.db.read() as conn:
            rows = conn.execute(
                select(st.c.ticket, func.min(f.c.created_at))
                .join(f, f.c.id == st.c.fact_id)
                .where(st.c.tenant_id == tenant_id, st.c.sink == sink, f.c.solved_at.is_(None))
                .group_by(st.c.ticket)
                .order_by(func.min(f.c.created_at))
                .limit(limit)
            ).all()
        return [str(r[0]) for r in rows]

    def facts_for_ticket(self, tenant_id: int, sink: str, ticket: str) -> list[FactRow]:
        with self.db.read() as conn:
            return self._facts_on(conn, tenant_id, sink, ticket, unsolved=False)

    def tickets_of(self, fact_id: int) -> dict[str, str]:
        """The ticket/record each CRM holds this fact in."""
        st = t.service_tickets
        with self.db.read() as conn:
            return {
                r.sink: r.ticket for r in conn.execute(select(st.c.sink, st.c.ticket).where(st.c.fact_id == fact_id))
            }

    def record_csat(self, fact_id: int, state: str, *, rating: int | None = None, reason: str | None = None) -> bool:
        """Move one fact's satisfaction survey on and count it in its rollup row: ``asked``/``skipped``
        once; ``failed`` (the question could not be sent) once, and ``asked`` after it when a retry
        got through (the failure is then uncounted); ``answered`` once, after ``asked``. False when
        that step was taken already."""
        f = t.service_facts
        allowed: dict[str, list[str | None]] = {
            "asked": [None, "failed"], "skipped": [None], "answered": ["asked"], "failed": [None],
        }  # fmt: skip
        with self.db.begin() as conn:
            row = conn.execute(select(f).where(f.c.id == fact_id)).first()
            if row is None:
                return False
            moves = (b for b in allowed[state] if self._move_csat(conn, fact_id, b, state, rating, reason))
            previous = next(moves, "-")
            if previous == "-":
                return False
            fact = _fact(row)
            counts = {str(rating) if state == "answered" else state: 1}
            if previous == "failed":
                counts["failed"] = -1
            bump(conn, fact.tenant_id, hour_of(fact.created_at), fact.account_id, fact.network,
                 Delta({}, {}, {"csat": counts}))  # fmt: skip
        return True

    @staticmethod
    def _move_csat(
        conn: Connection, fact_id: int, before: str | None, state: str, rating: int | None, reason: str | None
    ) -> bool:
        f = t.service_facts
        was = f.c.csat_state.is_(None) if before is None else f.c.csat_state == before
        moved = conn.execute(
            update(f).where(f.c.id == fact_id, was).values(csat_state=state, csat_rating=rating, csat_reason=reason)
        ).rowcount
        return bool(moved)

    def csat_reasons(self, tenant_id: int, since: datetime, until: datetime) -> list[tuple[str, str, int]]:
        """Why questions were not asked or not sent in the period: (state, reason, conversations)."""
        f = t.service_facts
        with self.db.read() as conn:
            rows = conn.execute(
                select(f.c.csat_state, f.c.csat_reason, func.count())
                .where(f.c.tenant_id == tenant_id, f.c.csat_state.in_(("skipped", "failed")),
                       f.c.solved_at >= since, f.c.solved_at < until)
                .group_by(f.c.csat_state, f.c.csat_reason)
            ).all()  # fmt: skip
        return sorted(((str(a), str(b or ""), int(n)) for a, b, n in rows), key=lambda r: (-r[2], r[0], r[1]))

    # -- resolution reading cursors ------------------------------------------------------------
    def cursor(self, tenant_id: int, sink: str) -> str | None:
        c = t.resolution_cursors.c
        with self.db.read() as conn:
            value = conn.execute(select(c.cursor).where(c.tenant_id == tenant_id, c.sink == sink)).scalar()
        return None if value is None else str(value)

    def set_cursor(self, tenant_id: int, sink: str, cursor: str) -> None:
        rc = t.resolution_cursors
        with self.db.begin() as conn:
            where = and_(rc.c.tenant_id == tenant_id, rc.c.sink == sink)
            if not conn.execute(update(rc).where(where).values(cursor=cursor, updated_at=utcnow())).rowcount:
                conn.execute(insert(rc).values(tenant_id=tenant_id, sink=sink, cursor=cursor, updated_at=utcnow()))

    # -- reading the figures -----------------------------------------------------------------
    def rollup(
        self,
        tenant_id: int,
        since: datetime,
        until: datetime,
        *,
        grain: str = "hour",
        network: str | None = None,
        account_id: int | None = None,
    ) -> list[HourRow]:
        """The rollup rows (``grain`` "hour" or "day") of one tenant whose bucket starts in
        [start of since's bucket, until), optionally of one network / brand account."""
        h, column = (t.metric_days, "day") if grain == "day" else (t.metric_hours, "hour")
        first = hour_of(since).replace(hour=0) if grain == "day" else hour_of(since)
        where = [h.c.tenant_id == tenant_id, h.c[column] >= first, h.c[column] < until]
        if network is not None:
            where.append(h.c.network == network)
        if account_id is not None:
            where.append(h.c.account_id == account_id)
        with self.db.read() as conn:
            rows = conn.execute(select(h).where(*where).order_by(h.c[column])).mappings().all()
        return [_hour_row(r, column) for r in rows]

    def hours(
        self, tenant_id: int, since: datetime, until: datetime, *, network: str | None = None,
        account_id: int | None = None,
    ) -> list[HourRow]:  # fmt: skip
        return self.rollup(tenant_id, since, until, grain="hour", network=network, account_id=account_id)

    def mention_count(self) -> int:
        """A plain ``COUNT(*)`` over the mentions (the benchmark's baseline)."""
        with self.db.read() as conn:
            return int(conn.execute(select(func.count()).select_from(t.mentions)).scalar_one())

    def import_history(self, tenant_id: int, account_id: int, network: str, facts: Sequence[Mapping[str, Any]]) -> None:
        """Bulk-load past conversations (a backfill, the benchmark): mentions, facts and their rollup,
        in one transaction. Each fact: external_id, created_at, labels, and optionally
        first_reply_at / solved_at."""
        m, f = t.mentions, t.service_facts
        with self.db.begin() as conn:
            now = utcnow()
            conn.execute(insert(m), [
                {"tenant_id": tenant_id, "account_id": account_id, "network": network,
                 "external_id": x["external_id"], "author_external_id": "imported", "status": "routed",
                 "payload": {"external_id": x["external_id"]}, "labels": x["labels"], "deleted": False,
                 "edits": 0, "created_at": x["created_at"], "received_at": now}
                for x in facts
            ])  # fmt: skip
            ids = dict(conn.execute(
                select(m.c.external_id, m.c.id).where(m.c.tenant_id == tenant_id, m.c.network == network,
                                                      m.c.external_id.in_([x["external_id"] for x in facts]))
            ).tuples().all())  # fmt: skip
            conn.execute(insert(f), [
                {"tenant_id": tenant_id, "mention_id": ids[x["external_id"]], "account_id": account_id,
                 "network": network, "thread_key": x["external_id"], "author_external_id": "imported",
                 "created_at": x["created_at"], "hour": hour_of(x["created_at"]),
                 "first_reply_at": x.get("first_reply_at"), "solved_at": x.get("solved_at")}
                for x in facts
            ])  # fmt: skip
            clock = businesshours.stored(business_hours_spec(conn, tenant_id))
            hours = _history_deltas(facts, lambda x: hour_of(x["created_at"]), clock)
            for hour, delta in hours.items():
                _bump_one(conn, t.metric_hours, "hour", hour, tenant_id, account_id, network, delta)
            days = _history_deltas(facts, lambda x: hour_of(x["created_at"]).replace(hour=0), clock)
            for day, delta in days.items():
                _bump_one(conn, t.metric_days, "day", day, tenant_id, account_id, network, delta)


def _history_deltas(
    facts: Sequence[Mapping[str, Any]],
    bucket_of: Callable[[Mapping[str, Any]], datetime],
    clock: businesshours.BusinessHours,
) -> dict[datetime, Delta]:
    """The rollup contributions of imported facts, summed per bucket (one row update per bucket)."""
    out: dict[datetime, tuple[dict[str, int], dict[str, float], dict[str, dict[str, int]]]] = {}
    for x in facts:
        counts, sums, counters = out.setdefault(bucket_of(x), ({}, {}, {}))
        parts = [mention_delta(x["labels"])]
        if x.get("first_reply_at") is not None:
            seconds = (x["first_reply_at"] - x["created_at"]).total_seconds()
            business = clock.elapsed(x["created_at"], x["first_reply_at"])
            parts.append(Delta({"answered": 1}, {"response_seconds": seconds},
                               {"response_histogram": {histogram_bucket(seconds): 1},
                                "business_histogram": {histogram_bucket(business): 1}}))  # fmt: skip
        if x.get("solved_at") is not None:
            parts.append(
                Delta({"resolved": 1}, {"resolution_seconds": (x["solved_at"] - x["created_at"]).total_seconds()}, {})
            )
        for part in parts:
            for k, n in part.counts.items():
                counts[k] = counts.get(k, 0) + n
            for k, s in part.sums.items():
                sums[k] = sums.get(k, 0.0) + s
            for k, c in part.counters.items():
                bucket = counters.setdefault(k, {})
                for key, n in c.items():
                    bucket[key] = bucket.get(key, 0) + n
    return {hour: Delta(*parts) for hour, parts in out.items()}
