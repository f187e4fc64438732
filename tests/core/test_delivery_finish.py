"""``DeliveryRepository.finish``: a whole batch's results in one statement run per update, each
written only under its lease, each kind of result touching only its own columns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, insert, select

from plugin.runtime import Runtime
from plugin.store import tables as t
from plugin.store.db import as_utc
from plugin.store.deliveries import DeliveryUpdate
from plugin.store.statuses import DeliveryStatus

OWNER = "worker-a"
EARLIER = datetime(2026, 1, 1, tzinfo=UTC)


def _deliveries(rt: Runtime, count: int) -> list[int]:
    tenant_id = rt.store.ensure_tenant("brand")
    mention = {"tenant_id": tenant_id, "network": "x", "payload": {}, "status": "routed", "created_at": EARLIER,
               "received_at": EARLIER, "deleted": False, "edits": 0}  # fmt: skip
    delivery = {"tenant_id": tenant_id, "sink": "zendesk", "status": "pending", "attempts": 0,
                "next_attempt_at": EARLIER, "updated_at": EARLIER, "lease_owner": OWNER,
                "lease_until": EARLIER + timedelta(days=3650)}  # fmt: skip
    ids = []
    with rt.db.begin() as conn:
        for i in range(count):
            row = {**mention, "external_id": f"m{i}", "author_external_id": f"a{i}"}
            mention_id = conn.execute(insert(t.mentions).values(**row).returning(t.mentions.c.id)).scalar_one()
            row = {**delivery, "mention_id": mention_id, "remote_id": f"old-{i}"}
            ids.append(conn.execute(insert(t.deliveries).values(**row).returning(t.deliveries.c.id)).scalar_one())
    return ids


def _rows(rt: Runtime) -> dict[int, Any]:
    with rt.db.read() as conn:
        return {r.id: r for r in conn.execute(select(t.deliveries))}


def test_finish_writes_each_result_under_its_lease_in_one_statement(runtime_any: Runtime) -> None:
    rt = runtime_any
    delivered, retried, failed, lost = _deliveries(rt, 4)
    with rt.db.begin() as conn:  # another worker took this one over: its result must not land
        conn.execute(t.deliveries.update().where(t.deliveries.c.id == lost).values(lease_owner="worker-b"))
    later = datetime(2026, 6, 1, 12, 30, tzinfo=UTC)
    statements: list[tuple[str, bool]] = []

    def count(_conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, executemany: bool) -> None:
        if statement.lstrip().upper().startswith("UPDATE"):
            statements.append((statement, executemany))

    event.listen(rt.db.engine, "before_cursor_execute", count)
    try:
        written = rt.store.deliveries.finish(OWNER, [
            DeliveryUpdate(retried, DeliveryStatus.PENDING, 1, last_error="429", next_attempt_at=later),
            DeliveryUpdate(delivered, DeliveryStatus.DELIVERED, 1, remote_id="ticket-7"),
            DeliveryUpdate(failed, DeliveryStatus.FAILED, 5, last_error="refused"),
            DeliveryUpdate(lost, DeliveryStatus.DELIVERED, 1, remote_id="ticket-8"),
        ])  # fmt: skip
    finally:
        event.remove(rt.db.engine, "before_cursor_execute", count)
    assert written == 3
    assert len(statements) == 1 and statements[0][1], statements  # one executemany for the batch

    rows = _rows(rt)
    assert rows[delivered].status == "delivered" and rows[delivered].remote_id == "ticket-7"
    assert as_utc(rows[delivered].next_attempt_at) == EARLIER  # no retry: its schedule stays
    assert rows[retried].status == "pending" and rows[retried].last_error == "429"
    assert as_utc(rows[retried].next_attempt_at) == later
    assert rows[retried].remote_id == "old-1"  # not delivered: its remote id stays
    assert rows[failed].status == "failed" and rows[failed].attempts == 5 and rows[failed].remote_id == "old-2"
    assert all(rows[i].lease_owner is None and rows[i].lease_until is None for i in (delivered, retried, failed))
    assert rows[lost].status == "pending" and rows[lost].remote_id == "old-3" and rows[lost].lease_owner == "worker-b"


def test_finish_of_nothing_writes_nothing(runtime_any: Runtime) -> None:
    assert runtime_any.store.deliveries.finish(OWNER, []) == 0
