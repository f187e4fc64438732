"""Polling mentions and DMs against the fake over real HTTP: pagination, since_id, resume, baseline."""

from __future__ import annotations

import json

from connectors.x import XConnector
from plugin.models import Kind


def drain(x: XConnector, account, cursor):
    """Poll until the connector says there is nothing more right now; return all mentions and the cursor."""
    found, pages = [], 0
    while True:
        page = x.poll(account, cursor)
        found += page.mentions
        cursor = page.cursor
        pages += 1
        if not page.more:
            return found, cursor, pages


def test_pagination_then_since_id_across_two_cycles(sandbox, connector):
    account = sandbox.account(settings={"backfill": True, "poll_dms": False})
    first = [sandbox.state.inject_mention("alice", f"help {n}", to_user="acme")["id"] for n in range(230)]
    found, cursor, pages = drain(connector, account, None)
    assert pages == 3  # 100 + 100 + 30
    assert sorted(m.external_id for m in found) == sorted(first)
    assert len({m.external_id for m in found}) == 230
    assert json.loads(cursor)["m"]["since_id"] == max(first, key=int)

    second = [sandbox.state.inject_mention("bob", f"again {n}", to_user="acme")["id"] for n in range(3)]
    found2, cursor2, pages2 = drain(connector, account, cursor)
    assert pages2 == 1
    assert sorted(m.external_id for m in found2) == sorted(second)
    assert drain(connector, account, cursor2)[0] == []


def test_since_id_does_not_move_until_the_cycle_is_consumed(sandbox, connector):
    account = sandbox.account(settings={"backfill": True, "poll_dms": False})
    for n in range(150):
        sandbox.state.inject_mention("alice", f"m{n}", to_user="acme")
    page = connector.poll(account, None)
    assert page.more and len(page.mentions) == 100
    state = json.loads(page.cursor)["m"]
    assert state["since_id"] is None and state["next"]  # nothing committed mid-cycle


def test_resume_from_saved_cursor_after_restart(sandbox):
    account = sandbox.account(settings={"backfill": True, "poll_dms": False})
    ids = [sandbox.state.inject_mention("alice", f"m{n}", to_user="acme")["id"] for n in range(150)]
    first = XConnector().poll(account, None)
    saved = first.cursor  # the host persisted this, then the process died
    fresh = XConnector()  # a new process
    rest, cursor, _ = drain(fresh, account, saved)
    got = {m.external_id for m in first.mentions} | {m.external_id for m in rest}
    assert got == set(ids)
    assert len(first.mentions) + len(rest) == 150  # nothing fetched twice
    late = sandbox.state.inject_mention("bob", "late", to_user="acme")["id"]
    assert [m.external_id for m in drain(fresh, account, cursor)[0]] == [late]


def test_crash_before_cursor_saved_refetches_without_loss(sandbox, connector):
    account = sandbox.account(settings={"backfill": True, "poll_dms": False})
    ids = [sandbox.state.inject_mention("alice", f"m{n}", to_user="acme")["id"] for n in range(120)]
    connector.poll(account, None)  # its cursor was never stored
    again, _, _ = drain(connector, account, None)
    assert {m.external_id for m in again} == set(ids)  # duplicates are for the inbox to drop; no loss


def test_normalized_mention_from_the_fake(sandbox, connector):
    account = sandbox.account(settings={"backfill": True, "poll_dms": False})
    root = sandbox.state.inject_mention("acme", "Our new plan is live")
    reply = sandbox.state.inject_mention(
        "alice", "it is broken", in_reply_to=root["id"], media=[{"type": "photo", "url": "https://img/x.jpg"}]
    )
    quote = sandbox.state.inject_mention("bob", "@acme look at this", quote_of=root["id"], lang="de")
    found = {m.external_id: m for m in drain(connector, account, None)[0]}
    assert set(found) == {reply["id"], quote["id"]}  # the brand's own post is not a mention
    r = found[reply["id"]]
    assert r.kind is Kind.REPLY and r.parent_id == root["id"] and r.thread_id == root["id"]
    assert r.author.external_id == sandbox.alice_id and r.author.handle == "alice"
    assert r.url == f"https://x.com/alice/status/{reply['id']}"
    assert r.text == "@acme it is broken"
    assert [(a.url, a.type) for a in r.attachments] == [("https://img/x.jpg", "photo")]
    q = found[quote["id"]]
    assert q.kind is Kind.QUOTE and q.lang == "de" and q.thread_id == quote["id"]


def test_dms_newest_seen_and_own_messages_skipped(sandbox, connector):
    account = sandbox.account()
    sandbox.state.inject_dm("alice", "acme", "my card was charged twice")
    sandbox.state.inject_dm("acme", "alice", "sorry, checking")  # sent by us: never a ticket
    found, cursor, _ = drain(connector, account, None)
    assert [m.text for m in found] == ["my card was charged twice"]
    dm = found[0]
    assert dm.kind is Kind.DIRECT and dm.visibility.value == "private"
    assert dm.author.external_id == sandbox.alice_id
    assert dm.thread_id == sandbox.state.dms[0].dm_conversation_id
    assert drain(connector, account, cursor)[0] == []
    sandbox.state.inject_dm("bob", "acme", "hello?")
    assert [m.text for m in drain(connector, account, cursor)[0]] == ["hello?"]


def test_dm_paging_stops_at_newest_seen(sandbox, connector):
    account = sandbox.account()
    for n in range(5):
        sandbox.state.inject_dm("alice", "acme", f"old {n}")
    _, cursor, _ = drain(connector, account, None)
    for n in range(130):
        sandbox.state.inject_dm("bob", "acme", f"new {n}")
    found, _, pages = drain(connector, account, cursor)
    assert sorted(m.text for m in found) == sorted(f"new {n}" for n in range(130))
    assert pages == 2


def test_start_now_baseline_skips_history(sandbox, connector):
    account = sandbox.account(settings={})
    sandbox.state.inject_mention("alice", "old news", to_user="acme")
    sandbox.state.inject_dm("alice", "acme", "old dm")
    page = connector.poll(account, None)
    assert page.mentions == [] and not page.more
    new = sandbox.state.inject_mention("bob", "fresh", to_user="acme")["id"]
    sandbox.state.inject_dm("bob", "acme", "fresh dm")
    found, _, _ = drain(connector, account, page.cursor)
    assert {m.external_id for m in found if m.kind is not Kind.DIRECT} == {new}
    assert [m.text for m in found if m.kind is Kind.DIRECT] == ["fresh dm"]


def test_poll_dms_switch(sandbox, connector):
    account = sandbox.account(settings={"backfill": True, "poll_dms": False})
    sandbox.state.inject_dm("alice", "acme", "hi")
    assert drain(connector, account, None)[0] == []
    assert sandbox.state.requests["GET /2/dm_events"] == 0


def test_oauth1_only_account_polls_and_fetches_profile(sandbox, connector):
    from .conftest import OAUTH1

    account = sandbox.account(credentials=dict(OAUTH1))
    sandbox.state.inject_mention("alice", "hi", to_user="acme")
    sandbox.state.inject_dm("bob", "acme", "dm via oauth1")
    found, _, _ = drain(connector, account, None)
    assert sorted(m.kind.value for m in found) == ["direct", "post"]
    profile = connector.fetch_profile(account, sandbox.alice_id)
    assert profile is not None and profile.handle == "alice" and profile.name == "Alice A."
    assert profile.profile_url == "https://x.com/alice"
    assert connector.fetch_profile(account, "999") is None
