"""Closed Cases for the resolution figures: batched SOQL against the Salesforce fake (simple-salesforce)."""

from __future__ import annotations

from plugin.salesforce.sink import SalesforceSink
from tests.support.netplugin import make_mention

from .conftest import SfEnv, connection, item


def test_only_posts_on_closed_cases_are_reported_with_the_closed_date(sink: SalesforceSink, sfenv: SfEnv) -> None:
    delivered = sink.deliver(
        connection(sfenv), [item(make_mention("m1", author="u1")), item(make_mention("m2", author="u2"))]
    )
    posts = {o.remote_id: o for o in delivered}
    assert all(o.status == "delivered" for o in delivered) and len(posts) == 2
    by_post = {p["Id"]: p["ParentId"] for p in sfenv.records("SocialPost")}
    first, second = sorted(posts, key=lambda post: str(by_post[post]))
    sfenv.close_case(by_post[first], days_ago=1)
    batch = sink.fetch_resolutions(connection(sfenv), None, [first, second])
    assert batch is not None and batch.cursor is None
    assert [r.ticket for r in batch.solved] == [first]
    [case] = [c for c in sfenv.records("Case") if c["Id"] == by_post[first]]
    assert case["IsClosed"] is True and batch.solved[0].solved_at.tzinfo is not None
    # nothing open: no query at all
    assert sink.fetch_resolutions(connection(sfenv), None, []).solved == []  # type: ignore[union-attr]
