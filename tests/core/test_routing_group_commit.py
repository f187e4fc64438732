"""Routing's group commit sends one statement per kind of row for the whole group (issue 11): the
mentions' verdicts, their deliveries and their service facts cost the same number of statements for
5 mentions as for 50, and routing twice (after a crash) still adds no second delivery or fact."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import event, func, select

from plugin.pipeline import inbound as pipeline
from plugin.runtime import Runtime
from plugin.store import tables as t
from plugin.store.inbox import RoutedMention
from tests.support.netplugin import make_mention


def commit_group(rt: Runtime, account_id: int, prefix: str, size: int) -> Counter[str]:
    found = rt.store.account(account_id)
    assert found is not None
    pipeline.ingest(rt, found[0], [make_mention(f"{prefix}{n}", author=f"{prefix}{n}") for n in range(size)])
    ids = rt.store.inbox.claim_received(f"w-{prefix}", size, lease_seconds=60.0)
    routed = [
        RoutedMention(row, n % 5 != 0, {"intent": "question"}, {"zendesk": None, "salesforce": {"record_id": "003"}})
        for n, (row, _sinks) in enumerate(rt.store.inbox.for_routing_many(ids))
    ]
    seen: Counter[str] = Counter()

    def capture(_conn: object, _cursor: object, sql: str, *_rest: object) -> None:
        words = sql.split()
        table = next((w for w in words[1:4] if w.strip('"') in t.metadata.tables), "")
        seen[f"{words[0].upper()} {table.strip(chr(34))}"] += 1

    event.listen(rt.db.engine, "before_cursor_execute", capture)
    try:
        assert rt.store.inbox.finish_routing_many(routed, f"w-{prefix}") == size
    finally:
        event.remove(rt.db.engine, "before_cursor_execute", capture)
    return seen


def test_a_group_commit_costs_the_same_statements_for_5_mentions_as_for_50(
    rt: Runtime, tenant: tuple[int, int]
) -> None:
    _tenant_id, account_id = tenant
    commit_group(rt, account_id, "w", 5)  # the hour's and day's rollup rows are created by the first group
    small, big = commit_group(rt, account_id, "s", 5), commit_group(rt, account_id, "b", 50)
    assert small == big, (small, big)
    assert big["UPDATE mentions"] == 1 and big["INSERT deliveries"] == 1 and big["INSERT service_facts"] == 1, big
    with rt.db.read() as conn:
        statuses = Counter(conn.execute(select(t.mentions.c.status)).scalars())
        deliveries = conn.execute(select(func.count()).select_from(t.deliveries)).scalar()
        facts = conn.execute(select(func.count()).select_from(t.service_facts)).scalar()
    assert statuses == {"routed": 48, "skipped": 12}  # every fifth one not engaged
    assert deliveries == 2 * 60 and facts == 48  # the engaged ones have a fact (the verdict says which)
    # Routing the same mentions again (no owner: after a crash) adds no second delivery or fact; the
    # twelve skipped before, engaged now, get theirs.
    with rt.db.read() as conn:
        ids = [int(i) for i in conn.execute(select(t.mentions.c.id)).scalars()]
    again = [RoutedMention(row, True, {}, {"zendesk": None}) for row, _ in rt.store.inbox.for_routing_many(ids)]
    assert rt.store.inbox.finish_routing_many(again) == 60
    with rt.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(t.deliveries)).scalar() == 2 * 60
        assert conn.execute(select(func.count()).select_from(t.service_facts)).scalar() == 60
