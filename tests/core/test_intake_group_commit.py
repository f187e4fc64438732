"""A group commit stores several callers' batches in one transaction, each in its own savepoint (run on
the driver's cursor, plugin/store/intake.py): a batch that fails rolls back alone, also after a
database error (which aborts the whole transaction on PostgreSQL until rolled back to the savepoint),
and the others commit. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text

from plugin.models import Author, Mention
from plugin.runtime import Runtime, build_runtime
from plugin.store import tables as t
from plugin.store.intake import IntakeFailed, IntakeRepository, IntakeTransaction, _Job
from tests.conftest import fast_settings


@pytest.fixture
def rt(tmp_path: Path, any_database_url: str) -> Iterator[Runtime]:
    runtime = build_runtime(fast_settings(str(tmp_path), any_database_url))
    yield runtime
    runtime.db.dispose()


def _mention(external_id: str) -> Mention:
    return Mention(
        network="messenger",
        external_id=external_id,
        author=Author(external_id="psid-1"),
        text=f"message {external_id}",
        created_at=datetime(2026, 12, 1, 12, 0, tzinfo=UTC),
        account="page-1",
    )


def _stored(rt: Runtime, tenant_id: int) -> set[str]:
    m = t.mentions.c
    with rt.db.read() as conn:
        return set(conn.execute(select(m.external_id).where(m.tenant_id == tenant_id)).scalars())


def _inserting(tenant_id: int, account_id: int, *external_ids: str) -> Callable[[IntakeTransaction], list[int | None]]:
    return lambda tx: tx.insert_many(tenant_id, account_id, [_mention(e) for e in external_ids])


def _then_fails_in_python(store: Callable[[IntakeTransaction], object]) -> Callable[[IntakeTransaction], object]:
    def failing(tx: IntakeTransaction) -> object:
        store(tx)
        raise ValueError("this caller's own mistake")

    return failing


def _then_fails_in_the_database(store: Callable[[IntakeTransaction], object]) -> Callable[[IntakeTransaction], object]:
    def failing(tx: IntakeTransaction) -> object:
        store(tx)
        tx.conn.execute(text("SELECT no_such_column FROM mentions"))
        return None

    return failing


def test_a_failing_batch_rolls_back_alone_and_the_others_commit(rt: Runtime) -> None:
    tenant = rt.store.ensure_tenant("t1")
    account = rt.store.upsert_account(tenant, "messenger", "page-1", {"page_access_token": "x"})
    jobs = [
        _Job(_inserting(tenant, account, "a1", "a2"), None),
        _Job(_then_fails_in_python(_inserting(tenant, account, "b1")), None),
        _Job(_inserting(tenant, account, "c1"), None),
        _Job(_then_fails_in_the_database(_inserting(tenant, account, "d1")), None),
        _Job(_inserting(tenant, account, "e1", "a1"), None),  # a1: a duplicate of the first batch's
    ]
    IntakeRepository(rt.db)._commit(jobs)

    assert all(job.finished for job in jobs)
    assert _stored(rt, tenant) == {"a1", "a2", "c1", "e1"}
    assert isinstance(jobs[1].error, ValueError)
    assert jobs[3].error is not None and not isinstance(jobs[3].error, IntakeFailed)
    assert [job.error for job in (jobs[0], jobs[2], jobs[4])] == [None, None, None]
    assert jobs[4].result is not None and jobs[4].result[1] is None  # decided by the unique key


def test_savepoints_of_one_batch_after_another_on_the_same_connection(rt: Runtime) -> None:
    """Names are per place in the batch: the next group commit reuses them without confusion."""
    tenant = rt.store.ensure_tenant("t2")
    account = rt.store.upsert_account(tenant, "messenger", "page-2", {"page_access_token": "x"})
    repo = IntakeRepository(rt.db)
    for round_ in range(3):
        jobs = [
            _Job(_then_fails_in_the_database(_inserting(tenant, account, f"x{round_}")), None),
            _Job(_inserting(tenant, account, f"y{round_}"), None),
        ]
        repo._commit(jobs)
        assert jobs[0].error is not None and jobs[1].error is None
    assert _stored(rt, tenant) == {"y0", "y1", "y2"}
