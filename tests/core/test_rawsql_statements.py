"""``Statements.fixed``: a statement without variants, given already built, is compiled once per dialect
and run on the driver like any other (plugin/store/rawsql.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pytest
from sqlalchemy import Connection, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from plugin.runtime import Runtime, build_runtime
from plugin.store import tables as t
from plugin.store.rawsql import Statements
from tests.conftest import fast_settings


@pytest.fixture
def rt(tmp_path: Path, any_database_url: str) -> Iterator[Runtime]:
    runtime = build_runtime(fast_settings(str(tmp_path), any_database_url))
    yield runtime
    runtime.db.dispose()


@dataclass
class _OnDialect:
    """What ``Statements.get`` reads of a connection (its dialect), to compile for a dialect this
    machine may not have a server for; nothing is executed on it."""

    dialect: Dialect


def test_a_fixed_statement_runs_on_the_driver_and_is_compiled_once(rt: Runtime) -> None:
    tenant_id = rt.store.ensure_tenant("fixed-one")
    statements = Statements.fixed(select(t.tenants.c.key).where(t.tenants.c.id == bindparam("id")))
    with rt.db.read() as conn:
        first = statements.get(conn)
        assert first.execute(conn, {"id": tenant_id}) == [("fixed-one",)]
        assert statements.get(conn) is first  # kept, not compiled again


def test_a_fixed_statement_compiles_for_each_dialect() -> None:
    statements = Statements.fixed(select(t.tenants.c.key).where(t.tenants.c.id == bindparam("id")))
    on_sqlite = statements.get(cast(Connection, _OnDialect(sqlite.dialect())))
    on_postgres = statements.get(cast(Connection, _OnDialect(postgresql.psycopg.dialect())))
    assert "?" in on_sqlite.sql and on_sqlite.positional
    assert "%(id)s" in on_postgres.sql and not on_postgres.positional
