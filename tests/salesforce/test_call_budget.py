"""1,000 mentions from 300 authors cost at most 1/50 of a one-call-per-object integration's calls.

Calls are counted by the fake itself (``state.calls``: every HTTP request it answered, logins
included). The baseline is what an integration doing one request per object and look-up makes for
the same data: per mention, look up the post (dedupe), the persona and the persona's latest post,
read that post's Case when there is one, and create the post; per new author, create the Contact and
the SocialPersona; per new Case, create it; plus one login.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from plugin.models import Author, Mention
from plugin.salesforce.sink import SalesforceSink

from .conftest import SfEnv, connection, item

MENTIONS, AUTHORS = 1000, 300


def _mentions(seed: int = 7) -> list[Mention]:
    rng = random.Random(seed)
    authors = [f"a{i}" for i in range(AUTHORS)]
    order = authors + [rng.choice(authors) for _ in range(MENTIONS - AUTHORS)]
    start = datetime(2026, 11, 1, tzinfo=UTC)
    return [
        Mention(network="x", external_id=f"p{n}", thread_id=f"p{n}", author=Author(external_id=a, handle=f"h{a}",
                name=f"Person {a}"), text=f"post {n}", created_at=start + timedelta(seconds=n), account="brand")
        for n, a in enumerate(order)
    ]  # fmt: skip


def naive_calls(env: SfEnv, mentions: int, authors: int) -> int:
    cases = len(env.records("Case"))
    lookups = 3 * mentions + (mentions - authors)  # post, persona, latest post; its Case if any
    writes = mentions + 2 * authors + cases  # posts; Contact + SocialPersona; Cases
    return 1 + lookups + writes


def test_thousand_mentions_within_a_fiftieth_of_naive_calls(sink: SalesforceSink, sfenv: SfEnv) -> None:
    mentions = _mentions()
    conn = connection(sfenv)
    before = sum(sfenv.state.calls.values())
    outcomes = []
    for start in range(0, len(mentions), sink.max_batch):
        outcomes += sink.deliver(conn, [item(m) for m in mentions[start : start + sink.max_batch]])
    used = sum(sfenv.state.calls.values()) - before
    assert [o.status for o in outcomes].count("delivered") == MENTIONS
    assert len(sfenv.records("SocialPost")) == MENTIONS and len(sfenv.records("SocialPersona")) == AUTHORS
    assert len(sfenv.records("Contact")) == AUTHORS and len(sfenv.records("Case")) == AUTHORS
    baseline = naive_calls(sfenv, MENTIONS, AUTHORS)
    print(f"salesforce calls: batched={used} naive={baseline}")
    assert used * 50 <= baseline, (used, baseline)
