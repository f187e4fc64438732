"""Identity resolution reads and writes once per routing pass, not once per mention (issue 11): the
statements a pass sends for identity do not grow with the number of mentions and authors it routes,
and the verdicts are those stored one by one before (every author a "new customer" here: the
Salesforce fake has no Contact with these authors' contacts)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event, select

from plugin.pipeline import inbound as pipeline
from plugin.runtime import Runtime
from plugin.store import tables as t
from plugin.store.statuses import LinkStatus
from tests.support.netplugin import make_mention

IDENTITY = re.compile(r"identity_links|identity_audit|sink_connections|author_external_id IN", re.IGNORECASE)


@contextmanager
def identity_statements(rt: Runtime) -> Iterator[Counter[str]]:
    """Counts the statements that touch identity's rows (links, audit, the CRM connection, an
    author's mentions), by their first word (SELECT, INSERT, UPDATE)."""
    seen: Counter[str] = Counter()

    def capture(_conn: object, _cursor: object, sql: str, *_rest: object) -> None:
        if IDENTITY.search(sql):
            seen[sql.split(None, 1)[0].upper()] += 1

    event.listen(rt.db.engine, "before_cursor_execute", capture)
    try:
        yield seen
    finally:
        event.remove(rt.db.engine, "before_cursor_execute", capture)


def route_pass(rt: Runtime, account_id: int, prefix: str, authors: int, round_: int) -> Counter[str]:
    found = rt.store.account(account_id)
    assert found is not None
    mentions = [make_mention(f"{prefix}{round_}-{n}", author=f"{prefix}{n}", text=f"order {n} is late")
                for n in range(authors)]  # fmt: skip
    pipeline.ingest(rt, found[0], mentions)
    with identity_statements(rt) as seen:
        assert pipeline.route(rt, f"w-{prefix}{round_}", limit=authors) == authors
    return seen


def test_a_routing_pass_reads_and_writes_identity_a_fixed_number_of_times(rt: Runtime, tenant: tuple[int, int]) -> None:
    _tenant_id, account_id = tenant
    # First sight (no verdict): one batch resolves every author of the pass, its verdicts written together.
    small, big = route_pass(rt, account_id, "s", 20, 1), route_pass(rt, account_id, "b", 200, 1)
    assert small == big, (small, big)
    assert sum(big.values()) <= 12, big  # a dozen for the pass (links, connection, one batch), not 200 of each
    # Seen again: each author's "new customer" verdict is checked against their contacts, read together.
    small, big = route_pass(rt, account_id, "s", 20, 2), route_pass(rt, account_id, "b", 200, 2)
    assert small == big, (small, big)
    assert big["INSERT"] == big["UPDATE"] == 0 and big["SELECT"] <= 4, big
    with rt.db.read() as conn:
        links = conn.execute(
            select(t.identity_links.c.author_external_id, t.identity_links.c.status, t.identity_links.c.sink)
        ).all()
        matches = conn.execute(select(t.deliveries.c.match).where(t.deliveries.c.sink == "salesforce")).scalars().all()
    assert sorted(a for a, _, _ in links) == sorted([f"s{n}" for n in range(20)] + [f"b{n}" for n in range(200)])
    assert {(status, sink) for _, status, sink in links} == {(LinkStatus.NEW, "salesforce")}
    assert len(matches) == 2 * 220 and set(matches) == {None}  # a delivery per mention, no match for a new customer
