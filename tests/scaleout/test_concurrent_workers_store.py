"""Store writes that several ``horseshoe worker`` processes make at once on PostgreSQL (found by
``bench scale``): the loser of a race must fall through to the winner's row, never fail the batch."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, func, insert, select, text

from plugin.runtime import Runtime, build_runtime
from plugin.store import tables as t
from tests.conftest import fast_settings

LOCK_WAITERS = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
WAIT_SECONDS = 20.0  # bound on waiting for the other session to block; normally milliseconds


@pytest.fixture
def pg_runtime(tmp_path: object, postgres_database: str) -> Iterator[Runtime]:
    from tests.conftest import _reset_postgres

    _reset_postgres(postgres_database)
    rt = build_runtime(fast_settings(str(tmp_path), postgres_database))
    yield rt
    rt.db.dispose()


def _blocked_on_a_lock(rt: Runtime) -> bool:
    with rt.db.engine.connect() as conn:
        waiting = conn.execute(text(LOCK_WAITERS)).scalar_one()
    return int(waiting) > 0


def test_upsert_link_loses_the_insert_race_to_another_worker_and_updates_its_row(pg_runtime: Runtime) -> None:
    rt = pg_runtime
    tenant_id = rt.store.ensure_tenant("race")
    other = create_engine(rt.db.engine.url)
    now = datetime.now(UTC)
    result: dict[str, object] = {}
    try:
        with other.connect() as rival:
            rival.begin()
            # The other worker inserted the same author's link and has not committed yet: our read
            # cannot see it, and our insert waits on the unique index until it commits.
            rival.execute(
                insert(t.identity_links).values(
                    tenant_id=tenant_id, sink="salesforce", network="x", author_external_id="a1",
                    created_at=now, updated_at=now, merged=False, status="new",
                )
            )  # fmt: skip

            def ours() -> None:
                try:
                    result["id"] = rt.store.identity.upsert_link(tenant_id, "salesforce", "x", "a1", status="linked")
                except Exception as exc:  # reported to the test thread below
                    result["error"] = exc

            thread = threading.Thread(target=ours)
            thread.start()
            waited = threading.Event()
            for _ in range(int(WAIT_SECONDS / 0.05)):
                if _blocked_on_a_lock(rt):
                    break
                waited.wait(0.05)
            else:
                pytest.fail("our upsert never waited on the rival's uncommitted insert")
            rival.commit()
            thread.join(WAIT_SECONDS)
    finally:
        other.dispose()
    assert "error" not in result, result.get("error")
    links = t.identity_links.c
    with rt.db.read() as conn:
        rows = conn.execute(select(links.id, links.status).where(links.author_external_id == "a1")).all()
        assert conn.execute(select(func.count()).select_from(t.identity_links)).scalar_one() == 1
    assert [(r.id, r.status) for r in rows] == [(result["id"], "linked")]  # the rival's row, our verdict


def test_finishing_deliveries_locks_rows_in_id_order_like_lease_renewals(pg_runtime: Runtime) -> None:
    """A worker finishing a batch and its own heartbeat renewing the same leases must take row locks
    in the same order, or PostgreSQL deadlocks them (seen in bench scale). While the lowest id is held
    elsewhere, ``finish`` with its updates in any order must wait there holding no higher row."""
    from plugin.models import Author, Mention
    from plugin.store.deliveries import DeliveryUpdate
    from plugin.store.statuses import DeliveryStatus

    rt = pg_runtime
    tenant_id = rt.store.ensure_tenant("order")
    rt.store.upsert_account(tenant_id, "x", "brand", {"user_access_token": "t"}, handle="brand")
    found = rt.store.find_account(tenant_id, "x", "brand")
    assert found is not None
    now = datetime.now(UTC)
    with rt.db.begin() as conn:
        for n in range(3):
            author = Author(external_id=f"a{n}", handle=f"h{n}", name=f"P {n}")
            rt.store.inbox.insert(tenant_id, found[0].id, Mention(
                network="x", external_id=f"m{n}", thread_id=f"m{n}", author=author, text="hi", created_at=now,
                account="brand"))  # fmt: skip
    with rt.db.begin() as conn:
        for (mention_id,) in conn.execute(select(t.mentions.c.id)).all():
            conn.execute(insert(t.deliveries).values(
                mention_id=mention_id, tenant_id=tenant_id, sink="zendesk", status=DeliveryStatus.PENDING,
                attempts=0, next_attempt_at=now, updated_at=now))  # fmt: skip
    ids = sorted(rt.store.deliveries.claim_due("w", 10, 60.0))
    assert len(ids) == 3
    updates = [DeliveryUpdate(i, DeliveryStatus.DELIVERED, 1, remote_id=str(i)) for i in reversed(ids)]
    other = create_engine(rt.db.engine.url)
    result: dict[str, object] = {}
    try:
        with other.connect() as rival, other.connect() as probe:
            rival.begin()
            rival.execute(text("SELECT id FROM deliveries WHERE id = :i FOR UPDATE"), {"i": ids[0]})
            thread = threading.Thread(target=lambda: result.update(written=rt.store.deliveries.finish("w", updates)))
            thread.start()
            for _ in range(int(WAIT_SECONDS / 0.05)):
                if _blocked_on_a_lock(rt):
                    break
                threading.Event().wait(0.05)
            else:
                pytest.fail("finish never waited on the lowest id")
            probe.begin()
            # NOWAIT: fails at once if finish had already locked the highest id (updates in given order).
            probe.execute(text("SELECT id FROM deliveries WHERE id = :i FOR UPDATE NOWAIT"), {"i": ids[-1]})
            probe.rollback()
            rival.rollback()
            thread.join(WAIT_SECONDS)
    finally:
        other.dispose()
    assert result == {"written": 3}
