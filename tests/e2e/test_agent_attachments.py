"""An agent's attachment, end to end: Zendesk channelback ``file_urls[]`` -> the reply's attachments ->
the image on every network that takes media; where a network path has none, the agent is told why."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.demo.networks import DemoNetwork
from sandbox.demo.run import BRAND, SUBDOMAIN, World, build_world
from tests.support.media import ImageHost
from tests.support.settle import settle

# Instagram comments carry text only (Graph API, "Comments"): the agent must be told, nothing posted.
REFUSED = {"instagram": "text only"}


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    w = build_world(tempfile.mkdtemp(prefix="convo-attach-"), 0, 3, every_network=True)
    w.x_app.state.add_user("carla", name="Carla Diaz")
    yield w
    w.stop()


def _ticket(world: World, namespaced_id: str) -> dict[str, Any]:
    for _ in range(20):
        for ticket in world.zd_state.tickets_with_comments(SUBDOMAIN):
            if any(c.get("external_id") == namespaced_id for c in ticket["comments"]):
                return ticket
        settle(world)
    raise AssertionError(f"{namespaced_id} is on no ticket")


def _network(world: World, name: str) -> DemoNetwork:
    return next(n for n in world.networks if n.name == name)


def test_x_reply_carries_the_agents_image(world: World, image_host: ImageHost) -> None:
    x = world.x_app.state
    post = x.inject_mention("carla", "the box arrived crushed", to_user=BRAND)
    settle(world)
    ticket = _ticket(world, f"x:{post['id']}")
    outcome = world.driver.agent_reply(ticket["id"], "Here is the return label.", file_urls=[image_host("photo.png")])
    assert outcome.channelback and outcome.channelback["status"] == "sent", outcome.channelback
    [posted] = [p for p in x.posted_by(BRAND) if p["kind"] == "post"]
    assert len(posted["media_ids"]) == 1 and posted["in_reply_to_tweet_id"] == post["id"]


@pytest.mark.parametrize("name", ["facebook", "messenger", "instagram", "mastodon", "bluesky", "telegram", "vk"])
def test_every_network_gets_the_image_or_the_agent_is_told(world: World, image_host: ImageHost, name: str) -> None:
    network = _network(world, name)
    external_id, _private = network.inject(0)
    settle(world)
    ticket = _ticket(world, f"{name}:{external_id}")
    before = len(network.harness.posted())
    outcome = world.driver.agent_reply(ticket["id"], f"Label for you on {name}.", file_urls=[image_host("photo.png")])
    assert outcome.channelback is not None
    after = network.harness.posted()[before:]
    if name in REFUSED:
        assert outcome.channelback["status"] == "failed" and outcome.channelback["http_status"] == 422
        assert REFUSED[name] in outcome.channelback["body"]
        assert after == []
        return
    assert outcome.channelback["status"] == "sent", outcome.channelback
    assert sum(p.media for p in after) == 1, after
    assert any(f"Label for you on {name}." in p.text for p in after)


def test_a_private_address_in_file_urls_is_refused_before_any_fetch(world: World) -> None:
    x = world.x_app.state
    post = x.inject_mention("carla", "where is my parcel", to_user=BRAND)
    settle(world)
    ticket = _ticket(world, f"x:{post['id']}")
    # 10.0.0.1 is not among the operator's allowed private hosts: the egress rule refuses it (SSRF).
    outcome = world.driver.agent_reply(ticket["id"], "see attached", file_urls=["https://10.0.0.1/a.png"])
    assert outcome.channelback and outcome.channelback["status"] == "failed"
    assert outcome.channelback["http_status"] == 400 and "file_urls" in outcome.channelback["body"]
    assert [p for p in x.posted_by(BRAND) if "see attached" in p.get("sent_text", "")] == []


def test_a_numbered_thread_keeps_every_part_in_the_outbox(world: World, image_host: ImageHost) -> None:
    x = world.x_app.state
    post = x.inject_mention("carla", "what do I need for a return?", to_user=BRAND)
    settle(world)
    ticket = _ticket(world, f"x:{post['id']}")
    long_text = " ".join(f"Step {n}: pack the item and attach the label we sent you." for n in range(1, 12))
    outcome = world.driver.agent_reply(
        ticket["id"], long_text, request_unique_identifier="thread-1", file_urls=[image_host("photo.png")]
    )
    assert outcome.channelback and outcome.channelback["status"] == "sent", outcome.channelback
    row = world.runtime.store.outbox.by_key("zendesk:acme:thread-1")
    posted = [p["id"] for p in x.posted_by(BRAND) if p["kind"] == "post" and p["id"] in row.parts]
    assert len(row.parts) > 1 and posted == list(row.parts) and row.external_id == row.parts[0]
