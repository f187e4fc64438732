"""A mention is triaged once although two callers need its labels: the observers announcing it when
it is stored (``horseshoe_mention_stored``: escalation, praise) and routing moments later. Counted by
the store look-up every triage makes (the authors' open cases: one read for a pass of mentions, see
``plugin.triage.lookups``), not by wrapping the triager."""

from __future__ import annotations

import re

from sqlalchemy import event

from plugin.pipeline import inbound as pipeline
from plugin.runtime import Runtime
from tests.support.netplugin import make_mention

OPEN_CASE = re.compile(
    r"EXISTS \(SELECT .*FROM mentions.*status = |FROM mentions.*status = .*GROUP BY mentions\.network",
    re.IGNORECASE | re.DOTALL,
)


def test_a_stored_mention_is_triaged_once_by_the_announcement_and_routing(rt: Runtime, tenant: tuple[int, int]) -> None:
    _tenant_id, account_id = tenant
    found = rt.store.account(account_id)
    assert found is not None
    looks: list[str] = []

    def capture(_conn: object, _cursor: object, sql: str, *_rest: object) -> None:
        if OPEN_CASE.search(sql):
            looks.append(sql)

    event.listen(rt.db.engine, "before_cursor_execute", capture)
    try:
        texts = ("where is my order?", "my parcel never arrived, please help", "the app crashes on login")
        pipeline.ingest(rt, found[0], [make_mention(str(n), author=f"u{n}", text=text) for n, text in enumerate(texts)])
        announced = len(looks)
        assert pipeline.route(rt, "w1") == 3
    finally:
        event.remove(rt.db.engine, "before_cursor_execute", capture)
    assert announced == 1  # the observers triaged the stored mentions (one read for the three)...
    assert len(looks) == 1  # ...and routing reused those labels instead of triaging again
