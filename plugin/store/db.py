"""Engine set-up, migrations and transactions for SQLite (WAL, the default) and PostgreSQL."""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

from sqlalchemy import Connection, Engine, Table, create_engine, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.pool import NullPool, QueuePool

MIGRATIONS = Path(__file__).with_name("migrations")


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def normalize_url(url: str) -> str:
    # Accept the URLs people paste (postgres://, postgresql://) and use psycopg 3.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


# Connections kept open per SQLite engine. A pooled connection keeps its PRAGMAs and page cache, and
# never pays the WAL checkpoint that closing the last connection to a database file costs (~1-2 ms a
# transaction with NullPool). Threads beyond this wait for a free connection rather than open more.
SQLITE_POOL_SIZE = 8
SQLITE_POOL_OVERFLOW = 8
READ = "horseshoe_read"  # execution option: this transaction only reads (a deferred BEGIN)


def insert_ignoring_conflicts(conn: Connection | Dialect, table: Table) -> Any:
    """An insert of ``table`` that can take ``.on_conflict_do_nothing(...)``, in the connection's (or
    the given) dialect (SQLite >= 3.24, PostgreSQL)."""
    dialect = conn.dialect if isinstance(conn, Connection) else conn
    if dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


def identity(url: str) -> str:
    """The database ``url`` names, the same string in every process that uses it: a relative SQLite
    path made absolute (processes started in the same directory meet), and no password, so it can be
    shown or hashed in public (the worker's doorbell, ``plugin/pipeline/doorbell.py``: socket names
    are listed in ``/proc/net/unix`` for every local user)."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        prefix, sep, rest = url.partition(":///")
        path, qsep, query = rest.partition("?")
        if sep and path and path != ":memory:":
            return f"{prefix}{sep}{os.path.abspath(path)}{qsep}{query}"
        return url
    return make_url(url)._replace(password=None).render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Runs once per pooled connection, not per transaction. ``journal_mode=WAL`` is persistent in the
    file and is set once by ``Database.__init__``."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # On the driver's cursor: every transaction begins here, and ``exec_driver_sql`` costs SQLAlchemy's
    # whole execution path (context, result) for a statement that returns nothing.
    cursor = conn.connection.cursor()
    try:
        cursor.execute("BEGIN" if conn.get_execution_options().get(READ) else "BEGIN IMMEDIATE")
    finally:
        cursor.close()


class _Writer:
    """The turn to write one SQLite file, handed over at once instead of polled for.

    Threads of a process queue on a re-entrant lock (a write nested in a write on one thread goes
    on as before), shared by every ``Database`` of this process on the same file. Processes on the
    same file (gunicorn's workers, ``horseshoe worker``) queue on a blocking ``flock`` of
    ``<file>.writer``: before it, a process that found the write lock taken by another slept in
    SQLite's busy handler (1, 2, 5 ... 100 ms between looks) while its whole group commit waited.
    SQLite's own lock stays the authority; this only orders who asks for it."""

    def __init__(self, path: Path | None):
        self.path = path  # None: in-memory (one process), threads only
        self._lock = threading.RLock()
        self._depth = 0  # nesting of the thread holding ``_lock``
        self._fd: int | None = None  # open only while this process holds the file lock

    @contextmanager
    def turn(self) -> Iterator[None]:
        with self._lock:
            outermost = self._depth == 0
            if outermost:
                self._lock_file()
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if outermost:
                    self._unlock_file()

    def _lock_file(self) -> None:
        if self.path is None or fcntl is None:
            return  # no file, or no flock (Windows): SQLite's busy handler alone orders processes
        # Opened per turn (a few microseconds): no descriptor outlives it, none crosses a fork.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def _unlock_file(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the only descriptor releases the lock


_WRITERS: weakref.WeakValueDictionary[str, _Writer] = weakref.WeakValueDictionary()
_WRITERS_LOCK = threading.Lock()


def _writer_for(path: str) -> _Writer:
    """This process's one ``_Writer`` of the SQLite file at ``path``."""
    lock_path = os.path.abspath(path.split("?", 1)[0]) + ".writer"
    with _WRITERS_LOCK:
        writer = _WRITERS.get(lock_path)
        if writer is None:  # kept while a Database of this file exists
            writer = _WRITERS[lock_path] = _Writer(Path(lock_path))
        return writer


class Database:
    def __init__(self, url: str):
        self.url = normalize_url(url)
        self.identity = identity(self.url)  # what names this database to other processes
        self.is_sqlite = self.url.startswith("sqlite")
        if self.is_sqlite:
            path = self.url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            memory = not path or path == ":memory:"
            # A QueuePool hands each connection to one thread at a time (check_same_thread is off
            # because the pool, not the thread, owns it). An in-memory database lives and dies with
            # its connection, so it keeps one connection per checkout as before.
            pooling: dict[str, Any] = (
                {"poolclass": NullPool}
                if memory
                else {"poolclass": QueuePool, "pool_size": SQLITE_POOL_SIZE, "max_overflow": SQLITE_POOL_OVERFLOW}
            )
            self.engine: Engine = create_engine(
                self.url, connect_args={"check_same_thread": False, "timeout": 30}, **pooling
            )
            event.listen(self.engine, "connect", _sqlite_pragmas)
            # pysqlite's own transaction handling defers BEGIN; take control so that a write
            # transaction starts with "BEGIN IMMEDIATE" (serialising writers instead of failing on
            # the upgrade to a write lock) and a read transaction with a plain, deferred BEGIN that
            # never waits for a writer.
            event.listen(self.engine, "connect", lambda conn, _r: setattr(conn, "isolation_level", None))
            event.listen(self.engine, "begin", _sqlite_begin)
            if not memory:
                # Persistent in the file: once per process is enough, not once per connection.
                # On the DBAPI connection: SQLAlchemy would first BEGIN, and inside a transaction
                # SQLite silently ignores a change of journal mode.
                raw = self.engine.raw_connection()
                try:
                    raw.cursor().execute("PRAGMA journal_mode=WAL")
                finally:
                    raw.close()
        else:
            self.engine = create_engine(self.url, pool_pre_ping=True, pool_size=5, max_overflow=10)
        self.reader: Engine = self.engine.execution_options(**{READ: True})
        # SQLite's writers queue on a ``_Writer`` (threads, then processes); PostgreSQL needs no queue.
        self._writer: _Writer | None = None
        if self.is_sqlite:
            self._writer = _writer_for(path) if not memory else _Writer(None)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One write transaction (SQLite: ``BEGIN IMMEDIATE``); commits on success, rolls back on any
        exception."""
        if self._writer is None:
            with self.engine.begin() as conn:
                yield conn
            return
        # SQLite has one write lock per file; its busy handler polls for it with sleeps of up to
        # 100 ms. Writers queue on ``_Writer`` instead and are handed the turn at once.
        with self._writer.turn(), self.engine.begin() as conn:
            yield conn

    # ``write`` names what ``begin`` does, for code that also uses ``read``.
    write = begin

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """One read-only transaction: a deferred BEGIN on SQLite, so readers neither take nor wait for
        the write lock, and see one consistent snapshot (WAL). Writing inside it is a bug: on SQLite
        the upgrade to a write lock can fail with "database is locked"."""
        with self.reader.begin() as conn:
            yield conn

    def upgrade(self) -> None:
        """Bring the schema to the newest migration (idempotent)."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        with self.engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    def dispose(self) -> None:
        self.engine.dispose()
