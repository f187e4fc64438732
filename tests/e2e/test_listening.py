"""Listening: customers who name the brand without tagging it. A sandbox stream where half the relevant
posts do not tag the brand; every relevant one becomes a ticket (the untagged ones tagged ``listening``),
other meanings of the brand word and spam do not; the search stays within the account's budget, as
counted by the X fake."""

from __future__ import annotations

import dataclasses
import json
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

from plugin import ratebudget
from plugin.errors import FatalError
from plugin.store.db import utcnow
from sandbox.demo.run import BRAND, SUBDOMAIN, World, build_world
from tests.support.settle import settle

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


def _an_hour_passes(world: World, account_id: int) -> None:
    """An hour passes for the account's budgets: its search budget allows the next search (its next
    allowed search time is due now), and its request budget (``plugin.ratebudget``, spent by polls and
    replies; the search rides on a poll turn) is full again. The demo polls every half second: a few
    quick settles spend that bucket's burst (X: 15 calls, two per poll) and later polls wait for its
    refill (a call every 3 s), so how many polls a settle gets would depend on how fast the machine is."""
    runtime = world.runtime
    accounts = runtime.store.brand_accounts
    accounts.save_listening(account_id, accounts.cursor(account_id).listen_cursor, utcnow())
    found = accounts.get(account_id)
    assert found is not None
    connector = runtime.registry.connector(found[0].network)
    target = ratebudget.account_target(runtime.settings, account_id, connector)
    buckets = ratebudget.bucket_store(runtime.settings, runtime.store)
    if target is not None and buckets is not None:
        buckets.adjust(target.key, target.spec.capacity)  # capped at the bucket's capacity: full


def _budget_allows_the_next_search(world: World) -> None:
    _an_hour_passes(world, _x_account(world).id)


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
        for _turn in range(2):  # one term per search: two turns cover both terms
            _an_hour_passes(world, network.account_id)
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

        def next_turn() -> None:
            _an_hour_passes(world, network.account_id)
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


def _turns(world: World, account_id: int, turns: int) -> None:
    """``turns`` allowed listening turns (an hour of budget each), each polled several times."""
    for _turn in range(turns):
        _an_hour_passes(world, account_id)
        for _ in range(3):
            settle(world)  # however often the account is polled, one search per allowed turn


def test_vk_listening_searches_the_newsfeed_with_the_service_token_within_the_budget() -> None:
    from sandbox.vk.harness import VK_CUSTOMER
    from sandbox.vk.search import user_posts_publicly

    world = build_world(tempfile.mkdtemp(prefix="convo-listen-vk-"), 0, 29, every_network=True)
    try:
        network = next(n for n in world.networks if n.name == "vk")
        state = network.harness.app.state
        world.runtime.store.update_account_settings(
            network.account_id, {"listen_terms": "acme, #acmehelp", "listen_calls_per_hour": 1}
        )
        settle(world)  # the first turn only records where "now" is (no request at all)
        assert state.search_calls == 0
        relevant = user_posts_publicly(state, VK_CUSTOMER, "acme lost my parcel, two weeks and still no refund")
        hashtag = user_posts_publicly(state, VK_CUSTOMER, "#acmehelp does the warranty cover a cracked screen?")
        noise = user_posts_publicly(state, VK_CUSTOMER, "the acme of baroque architecture is in Rome")
        _turns(world, network.account_id, 2)  # one term per search: two turns cover both terms
        assert state.search_calls == 2
        tickets = _tickets_by_comment(world)
        for post in (relevant, hashtag):
            assert "listening" in tickets[f"vk:wall{post['owner_id']}_{post['id']}"]["tags"]
        assert f"vk:wall{noise['owner_id']}_{noise['id']}" not in tickets
    finally:
        world.stop()


def test_vk_refuses_a_community_token_for_search_as_vk_documents() -> None:
    import requests

    from sandbox.vk.harness import VKHarness

    harness = VKHarness()
    harness.start()
    try:
        harness.reset()
        answer = requests.post(
            f"{harness.url}/method/newsfeed.search",
            data={"q": "acme", "v": "5.199", "access_token": harness.app.state.access_token},
            timeout=10,
        ).json()
        assert answer["error"]["error_code"] == 27  # "Group authorization failed: method is unavailable..."
        account = harness.account()
        no_token = dataclasses.replace(account, credentials={"access_token": account.credentials["access_token"]})
        with pytest.raises(FatalError, match="service token"):
            harness.connector().listen(no_token, ["acme"], "{}")
    finally:
        harness.stop()


def test_instagram_listening_follows_hashtags_within_the_budget_and_cannot_be_commented() -> None:
    from sandbox.meta.hashtags import post_tagged

    world = build_world(tempfile.mkdtemp(prefix="convo-listen-ig-"), 0, 31, every_network=True)
    try:
        network = next(n for n in world.networks if n.name == "instagram")
        state = network.harness.state
        world.runtime.store.update_account_settings(
            network.account_id, {"listen_terms": "#acmehelp, #acme", "listen_calls_per_hour": 1}
        )
        settle(world)  # records "now", no request
        assert state.hashtags.calls == 0
        _turns(world, network.account_id, 2)  # each hashtag's id is looked up once, one per turn
        assert state.hashtags.calls == 2
        relevant = post_tagged(state, "#acmehelp my order never arrived and still no refund, please help")
        noise = post_tagged(state, "#acme the acme of baroque architecture is in Rome #travel")
        _turns(world, network.account_id, 2)  # then one recent_media read per turn
        assert state.hashtags.calls == 4
        tickets = _tickets_by_comment(world)
        ticket = tickets[f"instagram:{relevant}"]
        assert "listening" in ticket["tags"]
        assert f"instagram:{noise}" not in tickets
        # Meta: "You cannot comment on hashtagged media objects discovered through the API".
        outcome = world.driver.agent_reply(ticket["id"], "Hi, we are on it!", request_unique_identifier="ig-ht")
        assert outcome.channelback and outcome.channelback["http_status"] == 422
        assert "hashtag search" in outcome.channelback["body"]
        assert not [p for p in network.harness.posted() if p.text == "Hi, we are on it!"]
    finally:
        world.stop()


def test_instagram_keeps_to_30_unique_hashtags_per_7_days() -> None:
    from datetime import timedelta

    from connectors.meta.graph import GraphClient
    from connectors.meta.hashtags import HASHTAG_LIMIT, WINDOW
    from sandbox.meta.harness import InstagramHarness

    harness = InstagramHarness()
    harness.start()
    try:
        harness.reset()
        connector, account = harness.connector(), harness.account()
        now = utcnow()
        used = {f"tag{i}": (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S+0000") for i in range(HASHTAG_LIMIT)}
        cursor = {"start": used["tag0"], "next": 0, "ids": {t: str(i) for i, t in enumerate(used)}, "first": used,
                  "since": {}}  # fmt: skip
        with pytest.raises(FatalError, match="30 unique hashtags") as refused:
            connector.listen(account, ["#newtag"], json.dumps(cursor))
        assert refused.value.code == "hashtag_limit" and "can be searched from" in str(refused.value)
        assert harness.state.hashtags.calls == 0  # refused before any request
        # A hashtag first searched 8 days ago no longer counts: the new one gets its id now.
        cursor["first"]["tag0"] = (now - WINDOW - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S+0000")
        page = connector.listen(account, ["#newtag"], json.dumps(cursor))
        assert "newtag" in json.loads(page.cursor or "{}")["ids"] and harness.state.hashtags.calls == 1
        # The fake holds Meta's limit too: a 31st unique hashtag within 7 days is refused; a repeat is not.
        client = GraphClient(account)
        for i in range(HASHTAG_LIMIT - 1):
            client.get("ig_hashtag_search", {"user_id": account.external_id, "q": f"more{i}"})
        with pytest.raises(FatalError, match="30 unique hashtags"):
            client.get("ig_hashtag_search", {"user_id": account.external_id, "q": "onetoomany"})
        assert client.get("ig_hashtag_search", {"user_id": account.external_id, "q": "newtag"})["data"]
    finally:
        harness.stop()


def test_the_settings_forms_say_what_each_network_can_search() -> None:
    from pydantic import ValidationError

    from connectors.meta.credentials import FacebookSettings, InstagramSettings

    with pytest.raises(ValidationError, match="removed post search"):
        FacebookSettings(listen_terms="acme")
    assert FacebookSettings(listen_terms="").listen_terms == ""
    with pytest.raises(ValidationError, match="hashtags only"):
        InstagramSettings(listen_terms="acme, #acmehelp")
    with pytest.raises(ValidationError, match="at most 30 unique hashtags"):
        InstagramSettings(listen_terms=", ".join(f"#tag{i}" for i in range(31)))
    assert InstagramSettings(listen_terms="#acme, #acmehelp").listen_terms


def test_a_refused_search_is_shown_to_the_admin_and_the_account_keeps_working() -> None:
    world = build_world(tempfile.mkdtemp(prefix="convo-listen-refused-"), 0, 41, every_network=True)
    try:
        network = next(n for n in world.networks if n.name == "vk")
        store = world.runtime.store
        found = store.account(network.account_id)
        assert found is not None
        credentials = {k: v for k, v in found[1].credentials.items() if k != "search_token"}
        store.upsert_account(found[0].tenant_id, "vk", found[0].external_id, credentials, handle=found[1].handle,
                             settings=found[0].settings, api_base=found[1].api_base)  # fmt: skip
        store.update_account_settings(network.account_id, {"listen_terms": "acme", "listen_calls_per_hour": 60})
        settle(world)  # records "now"
        _turns(world, network.account_id, 1)
        [health] = [h for h in store.health.accounts(found[0].tenant_id) if h.account_id == network.account_id]
        assert health.last_error and "search_token" in health.last_error
        assert not health.needs_attention and not health.stuck
    finally:
        world.stop()
