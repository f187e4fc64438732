"""A fixed data set with hand-computed figures (the values are in test_definitions.py).

Monday 2020-01-06 (UTC), tenant "acme": five X mentions on the X account, one Mastodon mention on the
Mastodon account. Minutes to the first answer: m1 30, m2 180, m3 1320, m4 never, m5 5, m6 50.
Solved after: m1 2 h, m2 12 h, m5 30 min. Ratings: m1 5, m2 2, m5 4; m3 skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from plugin.models import Author, Mention
from plugin.runtime import Runtime
from plugin.store.inbox import RoutedMention

DAY = datetime(2020, 1, 6, tzinfo=UTC)
NOW = datetime(2020, 1, 8, tzinfo=UTC)


def at(hours: float, minutes: float = 0) -> datetime:
    return DAY + timedelta(hours=hours, minutes=minutes)


@dataclass(frozen=True)
class Row:
    key: str
    network: str
    created: datetime
    labels: dict[str, object]
    reply_after_min: float | None
    solved_after_h: float | None
    rating: int | str | None  # a rating, "skipped", or None (never asked)


ROWS = [
    Row("m1", "x", at(9), {"intent": "praise", "sentiment": "positive", "praise_employees": ["lee"]}, 30, 2, 5),
    Row("m2", "x", at(9, 10), {"intent": "complaint", "sentiment": "negative"}, 180, 12, 2),
    Row("m3", "x", at(9, 20), {"intent": "question", "sentiment": "neutral"}, 1320, None, "skipped"),
    Row("m4", "x", at(10), {"intent": "complaint", "sentiment": "negative"}, None, None, None),
    Row("m5", "x", at(10, 30), {"intent": "question", "sentiment": "positive"}, 5, 0.5, 4),
    Row("m6", "mastodon", at(10), {"intent": "question", "sentiment": "positive"}, 50, None, None),
]


def load(rt: Runtime, tenant_id: int, accounts: dict[str, int]) -> None:
    """Store, route, answer, solve and rate the rows through the store's own paths."""
    store = rt.store
    for row in ROWS:
        mention = Mention(
            network=row.network, external_id=row.key, author=Author(external_id=f"author-{row.key}"),
            text=f"text of {row.key}", created_at=row.created, account="brand",
        )  # fmt: skip
        mention_id = store.inbox.insert(tenant_id, accounts[row.network], mention)
        assert mention_id is not None
        found = store.inbox.for_routing_many([mention_id])[0][0]
        store.inbox.finish_routing_many([RoutedMention(found, True, dict(row.labels), {})])
    for row in ROWS:
        if row.reply_after_min is not None:
            store.service.record_reply(
                tenant_id, row.network, row.key, None, row.created + timedelta(minutes=row.reply_after_min)
            )
        store.service.link_tickets(tenant_id, "zendesk", [(f"t-{row.key}", row.network, row.key)])
        if row.solved_after_h is not None:
            store.service.record_solved(
                tenant_id, "zendesk", [(f"t-{row.key}", row.created + timedelta(hours=row.solved_after_h))]
            )
        if row.rating is not None:
            fact = store.service.facts_for_ticket(tenant_id, "zendesk", f"t-{row.key}")[0]
            if row.rating == "skipped":
                store.service.record_csat(fact.id, "skipped", reason="no private messages")
            else:
                assert isinstance(row.rating, int)
                store.service.record_csat(fact.id, "asked")
                store.service.record_csat(fact.id, "answered", rating=row.rating)
