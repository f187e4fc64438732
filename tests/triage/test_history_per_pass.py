"""Triage reads its store look-ups (open case, bot loop, echo) once per routing pass, not once per
mention (issue 11), and they answer what the per-mention queries answer (SQLite and PostgreSQL)."""

from __future__ import annotations

import itertools
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, insert, select

from plugin.models import Mention
from plugin.pipeline import inbound as pipeline
from plugin.runtime import Runtime
from plugin.store import tables as t
from plugin.store.db import utcnow
from plugin.store.inbox import mention_values
from plugin.store.statuses import MentionStatus
from plugin.store.triage import TriageRepository
from plugin.triage.lookups import PassHistory
from tests.support.netplugin import make_mention

KINDS = {
    "open_case_one": re.compile(r"\bEXISTS\b"),
    "open_cases_all": re.compile(r"GROUP BY mentions\.network, mentions\.author_external_id"),
    "sent_replies": re.compile(r"FROM replies"),
    "thread_rows": re.compile(r"mentions\.thread_id (=|IN)"),
}
TEXTS = ["any update?", "Any  update? @brand", "hello", "thanks a lot", ""]
_tenants = itertools.count()


@contextmanager
def history_reads(rt: Runtime) -> Iterator[Counter[str]]:
    """Counts the statements of triage's history look-ups, by kind (``KINDS``)."""
    seen: Counter[str] = Counter()

    def capture(_conn: object, _cursor: object, sql: str, *_rest: object) -> None:
        seen.update(kind for kind, pattern in KINDS.items() if pattern.search(sql))

    event.listen(rt.db.engine, "before_cursor_execute", capture)
    try:
        yield seen
    finally:
        event.remove(rt.db.engine, "before_cursor_execute", capture)


def new_tenant(rt: Runtime) -> tuple[int, int]:
    tenant_id = rt.store.ensure_tenant(f"t{next(_tenants)}-{uuid.uuid4().hex[:6]}")
    return tenant_id, rt.store.upsert_account(tenant_id, "testnet", "brand", {})


def store(rt: Runtime, tenant_id: int, mention: Mention, status: str, received_at: datetime) -> None:
    values = mention_values(tenant_id, None, mention) | {"status": status, "received_at": received_at}
    with rt.db.begin() as conn:
        conn.execute(insert(t.mentions).values(**values))


def sent_reply(
    rt: Runtime, tenant_id: int, network: str, external_id: str, text: str, status: str, at: datetime
) -> None:
    with rt.db.begin() as conn:
        conn.execute(
            insert(t.replies).values(
                tenant_id=tenant_id, idempotency_key=uuid.uuid4().hex, source="test", network=network,
                payload={"text": text}, status=status, attempts=0, next_attempt_at=at, external_id=external_id,
                created_at=at, updated_at=at,
            )
        )  # fmt: skip


def routed_pass(rt: Runtime, size: int) -> tuple[Counter[str], dict[str, dict[str, object]]]:
    """A pass of ``size`` mentions, stored without announcing them (so routing triages them): half
    of their authors have a case open, a quarter of them answer our sent reply. Returns the pass's
    history reads and each mention's labels."""
    tenant_id, account_id = new_tenant(rt)
    now = utcnow()
    sent_reply(rt, tenant_id, "testnet", "r1", "we are looking into it", "sent", now)
    for n in range(0, size, 2):  # an earlier mention, routed: an open case
        store(rt, tenant_id, make_mention(f"old{n}", author=f"a{n}"), MentionStatus.ROUTED, now - timedelta(days=1))
    for n in range(size):
        parent = "r1" if n % 4 == 1 else None
        mention = make_mention(f"m{n}", author=f"a{n}", parent=parent, text="how do I change my delivery address?")
        assert rt.store.inbox.insert(tenant_id, account_id, mention.model_copy(update={"created_at": now}))
    with history_reads(rt) as seen:
        assert pipeline.route(rt, f"w{tenant_id}", limit=size) == size
    with rt.db.read() as conn:
        rows = conn.execute(
            select(t.mentions.c.external_id, t.mentions.c.labels).where(
                t.mentions.c.tenant_id == tenant_id, t.mentions.c.external_id.like("m%")
            )
        ).all()
    return seen, {str(r.external_id): dict(r.labels or {}) for r in rows}


def test_a_routing_pass_reads_triage_history_a_fixed_number_of_times(
    runtime_any: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One group commit for the pass, however slow this machine (a commit mid-pass reads again: below).
    monkeypatch.setattr(pipeline, "GROUP_COMMIT_SECONDS", 3600.0)
    small, _ = routed_pass(runtime_any, 4)
    big, labels = routed_pass(runtime_any, 40)
    assert small == big, (small, big)
    # One query for every author's open case, one each for the replies' rows and our sent replies.
    assert big == Counter({"open_cases_all": 1, "thread_rows": 1, "sent_replies": 1}), big
    # The answers were used: a case open, one level higher (the same question otherwise).
    assert {labels[f"m{n}"]["priority"] for n in range(0, 40, 2)} == {"high"}
    assert {labels[f"m{n}"]["priority"] for n in range(1, 40, 2)} == {"normal"}


def test_a_group_commit_mid_pass_opens_a_case_for_the_pass_later_mentions(
    runtime_any: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As one by one: the first question is routed (committed) before the second is triaged, so the
    second finds the customer's case open."""
    monkeypatch.setattr(pipeline, "GROUP_COMMIT", 1)
    rt = runtime_any
    tenant_id, account_id = new_tenant(rt)
    for name, thread in (("q1", None), ("q2", "other")):
        mention = make_mention(name, author="u5", thread=thread, text="how do I change my delivery address?")
        assert rt.store.inbox.insert(tenant_id, account_id, mention.model_copy(update={"created_at": utcnow()}))
    with history_reads(rt) as seen:
        assert pipeline.route(rt, "w-commit", limit=2) == 2
    assert seen["open_cases_all"] == 2, seen  # read again after the first commit
    with rt.db.read() as conn:
        rows = conn.execute(
            select(t.mentions.c.external_id, t.mentions.c.labels).where(t.mentions.c.tenant_id == tenant_id)
        ).all()
    priorities = {str(r.external_id): dict(r.labels or {})["priority"] for r in rows}
    assert priorities == {"q1": "normal", "q2": "high"}, priorities


def test_an_ingest_announces_its_mentions_as_one_pass(runtime_any: Runtime) -> None:
    """The observers triage what one ingest stored with the same few reads, whatever its size."""
    rt = runtime_any

    def ingest(size: int) -> Counter[str]:
        _tenant_id, account_id = new_tenant(rt)
        found = rt.store.account(account_id)
        assert found is not None
        mentions = [make_mention(f"i{n}", author=f"a{n}", parent="r1" if n % 2 else None) for n in range(size)]
        with history_reads(rt) as seen:
            assert len(pipeline.ingest(rt, found[0], mentions).new) == size
        return seen

    small, big = ingest(4), ingest(40)
    assert small == big and big["open_case_one"] == 0 and big["open_cases_all"] <= 1, (small, big)


# --- the answers: the pass's reads against the per-mention queries ---------------------------------


def test_a_bot_loop_in_one_pass_is_found_where_one_by_one_finds_it(runtime_any: Runtime) -> None:
    """Five answers to our reply in a thread, all in the pass: each counts only what was stored before
    it (row order) and within the loop window before it (its own received time), as one by one."""
    rt = runtime_any
    tenant_id, _ = new_tenant(rt)
    now = utcnow()
    sent_reply(rt, tenant_id, "testnet", "r1", "we are on it", "sent", now)
    texts = ["any update?"] * 4 + ["Any  update? @brand"]
    mentions = [make_mention(f"b{n}", author="bot", parent="r1", thread="t1", text=s) for n, s in enumerate(texts)]
    for mention, minutes in zip(mentions, [30, 9, 8, 1, 0], strict=True):
        store(rt, tenant_id, mention, MentionStatus.RECEIVED, now - timedelta(minutes=minutes))
    repository = TriageRepository(rt.db)
    batch = PassHistory(repository, tenant_id, tuple(mentions), now=now)
    args = {"open_days": 7.0, "loop_minutes": 10.0, "loop_repeats": 2, "want_open_case": True}
    found = [batch.history(m, **args).repeated_recently for m in mentions]  # type: ignore[arg-type]
    assert found == [repository.history(tenant_id, m, now=now, **args).repeated_recently for m in mentions]  # type: ignore[arg-type]
    assert found == [False, False, False, True, True]


# Random histories: few authors, threads and texts, so that open cases, echoes and loops meet.

row_specs = st.lists(
    st.tuples(
        st.sampled_from(["a", "b"]),  # author (few: histories meet)
        st.sampled_from(["testnet", "testnet", "other"]),  # network
        st.sampled_from([MentionStatus.RECEIVED, MentionStatus.ROUTED]),
        st.sampled_from([0, 2, 5, 8, 11, 15, 700, 11_000]),  # minutes ago (loop window: 10; open case: 7 days)
        st.sampled_from([None, "t1"]),  # thread (None: its parent's, or its own)
        st.sampled_from([None, "r1", "r1", "r1", "r2", "elsewhere"]),  # parent: one of our replies, or not
        st.sampled_from(TEXTS[:3]),
        st.booleans(),  # part of the pass
    ),
    min_size=2,
    max_size=12,
)
reply_specs = st.lists(
    st.tuples(
        st.sampled_from(["testnet", "other"]),
        st.sampled_from(["sent", "sent", "failed"]),
        st.sampled_from([0, 5, 30]),  # updated this many hours ago (the echo window is a day)
        st.sampled_from(TEXTS),
    ),
    max_size=3,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=row_specs,
    replies=reply_specs,
    ours=st.booleans(),
    unstored=st.booleans(),
    open_days=st.sampled_from([7.0, 0.5]),
    loop_minutes=st.sampled_from([10.0, 20_000.0]),
    loop_repeats=st.sampled_from([1, 2]),
    want_open_case=st.booleans(),
)
def test_the_pass_reads_answer_as_the_per_mention_queries(
    runtime_any: Runtime,
    rows: list[tuple[str, str, str, int, str | None, str | None, str, bool]],
    replies: list[tuple[str, str, int, str]],
    ours: bool,
    unstored: bool,
    open_days: float,
    loop_minutes: float,
    loop_repeats: int,
    want_open_case: bool,
) -> None:
    rt = runtime_any
    tenant_id, _ = new_tenant(rt)
    now = utcnow()
    if ours:  # a reply of ours just sent, that mentions answer (loops need one)
        sent_reply(rt, tenant_id, "testnet", "r1", "we are on it", "sent", now)
    for n, (network, status, hours, text) in enumerate(replies, start=2):
        sent_reply(rt, tenant_id, network, f"r{n}", text, status, now - timedelta(hours=hours))
    in_pass: list[Mention] = []
    for n, (author, network, status, minutes, thread, parent, text, chosen) in enumerate(rows):
        mention = make_mention(f"m{n}", author=author, parent=parent, thread=thread, text=text)
        mention = mention.model_copy(update={"network": network})
        store(rt, tenant_id, mention, status, now - timedelta(minutes=minutes))
        if chosen:
            in_pass.append(mention)
    if unstored:  # triaged before it is stored: compared with everything stored
        in_pass.append(make_mention("new", author="a", parent="r1", thread="t1", text=TEXTS[0]))
    repository = TriageRepository(rt.db)
    batch = PassHistory(repository, tenant_id, tuple(in_pass), now=now)
    for mention in in_pass:
        args = {"open_days": open_days, "loop_minutes": loop_minutes, "loop_repeats": loop_repeats,
                "want_open_case": want_open_case}  # fmt: skip
        one = repository.history(tenant_id, mention, now=now, **args)  # type: ignore[arg-type]
        assert batch.history(mention, **args) == one, (mention.external_id, args)  # type: ignore[arg-type]
