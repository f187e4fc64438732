"""The intake's hot statements run on the DB-API driver (plugin/store/rawsql.py), compiled once per
dialect by SQLAlchemy: the rows they store, the ids they return and the generation they read must be
exactly what SQLAlchemy's own execution path gives, on SQLite and PostgreSQL, including values that
need quoting, unicode, None, JSON and timezone-aware datetimes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from plugin.models import Author, Mention
from plugin.runtime import Runtime, build_runtime
from plugin.store import cache_tables as ct
from plugin.store import outbox
from plugin.store import tables as t
from plugin.store.account_cache import read_generation
from plugin.store.db import as_utc
from plugin.store.inbox import mention_values
from plugin.store.intake import ROWS_PER_INSERT, IntakeTransaction
from plugin.store.rawsql import Raw
from tests.conftest import fast_settings

AWKWARD = "O'Brien said \"it's broken\"; DROP TABLE mentions; -- ünïcödé 日本語 🎉 \\ %s %(x)s ?"


@pytest.fixture
def rt(tmp_path: Path, any_database_url: str) -> Iterator[Runtime]:
    runtime = build_runtime(fast_settings(str(tmp_path), any_database_url))
    yield runtime
    runtime.db.dispose()


def _mention(external_id: str, text: str = AWKWARD, **fields: Any) -> Mention:
    values: dict[str, Any] = {
        "network": "messenger",
        "external_id": external_id,
        "author": Author(external_id="psid-1", handle="o'brien", name='Zoë "Z" O\'Brien'),
        "text": text,
        "created_at": datetime(2026, 11, 30, 23, 59, 58, 123456, tzinfo=UTC),
        "account": "page-1",
        "extra": {"quote": "'\"", "none": None, "nested": {"ü": [1, 2.5, True]}},
    }
    return Mention(**(values | fields))


def _tenant_and_account(rt: Runtime, key: str) -> tuple[int, int]:
    tenant = rt.store.ensure_tenant(key)
    account = rt.store.upsert_account(tenant, "messenger", f"page-{key}", {"page_access_token": "x"})
    return tenant, account


def _rows(rt: Runtime, tenant_id: int) -> dict[str, dict[str, Any]]:
    """The stored rows of a tenant by external id, without what differs by design between two inserts."""
    m = t.mentions.c
    with rt.db.read() as conn:
        rows = conn.execute(select(t.mentions).where(m.tenant_id == tenant_id).order_by(m.id)).mappings().all()
    skip = {"id", "tenant_id", "account_id", "received_at"}
    return {row["external_id"]: {k: v for k, v in row.items() if k not in skip} for row in rows}


def test_the_raw_insert_stores_what_sqlalchemy_stores_and_returns_the_ids(rt: Runtime) -> None:
    mentions = [
        _mention("mid.1"),
        _mention("mid.2", thread_id=None, parent_id=None, url=None, lang=None),
        _mention("mid.3", thread_id="t'1", parent_id='p"1', text="", lang="de", url="https://x.test/?a=1&b='2'"),
    ]
    raw_tenant, raw_account = _tenant_and_account(rt, "raw")
    core_tenant, core_account = _tenant_and_account(rt, "core")

    with rt.db.begin() as conn:
        ids = IntakeTransaction(conn).insert_many(raw_tenant, raw_account, mentions)
    with rt.db.begin() as conn:  # the same rows through SQLAlchemy's own execution path
        for mention in mentions:
            conn.execute(insert(t.mentions).values(mention_values(core_tenant, core_account, mention)))

    assert _rows(rt, raw_tenant) == _rows(rt, core_tenant)
    m = t.mentions.c
    with rt.db.read() as conn:
        stored = {
            r.external_id: r.id for r in conn.execute(select(m.external_id, m.id).where(m.tenant_id == raw_tenant))
        }
    assert ids == [stored["mid.1"], stored["mid.2"], stored["mid.3"]]
    found = rt.store.inbox.find(raw_tenant, "messenger", "mid.1")
    assert found is not None and found.mention() == mentions[0]  # read back as it went in
    assert as_utc(found.received_at) is not None and found.account_id == raw_account


def test_duplicates_return_none_in_the_store_and_within_one_batch(rt: Runtime) -> None:
    tenant, account = _tenant_and_account(rt, "dup")
    with rt.db.begin() as conn:
        first = IntakeTransaction(conn).insert_many(tenant, account, [_mention("a"), _mention("b")])
    with rt.db.begin() as conn:
        again = IntakeTransaction(conn).insert_many(
            tenant, account, [_mention("b"), _mention("c"), _mention("c"), _mention("a"), _mention("d")]
        )

    assert all(isinstance(i, int) for i in first) and len(set(first)) == 2
    assert again[0] is None and again[2] is None and again[3] is None
    assert isinstance(again[1], int) and isinstance(again[4], int) and again[1] != again[4]
    assert set(_rows(rt, tenant)) == {"a", "b", "c", "d"}


def test_more_rows_than_one_statement_takes_are_all_stored(rt: Runtime) -> None:
    tenant, account = _tenant_and_account(rt, "many")
    count = 2 * ROWS_PER_INSERT + 7
    mentions = [_mention(f"m{n}", text=f"message {n} ✓") for n in range(count)] + [_mention("m0")]
    with rt.db.begin() as conn:
        ids = IntakeTransaction(conn).insert_many(tenant, account, mentions)

    assert ids[-1] is None  # the copy of m0 at the end
    assert len({i for i in ids if i is not None}) == count
    assert len(_rows(rt, tenant)) == count


def test_the_health_mark_is_created_then_updated(rt: Runtime) -> None:
    _tenant, account = _tenant_and_account(rt, "health")
    h = t.account_health.c
    with rt.db.begin() as conn:
        conn.execute(t.account_health.delete().where(h.account_id == account))
        IntakeTransaction(conn).mark_webhook_ok(account)
    with rt.db.read() as conn:
        first = as_utc(conn.execute(select(h.last_webhook_ok_at).where(h.account_id == account)).scalar_one())
    with rt.db.begin() as conn:
        conn.execute(t.account_health.update().where(h.account_id == account).values(last_error="kept"))
        IntakeTransaction(conn).mark_webhook_ok(account)
    with rt.db.read() as conn:
        row = conn.execute(select(h.last_webhook_ok_at, h.last_error).where(h.account_id == account)).one()

    assert first is not None and abs(first - datetime.now(UTC)) < timedelta(minutes=5)
    later = as_utc(row.last_webhook_ok_at)
    assert later is not None and later >= first
    assert row.last_error == "kept"  # only the mark's column is updated


def test_the_generation_read_on_the_driver_equals_sqlalchemys(rt: Runtime) -> None:
    g = ct.cache_generations.c
    query = select(g.generation).where(g.name == ct.ACCOUNTS)
    with rt.db.read() as conn:
        before = read_generation(conn)
        assert before == int(conn.execute(query).scalar_one_or_none() or 0)
    _tenant_and_account(rt, "bump")  # the accounts trigger bumps it
    with rt.db.read() as conn:
        after = read_generation(conn)
        assert after == int(conn.execute(query).scalar_one())
    assert after > before


def test_a_statement_that_leaves_python_defaults_is_refused(rt: Runtime) -> None:
    # mentions.deleted and .edits have Python-side defaults: run raw, they would silently be NULL.
    statement = insert(t.mentions).values(tenant_id=1, network="x", external_id="y")
    with rt.db.read() as conn, pytest.raises(ValueError, match="Python-side defaults"):
        Raw.compile(statement, conn.dialect)


def test_the_handoff_look_up_on_the_driver_finds_what_sqlalchemy_finds(rt: Runtime) -> None:
    tenant, account = _tenant_and_account(rt, "handoff")
    now = datetime.now(UTC)

    def reply(n: int, customer: str, thread: str | None, status: str, age: timedelta) -> dict[str, Any]:
        return {
            "tenant_id": tenant, "account_id": account, "idempotency_key": f"k{n}", "source": "zendesk_channelback",
            "network": "messenger", "payload": {}, "status": status, "attempts": 1, "next_attempt_at": now,
            "created_at": now - age, "updated_at": now - age, "recipient_id": customer, "handoff_thread": thread,
        }  # fmt: skip

    with rt.db.begin() as conn:
        conn.execute(
            insert(t.replies),
            [
                reply(1, "psid-1", "thread-old", "sent", timedelta(days=20)),  # before ``since``
                reply(2, "psid-1", "thread 'one' ü", "sent", timedelta(days=2)),
                reply(3, "psid-1", "thread-two", "sent", timedelta(days=1)),  # the latest sent
                reply(4, "psid-1", "thread-pending", "pending", timedelta(hours=1)),  # not sent
                reply(5, "psid-1", None, "sent", timedelta(minutes=5)),  # no handoff
                reply(6, "psid-2", "thread-other", "sent", timedelta(minutes=5)),  # another customer
            ],
        )
    since = now - timedelta(days=14)
    with rt.db.begin() as conn:
        tx = IntakeTransaction(conn)
        found = tx.handoff_thread(tenant, account, "messenger", "psid-1", since)
        nobody = tx.handoff_thread(tenant, account, "messenger", "psid-3", since)
        core = conn.execute(
            outbox._handoff_query(),
            {
                "tenant_id": tenant,
                "network": "messenger",
                "customer_id": "psid-1",
                "account_id": account,
                "since": since,
            },
        ).scalar()
    assert found == core == "thread-two"
    assert nobody is None
    assert rt.store.outbox.handoff_thread_for(tenant, account, "messenger", "psid-2", since) == "thread-other"
