"""Everything one inbound batch (a webhook body, a polled page) stores, in ONE write transaction.

A webhook with N entries used to cost a transaction per mention, one per quarantined item, reads
for the account, the tenant and each private message's handoff, and now and then a health write;
on SQLite each write transaction is a ``BEGIN IMMEDIATE`` (the one write lock) and a commit. Here the
pipeline (``plugin.pipeline.inbound``) drives one ``IntakeTransaction``: mentions go in with one
multi-row ``INSERT ... ON CONFLICT DO NOTHING`` per run of new mentions (the unique key (tenant,
network, external_id) still decides what is a duplicate, also against a concurrent poll), edits and
deletions, quarantined items and the account's "last webhook" mark commit with them, or none does.

With ``expect_generation`` the transaction first checks the accounts' generation (migration 0016):
a request handled with a cached account that changed meanwhile is rolled back (``StaleAccounts``)
before anything is written, and handled again with fresh rows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Table

from plugin.connector import Quarantined
from plugin.models import Mention
from plugin.store import tables as t
from plugin.store.account_cache import StaleAccounts, read_generation
from plugin.store.db import Database, utcnow
from plugin.store.inbox import MentionRow, apply_event_on, find_on, mention_values
from plugin.store.outbox import handoff_thread_on
from plugin.store.quarantine import SOURCES, quarantine_values


def _insert_ignoring_conflicts(conn: Connection, table: Table) -> Any:
    """``INSERT ... ON CONFLICT DO NOTHING`` in the connection's dialect (SQLite >= 3.24, PostgreSQL)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


_INSERT_MENTIONS: dict[str, Any] = {}


def _insert_mentions(conn: Connection) -> Any:
    """``INSERT INTO mentions ... ON CONFLICT (tenant_id, network, external_id) DO NOTHING RETURNING``,
    one statement object per dialect (so SQLAlchemy's compiled cache is hit without rebuilding it)."""
    dialect = conn.dialect.name
    statement = _INSERT_MENTIONS.get(dialect)
    if statement is None:
        m = t.mentions.c
        statement = (
            _insert_ignoring_conflicts(conn, t.mentions)
            .on_conflict_do_nothing(index_elements=["tenant_id", "network", "external_id"])
            .returning(m.id, m.network, m.external_id)
        )
        _INSERT_MENTIONS[dialect] = statement
    return statement


class IntakeTransaction:
    """The write transaction of one inbound batch; every method runs inside it."""

    def __init__(self, conn: Connection):
        self.conn = conn

    def find(self, tenant_id: int, network: str, external_id: str) -> MentionRow | None:
        return find_on(self.conn, tenant_id, network, external_id)

    def apply_event(self, tenant_id: int, mention: Mention) -> bool:
        return apply_event_on(self.conn, tenant_id, mention)

    def handoff_thread(
        self, tenant_id: int, account_id: int, network: str, customer_id: str, since: datetime
    ) -> str | None:
        return handoff_thread_on(self.conn, tenant_id, account_id, network, customer_id, since)

    def insert_many(self, tenant_id: int, account_id: int | None, mentions: Sequence[Mention]) -> list[int | None]:
        """Insert ``mentions`` with one statement; per mention its new id, or None when (tenant,
        network, external_id) was stored already (or earlier in ``mentions``)."""
        if not mentions:
            return []
        rows = [mention_values(tenant_id, account_id, mention) for mention in mentions]
        # One prepared statement for any number of rows (SQLAlchemy's "insertmanyvalues" batches the
        # rows into multi-row INSERTs): built and compiled once per dialect instead of per webhook,
        # which cost as much as the rest of the request. Conflicting rows return nothing, so ids are
        # matched by key, not by position.
        result = self.conn.execute(_insert_mentions(self.conn), rows if len(rows) > 1 else rows[0])
        inserted = {(r.network, r.external_id): int(r.id) for r in result}
        # A key inserted once is claimed by its first occurrence; later copies are duplicates.
        return [inserted.pop((mention.network, mention.external_id), None) for mention in mentions]

    def quarantine(
        self, tenant_id: int, account_id: int, network: str, source: str, items: Sequence[Quarantined]
    ) -> list[int]:
        """Store ``items`` (one fingerprint stored once per tenant and network); ids of new rows."""
        if source not in SOURCES:
            raise ValueError(f"quarantine source must be one of {SOURCES}, not {source!r}")
        new: list[int] = []
        q = t.quarantine.c
        for item in items:
            statement = (
                _insert_ignoring_conflicts(self.conn, t.quarantine)
                .values(**quarantine_values(tenant_id, account_id, network, source, item))
                .on_conflict_do_nothing(index_elements=["tenant_id", "network", "fingerprint"])
                .returning(q.id)
            )
            row = self.conn.execute(statement).first()
            if row is not None:
                new.append(int(row.id))
        return new

    def mark_webhook_ok(self, account_id: int) -> None:
        """``last_webhook_ok_at`` of the account's health row, created when missing."""
        now = utcnow()
        statement = (
            _insert_ignoring_conflicts(self.conn, t.account_health)
            .values(account_id=account_id, last_webhook_ok_at=now)
            .on_conflict_do_update(index_elements=["account_id"], set_={"last_webhook_ok_at": now})
        )
        self.conn.execute(statement)


T = TypeVar("T")


@dataclass(eq=False)
class _Job:
    """One caller's share of a group commit."""

    store: Callable[[IntakeTransaction], Any]
    expect_generation: int | None
    finished: bool = False
    result: Any = None
    error: BaseException | None = None


class IntakeRepository:
    """Group commit: callers arriving while a transaction is being committed wait, and the next of
    them commits all of their batches in ONE transaction (each in its own savepoint, so one that fails
    rolls back alone and its caller gets the exception). Under load a webhook waits for at most one
    commit instead of queueing for the write lock behind every other one; alone, it commits at once."""

    def __init__(self, db: Database):
        self.db = db
        self._turn = threading.Condition()
        self._pending: list[_Job] = []
        self._committing = False

    def run(self, store: Callable[[IntakeTransaction], T], expect_generation: int | None = None) -> T:
        """``store(tx)`` inside a write transaction, shared with concurrent callers; committed before
        this returns. ``StaleAccounts`` (nothing written) when the accounts' generation is no longer
        ``expect_generation``."""
        job = _Job(store, expect_generation)
        with self._turn:
            self._pending.append(job)
            while not job.finished and self._committing:
                self._turn.wait()
            if not job.finished:  # nobody is committing: this caller commits everything pending
                batch, self._pending, self._committing = self._pending, [], True
        if not job.finished:
            try:
                self._commit(batch)
            finally:
                with self._turn:
                    self._committing = False
                    self._turn.notify_all()
        if job.error is not None:
            raise job.error
        result: T = job.result
        return result

    def _commit(self, batch: list[_Job]) -> None:
        try:
            with self.db.begin() as conn:
                expected = {job.expect_generation for job in batch} - {None}
                current = read_generation(conn) if expected else None
                for job in batch:
                    if job.expect_generation is not None and job.expect_generation != current:
                        job.error = StaleAccounts(f"accounts changed (generation {job.expect_generation} -> {current})")
                    elif len(batch) == 1:
                        job.result = job.store(IntakeTransaction(conn))
                    else:
                        try:
                            with conn.begin_nested():
                                job.result = job.store(IntakeTransaction(conn))
                        except Exception as exc:  # noqa: BLE001 - rolled back alone, re-raised in its caller
                            job.error = exc
        except Exception as exc:  # noqa: BLE001 - nothing of the batch is stored: every caller raises it
            for job in batch:
                job.error = job.error or exc
        finally:
            for job in batch:
                job.finished = True

    def check_generation(self, expect_generation: int) -> None:
        """For a request that writes nothing (a subscription handshake): ``StaleAccounts`` when the
        accounts changed since ``expect_generation``."""
        with self.db.read() as conn:
            _check_generation(conn, expect_generation)


def _check_generation(conn: Connection, expected: int) -> None:
    current = read_generation(conn)
    if current != expected:
        raise StaleAccounts(f"accounts changed (generation {expected} -> {current})")
