"""Listening: customers who name the brand without tagging it. A sandbox stream where half the relevant
posts do not tag the brand; every relevant one becomes a ticket (the untagged ones tagged ``listening``),
other meanings of the brand word and spam do not; the search stays within the account's budget, as
counted by the X fake."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

from plugin.store.db import utcnow
from sandbox.demo.run import BRAND, SUBDOMAIN, World, build_world
from tests.e2e.test_x_to_zendesk import settle

SEARCH = "GET /2/tweets/search/recent"
TAGGED = [
    ("dana", "my acme order arrived broken, who do I talk to?"),
    ("eli", "still waiting on my refund, it's been 3 weeks"),
    ("fay", "is the acme store open on public holidays?"),
]
UNTAGGED = [  # relevant, but the brand is named, not tagged (several languages)
    ("gus", "acme lost my parcel again, two weeks and still no refund"),
    ("hana", "does anyone know if acme ships to Canada? need an answer before friday"),
    ("ivan", "акме так и не вернули деньги за заказ, поддержка молчит"),
]
IRRELEVANT = [  # other meanings of the word, and spam
    ("jo", "reached the acme of my career today, feeling great"),
    ("kai", "the acme of baroque architecture is in Rome"),
    ("lee", "WIN a FREE iPhone!!! acme giveaway, click http://free-prizes.example now"),
]


@pytest.fixture
def world() -> Iterator[World]:
    w = build_world(tempfile.mkdtemp(prefix="convo-listen-"), 0, 13)
    for name, _text in TAGGED + UNTAGGED + IRRELEVANT:
        w.x_app.state.add_user(name, name=name.title())
    yield w
    w.stop()


def _x_account(world: World) -> Any:
    return next(a for a in world.runtime.store.accounts() if a.network == "x")


def _tickets_by_comment(world: World) -> dict[str, dict[str, Any]]:
    return {
        str(c["external_id"]): t
        for t in world.zd_state.tickets_with_comments(SUBDOMAIN)
        for c in t["comments"]
        if c.get("external_id")
    }


def _budget_allows_the_next_search(world: World) -> None:
    """An hour passes for the account's search budget (its next allowed search time is due now)."""
    accounts = world.runtime.store.brand_accounts
    account = _x_account(world)
    accounts.save_listening(account.id, accounts.cursor(account.id).listen_cursor, utcnow())


def test_relevant_posts_become_tickets_marked_listening_and_noise_does_not(world: World) -> None:
    x = world.x_app.state
    account = _x_account(world)
    world.runtime.store.update_account_settings(
        account.id, {"listen_terms": "acme, #acmehelp, акме", "listen_calls_per_hour": 1}
    )
    settle(world)  # the first search only records where "now" is
    assert x.requests[SEARCH] == 1

    tagged = [x.inject_mention(n, t, to_user=BRAND)["id"] for n, t in TAGGED]
    untagged = [x.inject_post(n, t, lang="ru" if n == "ivan" else "en")["id"] for n, t in UNTAGGED]
    noise = [x.inject_post(n, t)["id"] for n, t in IRRELEVANT]
    for _ in range(5):
        settle(world)  # polled again and again: the budget (1 search an hour) allows no search yet
    assert x.requests[SEARCH] == 1
    assert not any(f"x:{i}" in _tickets_by_comment(world) for i in untagged)

    _budget_allows_the_next_search(world)
    for _ in range(3):
        settle(world)
    assert x.requests[SEARCH] == 2  # one more search, and only one, however often we polled

    tickets = _tickets_by_comment(world)
    for post_id in untagged:
        assert "listening" in tickets[f"x:{post_id}"]["tags"], tickets[f"x:{post_id}"]["tags"]
    for post_id in tagged:
        assert "listening" not in tickets[f"x:{post_id}"]["tags"]
    for post_id in noise:
        assert f"x:{post_id}" not in tickets
    # The noise is kept and counted, with the reason, never ticketed.
    reasons = {}
    for post_id in noise:
        row = world.runtime.store.inbox.find(account.tenant_id, "x", post_id)
        assert row is not None
        reasons[post_id] = (row.labels or {}).get("skip_reason")
    assert set(reasons.values()) <= {"listening_not_for_us", "spam"} and None not in reasons.values()


def test_an_agent_answers_a_listening_ticket_in_the_customers_thread(world: World) -> None:
    x = world.x_app.state
    account = _x_account(world)
    world.runtime.store.update_account_settings(account.id, {"listen_terms": "acme", "listen_calls_per_hour": 3600})
    settle(world)
    post = x.inject_post("gus", "acme charged me twice and nobody answers")
    _budget_allows_the_next_search(world)
    settle(world)
    ticket = _tickets_by_comment(world)[f"x:{post['id']}"]
    outcome = world.driver.agent_reply(ticket["id"], "Hi Gus, we saw this and are on it.")
    assert outcome.channelback and outcome.channelback["status"] == "sent"
    [reply] = [p for p in x.posted_by(BRAND) if p["kind"] == "post"]
    assert reply["in_reply_to_tweet_id"] == post["id"]


def test_bluesky_listening_searches_one_term_per_call_within_the_budget() -> None:
    world = build_world(tempfile.mkdtemp(prefix="convo-listen-bsky-"), 0, 17, every_network=True)
    try:
        network = next(n for n in world.networks if n.name == "bluesky")
        state = network.harness.app.state
        customer = network.harness.customer["did"]
        brand = network.harness.brand["did"]
        world.runtime.store.update_account_settings(
            network.account_id, {"listen_terms": "acme, #acmehelp", "listen_calls_per_hour": 1}
        )
        settle(world)  # the first turn only records where "now" is (no request at all)
        assert state.calls.count("app.bsky.feed.searchPosts") == 0
        relevant = state.inject_post(customer, "acme lost my parcel, two weeks and still no refund")["uri"]
        hashtag = state.inject_post(customer, "#acmehelp does the warranty cover a cracked screen?")["uri"]
        noise = state.inject_post(customer, "the acme of baroque architecture is in Rome")["uri"]
        tagged = state.inject_post(customer, "acme where is my order?", mentions=[brand])["uri"]
        accounts = world.runtime.store.brand_accounts
        for _turn in range(2):  # one term per search: two turns cover both terms
            accounts.save_listening(network.account_id, accounts.cursor(network.account_id).listen_cursor, utcnow())
            for _ in range(3):
                settle(world)  # however often the account is polled, one search per allowed turn
        assert state.calls.count("app.bsky.feed.searchPosts") == 2
        tickets = _tickets_by_comment(world)
        assert "listening" in tickets[f"bluesky:{relevant}"]["tags"]
        assert "listening" in tickets[f"bluesky:{hashtag}"]["tags"]
        assert f"bluesky:{noise}" not in tickets
        assert "listening" not in tickets[f"bluesky:{tagged}"]["tags"]  # it came as a mention notification
    finally:
        world.stop()


def test_mastodon_listening_follows_hashtag_timelines() -> None:
    world = build_world(tempfile.mkdtemp(prefix="convo-listen-masto-"), 0, 19, every_network=True)
    try:
        network = next(n for n in world.networks if n.name == "mastodon")
        state = network.harness.app.state
        customer = network.harness.customer["id"]
        world.runtime.store.update_account_settings(
            network.account_id, {"listen_terms": "acme, #acmehelp", "listen_calls_per_hour": 1}
        )
        accounts = world.runtime.store.brand_accounts

        def next_turn() -> None:
            accounts.save_listening(network.account_id, accounts.cursor(network.account_id).listen_cursor, utcnow())
            for _ in range(3):
                settle(world)

        settle(world)  # the first turn reads where the hashtag timeline is now
        before = state.inject_status(customer, "#acmehelp an old complaint from before listening began")
        relevant = state.inject_status(customer, "#acmehelp my refund never arrived, order 88, please help")
        noise = state.inject_status(customer, "#acmehelp win free crypto now!!! click http://spam.example")
        next_turn()
        tag_calls = [p for m, p in state.requests_seen if p.startswith("/api/v1/timelines/tag/")]
        assert len(tag_calls) == 2  # one per allowed turn; "acme" is no hashtag, so it costs nothing here
        tickets = _tickets_by_comment(world)
        assert "listening" in tickets[f"mastodon:{relevant['id']}"]["tags"]
        assert f"mastodon:{noise['id']}" not in tickets
        assert f"mastodon:{before['id']}" in tickets  # posted after the start was read, so it counts
    finally:
        world.stop()
