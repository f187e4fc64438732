"""Satisfaction asked in the same channel, on every network with private messages, against the fakes.

Customers write privately on X, Messenger, Instagram, Telegram, VK, Mastodon and Bluesky; agents
answer in Zendesk and solve the tickets; horseshoe asks each customer once for a 1-5 rating in that
private conversation, records the answer on the conversation and the Zendesk ticket (tag, internal
note), and reopens the ticket when the rating is negative. Public conversations and networks without
private messages are skipped with the reason.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from plugin.outbox.satisfaction import QUESTION
from plugin.worker import resolutions
from sandbox.demo.run import BRAND, SUBDOMAIN, World, build_world

PRIVATE = ("messenger", "instagram", "telegram", "vk", "mastodon", "bluesky")
RATINGS = {"x": 5, "messenger": 2, "instagram": 4, "telegram": 1, "vk": 5, "mastodon": 3, "bluesky": 4}
CUSTOMER = "tom_h"


def _wait(check: Callable[[], bool], what: str | Callable[[], str], seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what() if callable(what) else what}")


def _debug(w: World) -> str:
    from sqlalchemy import text

    with w.runtime.db.read() as conn:
        facts = conn.execute(text("select network, solved_at, csat_state, csat_reason from service_facts")).all()
        links = conn.execute(text("select sink, ticket from service_tickets")).all()
        replies = conn.execute(text("select source, network, status, last_error from replies")).all()
    return f"facts={facts} links={links} replies={replies}"


def _settled(w: World) -> bool:
    counts = w.runtime.store.counts()
    return counts["mentions_pending"] + counts["deliveries_pending"] + counts["replies_pending"] == 0


def _questions(w: World) -> dict[str, int]:
    counts = {n.name: sum(QUESTION in p.text and p.private for p in n.harness.posted()) for n in w.networks}
    counts["x"] = sum(QUESTION in str(p.get("text")) for p in w.x_app.state.posted_by(w.brand_id))
    return counts


def _write(w: World, network: str, text: str) -> None:
    if network == "x":
        w.x_app.state.inject_dm(CUSTOMER, BRAND, text)
        return
    net = next(n for n in w.networks if n.name == network)
    external_id = net.harness.inject_private(text)
    assert external_id is not None
    request = net.harness.signed_webhook(external_id) if net.harness.dm_delivery == "webhook" or network in (
        "messenger", "instagram") else None  # fmt: skip
    if request is not None:
        # Meta sends a webhook again until it is accepted (the inbox keeps one copy): on a loaded
        # machine the first try may time out.
        _wait(lambda: net._try_post(request), f"{network} webhook accepted")
    net.push()  # Telegram POSTs the update to the webhook its connect flow registered


def _facts(w: World) -> dict[str, Any]:
    tenant_id = w.runtime.store.tenant_id(SUBDOMAIN)
    assert tenant_id is not None
    rows = w.runtime.store.service.hours(tenant_id, *_day())
    csat: dict[str, int] = {}
    for row in rows:
        for key, n in row.csat.items():
            csat[key] = csat.get(key, 0) + n
    return {"csat": csat}


def _day() -> tuple[Any, Any]:
    from datetime import timedelta

    from plugin.store.db import utcnow

    now = utcnow()
    return now - timedelta(days=1), now + timedelta(hours=1)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    w = build_world(tempfile.mkdtemp(prefix="horseshoe-csat-"), 0, 11, every_network=True)
    tenant_id = w.runtime.store.tenant_id(SUBDOMAIN)
    assert tenant_id is not None
    for account in w.runtime.store.accounts(tenant_id):
        w.runtime.store.update_account_settings(account.id, {**account.settings, "satisfaction": True})
    w.worker.start_thread()
    try:
        yield w
    finally:
        w.stop()


def test_asked_once_recorded_on_the_ticket_and_negative_reopened(world: World) -> None:
    w = world
    for network in ("x", *PRIVATE):
        _write(w, network, "my order is late, can you check?")
    w.x_app.state.inject_mention(CUSTOMER, "public question about my order", to_user=BRAND)
    facebook = next(n for n in w.networks if n.name == "facebook")
    facebook.inject(0)  # a public comment: Facebook has no private messages for a brand
    _wait(lambda: _settled(w) and len(w.zd_state.tickets_with_comments(SUBDOMAIN)) >= 9,
          lambda: f"tickets: {w.runtime.store.counts()}, {len(w.zd_state.tickets_with_comments(SUBDOMAIN))} tickets",
          seconds=120)  # fmt: skip
    for ticket in w.zd_state.tickets_with_comments(SUBDOMAIN):
        w.driver.agent_reply(ticket["id"], f"We are on it (ref {ticket['id']})")
    w.driver.flush_events()
    _wait(lambda: _settled(w), "agents' replies published")
    tickets = {t["id"] for t in w.zd_state.tickets_with_comments(SUBDOMAIN)}
    for ticket_id in tickets:
        w.zd_state.set_ticket_status(SUBDOMAIN, ticket_id, "solved")
    resolutions.sync(w.runtime, force=True)
    _wait(lambda: all(_questions(w)[n] >= 1 for n in ("x", *PRIVATE)) and _settled(w),
          lambda: f"questions {_questions(w)}; {_debug(w)}")  # fmt: skip
    asked = _questions(w)
    assert {k: asked[k] for k in ("x", *PRIVATE)} == dict.fromkeys(("x", *PRIVATE), 1), asked
    assert asked["facebook"] == 0
    # Solved again (reopened by nobody, just re-read): never asked twice.
    resolutions.sync(w.runtime, force=True)
    time.sleep(1.0)
    assert _questions(w) == asked

    for network, rating in RATINGS.items():
        _write(w, network, str(rating))
    _wait(lambda: sum(_facts(w)["csat"].get(str(r), 0) for r in range(1, 6)) == len(RATINGS),
          f"ratings recorded {_facts(w)}")  # fmt: skip
    csat = _facts(w)["csat"]
    assert csat == {"1": 1, "2": 1, "3": 1, "4": 2, "5": 2, "asked": 7, "skipped": 2}
    # The ratings reach the tickets through the worker's durable queue (plugin/worker/ratings.py).
    tenant_id = w.runtime.store.tenant_id(SUBDOMAIN)
    _wait(lambda: w.runtime.store.csat.counts(tenant_id).get("done") == len(RATINGS),
          lambda: f"ratings written {w.runtime.store.csat.counts(tenant_id)}")  # fmt: skip
    by_status = {t["id"]: t for t in w.zd_state.tickets_with_comments(SUBDOMAIN)}
    tagged = {tag for t in by_status.values() for tag in t["tags"]}
    assert {f"csat_{r}" for r in RATINGS.values()} <= tagged
    negative = [t for t in by_status.values() if {"csat_1", "csat_2"} & set(t["tags"])]
    assert len(negative) == 2 and all(t["status"] == "open" for t in negative)
    assert all(any(not c["public"] and "follow up" in c["body"] for c in t["comments"]) for t in negative)
    positive = [t for t in by_status.values() if {"csat_4", "csat_5"} & set(t["tags"])]
    assert positive and all(t["status"] == "solved" for t in positive)
    # the rating messages became no ticket and no comment of their own
    assert not any(c["body"].strip() in {"1", "2", "3", "4", "5"} for t in by_status.values() for c in t["comments"])


def test_messaging_windows_and_public_conversations_are_skipped_with_a_reason(tmp_path: object) -> None:
    from datetime import timedelta

    from plugin.models import Author, Mention, Visibility
    from plugin.outbox.satisfaction import why_not
    from plugin.runtime import build_runtime
    from plugin.store.db import utcnow
    from plugin.store.inbox import RoutedMention
    from tests.conftest import fast_settings

    rt = build_runtime(fast_settings(str(tmp_path)))
    tenant_id = rt.store.ensure_tenant("acme")
    account = rt.store.upsert_account(tenant_id, "messenger", "page", {"t": "t"}, settings={"satisfaction": True})

    def fact_for(author: str, age: timedelta, visibility: Visibility) -> Any:
        mention = Mention(network="messenger", external_id=f"mid-{author}", author=Author(external_id=author),
                          text="help", created_at=utcnow() - age, account="page", visibility=visibility)  # fmt: skip
        mention_id = rt.store.inbox.insert(tenant_id, account, mention)
        assert mention_id is not None
        row = rt.store.inbox.for_routing_many([mention_id])[0][0]
        rt.store.inbox.finish_routing_many([RoutedMention(row, True, {"intent": "question"}, {})])
        rt.store.service.link_tickets(tenant_id, "zendesk", [(f"t-{author}", "messenger", f"mid-{author}")])
        fact = rt.store.service.facts_for_ticket(tenant_id, "zendesk", f"t-{author}")[0]
        return fact, rt.store.service.mention_payload(fact)

    recent, recent_mention = fact_for("psid-1", timedelta(hours=2), Visibility.PRIVATE)
    assert why_not(rt, recent, recent_mention, {}) is None
    old, old_mention = fact_for("psid-2", timedelta(hours=25), Visibility.PRIVATE)
    assert why_not(rt, old, old_mention, {}) == "outside messenger's 24-hour messaging window"
    public, public_mention = fact_for("psid-3", timedelta(hours=1), Visibility.PUBLIC)
    assert why_not(rt, public, public_mention, {}) == "public conversation: the rating is asked only in a private one"
    # the skip is recorded with its reason, and counted, when the ticket is solved
    from plugin.outbox import satisfaction

    solved = rt.store.service.record_solved(tenant_id, "zendesk", [("t-psid-2", utcnow())])
    assert satisfaction.ask(rt, "zendesk", solved) == 0
    [fact] = rt.store.service.facts_for_ticket(tenant_id, "zendesk", "t-psid-2")
    assert fact.csat_state == "skipped" and rt.store.counts()["replies_pending"] == 0
    rt.db.dispose()


@pytest.mark.parametrize(
    ("text", "rating"),
    [("4", 4), (" 5/5 ", 5), ("@acme 2", 2), ("3 stars", 3), ("★★★★", 4), ("1 out of 5", 1), ("45", None),
     ("my order 3", None), ("0", None), ("", None)],
)  # fmt: skip
def test_rating_answers(text: str, rating: int | None) -> None:
    from plugin.dashboard.ratings import parse_rating

    assert parse_rating(text) == rating


def test_a_negative_rating_on_a_closed_ticket_opens_one_follow_up(world: World) -> None:
    """Zendesk keeps closed tickets as they are (422): a negative answer opens a follow-up ticket with
    the same requester, linked to the closed one; asked again, it finds that follow-up."""
    from plugin.errors import FatalError
    from plugin.sink import Rating, SinkConnection
    from plugin.worker.ratings import note_for

    w = world
    tenant_id = w.runtime.store.tenant_id(SUBDOMAIN)
    assert tenant_id is not None
    config = w.runtime.store.sink_connection(tenant_id, "zendesk")
    assert config is not None
    connection = SinkConnection(tenant_id, SUBDOMAIN, "zendesk", config)
    if not w.zd_state.tickets_with_comments(SUBDOMAIN):  # run alone (e.g. on another xdist worker)
        _write(w, "telegram", "my parcel never came")
        _wait(lambda: _settled(w) and bool(w.zd_state.tickets_with_comments(SUBDOMAIN)), "a ticket", seconds=120)
    closed = w.zd_state.tickets_with_comments(SUBDOMAIN)[0]
    w.zd_state.set_ticket_status(SUBDOMAIN, closed["id"], "closed")
    sink = w.runtime.registry.sinks["zendesk"]
    kept = sink.record_rating(connection, Rating(str(closed["id"]), 5, "telegram", note_for(5, "telegram")))
    assert kept is not None and "is closed" in kept
    rating = Rating(str(closed["id"]), 1, "telegram", note_for(1, "telegram"))
    first = sink.record_rating(connection, rating)
    again = sink.record_rating(connection, rating)  # written at least once: a repeat finds the follow-up
    tickets = w.zd_state.tickets_with_comments(SUBDOMAIN)
    [follow_up] = [t for t in tickets if t["followup_source_id"] == closed["id"]]
    assert first == f"ticket #{closed['id']} is closed: follow-up ticket #{follow_up['id']} opened"
    assert again == f"ticket #{closed['id']} is closed: follow-up ticket #{follow_up['id']} is open"
    assert follow_up["requester_id"] == closed["requester_id"] and follow_up["status"] == "open"
    assert {"csat_1", "csat_followup"} <= set(follow_up["tags"])
    [note] = follow_up["comments"]
    assert note["public"] is False and "please follow up" in note["body"]
    # No REST credentials: nothing can be written, and the reason says what to do.
    rest = ("oauth_token", "api_token", "api_email")
    bare = SinkConnection(tenant_id, SUBDOMAIN, "zendesk", {k: v for k, v in config.items() if k not in rest})
    with pytest.raises(FatalError, match="add them in the admin page"):
        sink.record_rating(bare, rating)
