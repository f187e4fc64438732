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

import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, bindparam
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

from plugin.connector import Quarantined
from plugin.models import Mention
from plugin.store import tables as t
from plugin.store.account_cache import StaleAccounts, read_generation
from plugin.store.db import Database, insert_ignoring_conflicts, utcnow
from plugin.store.inbox import MentionRow, apply_event_on, find_on, mention_values
from plugin.store.outbox import handoff_thread_on
from plugin.store.quarantine import SOURCES, quarantine_values
from plugin.store.rawsql import Statements

# Columns of a new inbox row (``mention_values``), in one fixed order: every one named, so no Python-side
# column default is left for SQLAlchemy to compute per execution.
_MENTION_COLUMNS = (
    "tenant_id", "account_id", "network", "external_id", "thread_id", "parent_id", "author_external_id",
    "payload", "status", "deleted", "edits", "created_at", "received_at",
)  # fmt: skip
# Rows per INSERT: one compiled statement per row count up to this (a webhook has one or a few).
ROWS_PER_INSERT = 50


def _build_insert_mentions(dialect: Dialect, rows: int) -> Any:
    """``INSERT INTO mentions ... VALUES (...) x rows ON CONFLICT (tenant_id, network, external_id) DO
    NOTHING RETURNING id, network, external_id``; bind ``<column>_<row>``."""
    m = t.mentions.c
    values = [{c: bindparam(f"{c}_{n}", type_=m[c].type) for c in _MENTION_COLUMNS} for n in range(rows)]
    return (
        insert_ignoring_conflicts(dialect, t.mentions)
        .values(values)
        .on_conflict_do_nothing(index_elements=["tenant_id", "network", "external_id"])
        .returning(m.id, m.network, m.external_id)
    )


def _build_mark_webhook_ok(dialect: Dialect, _key: None) -> Any:
    """The account's health row with ``last_webhook_ok_at``, created when missing."""
    statement = insert_ignoring_conflicts(dialect, t.account_health).values(
        account_id=bindparam("account_id"),
        last_webhook_ok_at=bindparam("now", type_=t.account_health.c.last_webhook_ok_at.type),
    )
    return statement.on_conflict_do_update(
        index_elements=["account_id"], set_={"last_webhook_ok_at": statement.excluded.last_webhook_ok_at}
    )


# The webhook's hot statements, compiled once per dialect and run on the driver (plugin/store/rawsql.py).
_INSERT_MENTIONS = Statements(_build_insert_mentions)
_MARK_WEBHOOK_OK = Statements(_build_mark_webhook_ok)


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
        # Compiled once per dialect and row count, run on the DB-API cursor: SQLAlchemy's execution
        # path cost more than the statement. Conflicting rows return nothing, so ids are matched by
        # key, not by position.
        inserted: dict[tuple[str, str], int] = {}
        for start in range(0, len(rows), ROWS_PER_INSERT):
            chunk = rows[start : start + ROWS_PER_INSERT]
            values = {f"{c}_{n}": row[c] for n, row in enumerate(chunk) for c in _MENTION_COLUMNS}
            for mention_id, network, external_id in _INSERT_MENTIONS.get(self.conn, len(chunk)).execute(
                self.conn, values
            ):
                inserted[(network, external_id)] = int(mention_id)
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
                insert_ignoring_conflicts(self.conn, t.quarantine)
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
        _MARK_WEBHOOK_OK.get(self.conn).execute(self.conn, {"account_id": account_id, "now": utcnow()})


T = TypeVar("T")


@dataclass(eq=False)
class _Job:
    """One caller's share of a group commit."""

    store: Callable[[IntakeTransaction], Any]
    expect_generation: int | None
    finished: bool = False
    result: Any = None
    error: BaseException | None = None


class IntakeFailed(Exception):
    """The write transaction of an inbound batch failed in the database (locked past its timeout,
    gone, full, read-only): nothing of the batch is stored. A webhook answers 503 with Retry-After, so
    its sender delivers it again; a poll reads the page again."""

    def __init__(self, reason: str, retry_after: int = 5):
        super().__init__(reason)
        self.retry_after = retry_after


def _driver_errors() -> tuple[type[BaseException], ...]:
    """The DB-API ``Error`` classes of the drivers horseshoe runs on (PostgreSQL's only if installed)."""
    errors: list[type[BaseException]] = [DBAPIError, sqlite3.Error]
    try:
        import psycopg
    except ImportError:  # pragma: no cover - SQLite-only installs
        return tuple(errors)
    return (*errors, psycopg.Error)


_DATABASE_ERRORS = _driver_errors()


def _database_error(exc: BaseException) -> bool:
    """An error of the database or its driver (SQLAlchemy's wrapper, or a DB-API error raised by a
    statement run on the driver directly: plugin/store/rawsql.py)."""
    return isinstance(exc, _DATABASE_ERRORS)


def _failed(exc: BaseException) -> IntakeFailed:
    # Only the error's kind: a driver's message can quote the statement's parameters (customer text).
    reason = f"the inbox could not store this batch now ({type(exc).__name__}); deliver it again"
    failed = IntakeFailed(reason)
    failed.__cause__ = exc
    return failed


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
            if _database_error(job.error):
                raise _failed(job.error)
            raise job.error
        result: T = job.result
        return result

    def _commit(self, batch: list[_Job]) -> None:
        try:
            with self.db.begin() as conn:
                expected = {job.expect_generation for job in batch} - {None}
                current = read_generation(conn) if expected else None
                for index, job in enumerate(batch):
                    if job.expect_generation is not None and job.expect_generation != current:
                        job.error = StaleAccounts(f"accounts changed (generation {job.expect_generation} -> {current})")
                    elif len(batch) == 1:
                        try:
                            job.result = job.store(IntakeTransaction(conn))
                        except Exception as exc:  # its own error; the transaction rolls back
                            job.error = exc
                            raise
                    else:
                        _savepoint(conn, "SAVEPOINT", index)
                        try:
                            job.result = job.store(IntakeTransaction(conn))
                        except Exception as exc:  # noqa: BLE001 - rolled back alone, re-raised in its caller
                            job.error = exc
                            _savepoint(conn, "ROLLBACK TO SAVEPOINT", index)
                        else:
                            _savepoint(conn, "RELEASE SAVEPOINT", index)
        except Exception as exc:  # noqa: BLE001 - nothing of the batch is stored: every caller raises it
            # BEGIN, the generation read or the COMMIT failed (not a caller's own store): the database
            # could not take the batch now, and every caller says so (a 503 to a webhook's sender).
            for job in batch:
                job.error = job.error or _failed(exc)
        finally:
            for job in batch:
                job.finished = True

    def check_generation(self, expect_generation: int) -> None:
        """For a request that writes nothing (a subscription handshake): ``StaleAccounts`` when the
        accounts changed since ``expect_generation``."""
        with self.db.read() as conn:
            _check_generation(conn, expect_generation)


def _savepoint(conn: Connection, verb: str, index: int) -> None:
    """``SAVEPOINT`` / ``RELEASE SAVEPOINT`` / ``ROLLBACK TO SAVEPOINT`` of one job of a group commit,
    on the driver's cursor inside ``conn``'s transaction. ``conn.begin_nested()`` did the same through
    SQLAlchemy's execution path (a compiled ``SavepointClause``, an execution context and events, twice
    per job): ~10% of a webhook request's CPU under load. Same SQL on SQLite and PostgreSQL; the name
    is the job's place in the batch, so no two savepoints of a transaction share one."""
    cursor = conn.connection.cursor()
    try:
        cursor.execute(f"{verb} horseshoe_intake_{index}")
    finally:
        cursor.close()


def _check_generation(conn: Connection, expected: int) -> None:
    current = read_generation(conn)
    if current != expected:
        raise StaleAccounts(f"accounts changed (generation {expected} -> {current})")
