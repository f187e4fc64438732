"""Hot statements run on the DB-API driver directly, compiled once per dialect by SQLAlchemy.

Every webhook runs the same few statements (the accounts' generation read, the mentions insert, the
health mark). Through ``Connection.execute`` each costs SQLAlchemy's whole execution path: the
statement's cache key, the compiled-cache look-up, an execution context, parameter processing and a
result object with its row processors, which together cost more CPU than SQLite takes to run the
statement. Here SQLAlchemy still writes the SQL (dialect, quoting, ``ON CONFLICT``, ``RETURNING``)
and gives each parameter's bind processor (JSON, datetimes, booleans), but only once per dialect:
``Raw`` keeps the SQL text, the order the driver takes the parameters in and their processors, and
runs it with the pooled DB-API connection's cursor inside the caller's transaction (savepoints and
SQLite's ``BEGIN IMMEDIATE`` are the SQLAlchemy connection's, unchanged).

Only for statements whose result needs no type processing (ids, strings, integers): rows come back
as the driver's tuples.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class Raw:
    """One statement compiled for one dialect: SQL text, parameter names in the driver's order (or by
    name for a named paramstyle, e.g. psycopg's ``%(name)s``), a bind processor per name, and the
    values of parameters the statement itself fixes (literals SQLAlchemy made bind parameters)."""

    sql: str
    names: tuple[str, ...]
    positional: bool
    processors: Mapping[str, Processor]
    fixed: Mapping[str, Any]

    @classmethod
    def compile(cls, statement: ClauseElement, dialect: Dialect) -> Raw:
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)  # a statement, not DDL
        if getattr(compiled, "insert_prefetch", None) or getattr(compiled, "update_prefetch", None):
            # Python-side column defaults are computed per execution by SQLAlchemy: name every column.
            raise ValueError(f"statement leaves columns to Python-side defaults: {compiled.string[:80]}")
        binds = {name: bind for bind, name in compiled.bind_names.items()}
        positional = bool(compiled.positional)
        names = tuple(compiled.positiontup or ()) if positional else tuple(binds)
        processors: dict[str, Processor] = {}
        fixed: dict[str, Any] = {}
        for name in dict.fromkeys(names):
            bind = binds[name]
            processors[name] = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if bind.callable is not None:  # evaluated per execution by SQLAlchemy: not frozen here
                raise ValueError(f"parameter {name!r} has a callable value: pass it at execution")
            if not bind.required:
                fixed[name] = bind.value
        return cls(compiled.string, names, positional, processors, fixed)

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        """``values`` (by bind name; a name not given takes the statement's own value) as the driver
        takes them, each through its type's bind processor."""
        out: dict[str, Any] = {}
        for name, process in self.processors.items():
            value = values[name] if name in values else self.fixed[name]
            out[name] = process(value) if process is not None and value is not None else value
        return tuple(out[name] for name in self.names) if self.positional else out

    def execute(self, conn: Connection, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Run once with ``values`` on ``conn``'s DB-API connection (inside its transaction); the rows
        it returns (none without ``RETURNING``)."""
        cursor = conn.connection.cursor()
        try:
            cursor.execute(self.sql, self.parameters(values))
            return list(cursor.fetchall()) if cursor.description is not None else []
        finally:
            cursor.close()


class Statements:
    """``build(dialect, key)`` compiled once per (dialect name, key) and kept: what a module holds for
    each hot statement (``key`` tells apart variants, e.g. how many rows a multi-row INSERT has)."""

    def __init__(self, build: Callable[[Dialect, Any], ClauseElement]):
        self._build = build
        self._compiled: dict[tuple[str, Any], Raw] = {}
        self._lock = threading.Lock()

    def get(self, conn: Connection, key: Any = None) -> Raw:
        dialect = conn.dialect
        found = self._compiled.get((dialect.name, key))
        if found is None:
            found = Raw.compile(self._build(dialect, key), dialect)
            with self._lock:
                found = self._compiled.setdefault((dialect.name, key), found)
        return found

    @classmethod
    def fixed(cls, statement: ClauseElement) -> Statements:
        """One statement with no variants, built once by the caller: compiled once per dialect all the same
        (the same expression compiles to different SQL on SQLite and PostgreSQL)."""
        return cls(lambda _dialect, _key: statement)
