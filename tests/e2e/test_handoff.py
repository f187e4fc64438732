"""The public -> private handoff: one agent action (a ``#handoff`` reply, from the Zendesk macro or the
Salesforce quick action) gives exactly one public acknowledgement and one private message, both on the
same ticket/case, and the customer's private answer joins that conversation."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

from plugin.store.statuses import ReplyStatus
from sandbox.demo.run import BRAND, SUBDOMAIN, World, build_world
from tests.support.settle import settle

MACRO = "#handoff Thanks Carla, we've sent you a DM.\nHi Carla, could you send us your order number here?"


@pytest.fixture
def world() -> Iterator[World]:
    w = build_world(tempfile.mkdtemp(prefix="convo-handoff-"), 0, 11, salesforce=True)
    w.x_app.state.add_user("carla", name="Carla Diaz")
    yield w
    w.stop()


def _ticket_of(world: World, namespaced_id: str) -> dict[str, Any]:
    for ticket in world.zd_state.tickets_with_comments(SUBDOMAIN):
        if any(c.get("external_id") == namespaced_id for c in ticket["comments"]):
            return ticket
    raise AssertionError(f"{namespaced_id} is on no ticket")


def test_one_action_gives_one_ack_and_one_dm_and_the_answer_joins_the_ticket(world: World) -> None:
    x = world.x_app.state
    carla = x.user_by_username("carla").id
    post = x.inject_mention("carla", "I was charged twice for my order!", to_user=BRAND)
    settle(world)
    ticket = _ticket_of(world, f"x:{post['id']}")

    first = world.driver.agent_reply(ticket["id"], MACRO, request_unique_identifier="h1")
    again = world.driver.agent_reply(ticket["id"], MACRO, request_unique_identifier="h1")  # Zendesk retries
    assert first.channelback and first.channelback["status"] == "sent", first.channelback
    assert again.channelback and again.channelback["status"] == "sent"
    posted = x.posted_by(BRAND)
    public = [p for p in posted if p["kind"] == "post"]
    private = [p for p in posted if p["kind"] == "dm"]
    assert len(public) == 1 and len(private) == 1, posted
    assert public[0]["in_reply_to_tweet_id"] == post["id"]
    assert public[0]["sent_text"] == "Thanks Carla, we've sent you a DM."
    assert private[0]["text"] == "Hi Carla, could you send us your order number here?"
    # Both are on the ticket: the agent's comment holds both texts and names the private message.
    comment = next(c for c in _ticket_of(world, f"x:{post['id']}")["comments"] if c.get("channelback"))
    assert comment["external_id"] == f"x:{private[0]['dm_event_id']}" and "order number" in comment["body"]
    row = world.runtime.store.outbox.by_key("zendesk:acme:h1")
    assert row.status == ReplyStatus.SENT and list(row.parts) == [private[0]["dm_event_id"], public[0]["id"]]

    # The customer answers privately: the DM joins the same ticket, and the agent's answer stays private.
    dm = x.inject_dm("carla", BRAND, "it's order 4711")
    settle(world)
    assert _ticket_of(world, f"x:{dm['id']}")["id"] == ticket["id"]
    world.driver.agent_reply(ticket["id"], "Thanks, refund for 4711 is on its way.")
    assert [p["kind"] for p in x.posted_by(BRAND)] == ["dm", "post", "dm"]
    assert x.posted_by(BRAND)[-1]["text"] == "Thanks, refund for 4711 is on its way." and carla


def test_without_a_private_route_nothing_is_posted_and_the_agent_is_told(world: World, image_host: Any) -> None:
    x = world.x_app.state
    post = x.inject_mention("carla", "wrong item delivered", to_user=BRAND)
    settle(world)
    ticket = _ticket_of(world, f"x:{post['id']}")
    # X DMs carry no image through horseshoe: the private message cannot go, so neither does the ack.
    outcome = world.driver.agent_reply(ticket["id"], MACRO, file_urls=[image_host("photo.png")])
    assert outcome.channelback and outcome.channelback["http_status"] == 422
    assert "private message was not sent" in outcome.channelback["body"]
    assert x.posted_by(BRAND) == []


def test_a_handoff_without_the_private_text_is_refused_with_the_reason(world: World) -> None:
    x = world.x_app.state
    post = x.inject_mention("carla", "hello?", to_user=BRAND)
    settle(world)
    outcome = world.driver.agent_reply(_ticket_of(world, f"x:{post['id']}")["id"], "#handoff")
    assert outcome.channelback and outcome.channelback["http_status"] == 422
    assert "needs the private message" in outcome.channelback["body"] and x.posted_by(BRAND) == []


def test_the_salesforce_quick_action_hands_off_on_the_same_case(world: World) -> None:
    x = world.x_app.state
    post = x.inject_mention("carla", "my card was charged twice", to_user=BRAND)
    settle(world)
    assert world.salesforce is not None
    [inbound] = [p for p in world.salesforce.records("SocialPost") if p.get("R6PostId") == f"x:{post['id']}"]
    sf = world.salesforce.client()
    reply_id = sf.SocialPost.create({
        "Name": "Move to private", "Content": MACRO, "IsOutbound": True, "Status": "Pending",
        "ReplyToId": inbound["Id"], "ParentId": inbound["ParentId"], "Provider": inbound["Provider"],
        "MessageType": "Reply",
    })["id"]  # fmt: skip
    for _ in range(6):
        settle(world)  # wakes the Salesforce agent-reply poll too (Worker.wake_polls)
        record = next(p for p in world.salesforce.records("SocialPost") if p["Id"] == reply_id)
        if record["Status"] != "Pending":
            break
    assert record["Status"] == "Sent", record
    kinds = sorted(p["kind"] for p in x.posted_by(BRAND))
    assert kinds == ["dm", "post"]
    dm = x.inject_dm("carla", BRAND, "card ends 0005, order 88")
    settle(world)
    [answer] = [p for p in world.salesforce.records("SocialPost") if p.get("R6PostId") == f"x:{dm['id']}"]
    assert answer["ParentId"] == inbound["ParentId"]  # the private answer is on the same case
