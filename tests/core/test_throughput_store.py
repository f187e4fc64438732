"""The store built for throughput (issue 11): pooled connections with their PRAGMAs set once, reads
in deferred transactions that never wait for a writer, and identity resolution that looks at each
received mention once, however long the backlog."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, select, text

from plugin.identity.plugin import WINDOW
from plugin.pipeline import inbound as pipeline
from plugin.runtime import Runtime
from plugin.store import Database
from plugin.store import tables as t
from plugin.store.inbox import RoutedMention
from tests.support.netplugin import make_mention


def test_sqlite_connections_are_pooled_and_set_up_once(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'pool.db'}")
    connects: list[object] = []
    event.listen(db.engine, "connect", lambda conn, _r: connects.append(conn))
    try:
        db.upgrade()
        for _ in range(20):
            with db.read() as conn:
                conn.execute(select(t.tenants.c.id)).all()
            with db.write() as conn:
                conn.execute(text("UPDATE tenants SET name = name"))
        assert len(connects) <= 1, "a transaction opened a new connection"
        with db.read() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        db.dispose()


def test_sqlite_reads_do_not_wait_for_a_writer(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'rw.db'}")
    db.upgrade()
    writing, done = threading.Event(), threading.Event()

    def writer() -> None:
        with db.write() as conn:
            conn.execute(text("INSERT INTO tenants (key, name, created_at) VALUES ('w', 'w', '2026-01-01')"))
            writing.set()
            done.wait(10)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert writing.wait(10)
        # BEGIN IMMEDIATE here would block until the writer commits (busy_timeout 30 s).
        reader_done = threading.Event()
        seen: list[int] = []

        def reader() -> None:
            with db.read() as conn:
                seen.append(len(conn.execute(select(t.tenants.c.id)).all()))
            reader_done.set()

        threading.Thread(target=reader, daemon=True).start()
        assert reader_done.wait(5), "a read transaction waited for the write lock"
        assert seen == [0]  # the writer's row is not committed yet
    finally:
        done.set()
        thread.join(10)
        db.dispose()


def test_routing_without_an_identity_adapter_builds_no_batch(
    rt: Runtime, tenant: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Zendesk connected without REST credentials: nothing to resolve, so no window is loaded (it used
    to load every received mention for every mention: quadratic)."""
    tenant_id, account_id = tenant
    rt.store.set_sink_connection(
        tenant_id, "zendesk", {"subdomain": "acme", "instance_push_id": "p", "zendesk_access_token": "t"}
    )
    calls: list[int] = []
    ids = rt.store.identity
    original = ids.unresolved_payloads
    monkeypatch.setattr(ids, "unresolved_payloads", lambda *a, **k: calls.append(1) or original(*a, **k))
    account = rt.store.account(account_id)[0]  # type: ignore[index]
    pipeline.ingest(rt, account, [make_mention(str(i), author=f"u{i % 7}") for i in range(30)])
    assert pipeline.route(rt, "w1") == 30
    assert calls == []


def test_the_resolution_window_is_bounded_and_skips_decided_authors(rt: Runtime, tenant: tuple[int, int]) -> None:
    tenant_id, account_id = tenant
    account = rt.store.account(account_id)[0]  # type: ignore[index]
    pipeline.ingest(rt, account, [make_mention(str(i), author=f"u{i}") for i in range(WINDOW + 50)])
    ids = rt.store.identity
    window = ids.unresolved_payloads(tenant_id, "zendesk", WINDOW)
    assert len(window) == WINDOW
    assert [p["external_id"] for p in window[:3]] == ["0", "1", "2"]  # oldest first
    ids.upsert_link(tenant_id, "zendesk", "testnet", "u0", status="new")
    after = ids.unresolved_payloads(tenant_id, "zendesk", WINDOW)
    assert after[0]["external_id"] == "1"  # an author with a verdict is not looked at again
    assert len(ids.unresolved_payloads(tenant_id, "salesforce", WINDOW)) == WINDOW  # per sink
    with rt.db.read() as conn:
        assert conn.execute(select(t.identity_links.c.id)).all() != []


def test_group_commit_leaves_a_mention_whose_routing_lease_was_lost(rt: Runtime, tenant: tuple[int, int]) -> None:
    _tenant_id, account_id = tenant
    account = rt.store.account(account_id)[0]  # type: ignore[index]
    pipeline.ingest(rt, account, [make_mention("1"), make_mention("2", author="u2")])
    ids = rt.store.inbox.claim_received("slow", 10, lease_seconds=0.0)  # expires at once
    taken = rt.store.inbox.claim_received("fast", 1, lease_seconds=60.0)  # another worker takes one
    assert len(ids) == 2 and len(taken) == 1
    routed = [RoutedMention(row, True, {}, {"zendesk": None}) for row, _ in rt.store.inbox.for_routing_many(ids)]
    assert rt.store.inbox.finish_routing_many(routed, "slow") == 1  # only the one nobody took
    with rt.db.read() as conn:
        statuses = dict(conn.execute(select(t.mentions.c.external_id, t.mentions.c.status)).all())
        deliveries = conn.execute(select(t.deliveries.c.mention_id)).all()
    assert sorted(statuses.values()) == ["received", "routed"]
    assert len(deliveries) == 1


def test_racing_group_commits_add_every_mention_to_the_shared_rollup_rows_once(
    rt: Runtime, tenant: tuple[int, int]
) -> None:
    """Every routing group commit of a tenant adds to the same few rollup rows (one per hour and per
    day): racing ones, each spanning two hours of one day, neither deadlock nor lose a contribution,
    and a group's mentions are summed into each row (plugin/store/rollups.py, ``bump_many``)."""
    tenant_id, account_id = tenant
    groups, per_group = 4, 6
    start = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
    ids: list[list[int]] = []
    for g in range(groups):
        mine = []
        for n in range(per_group):
            at = start + timedelta(hours=n % 2, minutes=g * per_group + n)  # 09:xx and 10:xx alternate
            mention = make_mention(f"{g}-{n}", author=f"u{g}-{n}").model_copy(update={"created_at": at})
            mention_id = rt.store.inbox.insert(tenant_id, account_id, mention)
            assert mention_id is not None
            mine.append(mention_id)
        ids.append(mine)
    intents = ("praise", "complaint", "question")

    def commit(g: int) -> int:
        rows = rt.store.inbox.for_routing_many(ids[g])
        routed = [
            RoutedMention(row, True, {"intent": intents[i % 3], "sentiment": "positive"}, {"zendesk": None})
            for i, (row, _sinks) in enumerate(rows)
        ]
        return rt.store.inbox.finish_routing_many(routed)

    barrier = threading.Barrier(groups)
    finished: list[int] = []
    errors: list[BaseException] = []

    def run(g: int) -> None:
        barrier.wait()
        try:
            finished.append(commit(g))
        except BaseException as exc:  # re-raised below: a deadlock would surface here
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(g,)) for g in range(groups)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sorted(finished) == [per_group] * groups
    service = rt.store.service
    hours = service.rollup(tenant_id, start, start + timedelta(hours=2))
    assert [(h.hour, h.mentions) for h in hours] == [
        (start, groups * per_group // 2), (start + timedelta(hours=1), groups * per_group // 2)
    ]  # fmt: skip
    [day] = service.rollup(tenant_id, start, start + timedelta(days=1), grain="day")
    total = groups * per_group
    assert day.mentions == total and day.promoting == total  # praise and positive both promote
    assert day.by_intent == {i: total // 3 for i in intents}
    assert day.by_sentiment == {"positive": total}
    assert sum(h.by_intent.get("praise", 0) for h in hours) == total // 3


def test_an_authors_mentions_are_read_by_network_and_author_through_the_author_index(
    rt: Runtime, tenant: tuple[int, int]
) -> None:
    """Identity's facts read the mentions of (network, author) keys: only those keys' mentions come
    back (the same author id on another network is someone else), and on SQLite the query walks
    ``ix_mentions_author`` on all three columns. Filtered on the tenant and author alone it read every
    mention of the tenant for each routed mention, a cost that grew with the backlog."""
    tenant_id, account_id = tenant
    account = rt.store.account(account_id)[0]  # type: ignore[index]
    pipeline.ingest(rt, account, [make_mention(str(i), author=f"u{i % 5}", text=f"m{i}") for i in range(20)])
    with rt.db.begin() as conn:  # the same author id on another network: another person
        conn.execute(t.mentions.update().where(t.mentions.c.external_id == "0").values(network="othernet"))
    statements: list[tuple[str, object]] = []
    capture = lambda _c, _cur, sql, params, _ctx, _many: statements.append((sql, params))  # noqa: E731
    event.listen(rt.db.engine, "before_cursor_execute", capture)
    try:
        found = rt.store.identity.mention_payloads(tenant_id, [("testnet", "u0"), ("testnet", "u3")])
    finally:
        event.remove(rt.db.engine, "before_cursor_execute", capture)
    assert [(r.network, r.author_external_id, r.payload["text"]) for r in found] == [
        ("testnet", "u3", "m3"), ("testnet", "u0", "m5"), ("testnet", "u3", "m8"), ("testnet", "u0", "m10"),
        ("testnet", "u3", "m13"), ("testnet", "u0", "m15"), ("testnet", "u3", "m18"),
    ]  # fmt: skip
    assert rt.store.identity.mention_payloads(tenant_id, []) == []
    if rt.db.engine.dialect.name != "sqlite":
        return
    [(sql, params)] = [(s, p) for s, p in statements if "author_external_id IN" in s]
    with rt.db.read() as conn:
        plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params))  # type: ignore[arg-type]
    assert "ix_mentions_author (tenant_id=? AND network=? AND author_external_id=?)" in plan
