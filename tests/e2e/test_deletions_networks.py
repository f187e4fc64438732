"""Deletions on Mastodon, Bluesky, Facebook, VK, Instagram and Telegram (and X through the same harness
call): the network's own deletion event (where it sends one), or its "gone" answer when the agent replies,
gives one note on the ticket and a held reply."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

from plugin.pipeline import inbound as pipeline
from plugin.store.statuses import ReplyStatus
from sandbox.demo.conversations import is_deletion_note
from sandbox.demo.networks import DemoNetwork
from sandbox.demo.run import SUBDOMAIN, World, build_world
from tests.support.settle import settle

# Networks that tell us about a deletion (Mastodon/Bluesky streams, Facebook's feed ``remove``, VK's
# ``wall_reply_delete``), and all that answer a reply to a deleted original with a documented "gone".
NETWORKS = ["mastodon", "bluesky", "facebook", "vk"]
GONE_ON_REPLY = [*NETWORKS, "instagram", "telegram"]


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    w = build_world(tempfile.mkdtemp(prefix="convo-deleted-nets-"), 0, 9, every_network=True)
    yield w
    w.stop()


def _network(world: World, name: str) -> DemoNetwork:
    return next(n for n in world.networks if n.name == name)


def _ticket(world: World, namespaced_id: str) -> dict[str, Any]:
    for _ in range(20):
        for ticket in world.zd_state.tickets_with_comments(SUBDOMAIN):
            if any(c.get("external_id") == namespaced_id for c in ticket["comments"]):
                world.driver.flush_events()  # Zendesk's callback: which ticket the post landed in
                return ticket
        settle(world)
    raise AssertionError(f"{namespaced_id} is on no ticket")


def _notes(world: World, name: str, external_id: str) -> list[dict[str, Any]]:
    """horseshoe's notes on the post's ticket: internal notes (the demo tenant has REST credentials)."""
    ticket = _ticket(world, f"{name}:{external_id}")
    return [c for c in ticket["comments"] if is_deletion_note(c)]


@pytest.mark.parametrize("name", NETWORKS)
def test_the_networks_deletion_event_notes_the_ticket_and_holds_the_reply(world: World, name: str) -> None:
    network = _network(world, name)
    external_id = network.harness.inject_public(f"my order is late ({name})")
    settle(world)
    ticket = _ticket(world, f"{name}:{external_id}")
    event = network.harness.delete_public(external_id)
    found = world.runtime.store.account(network.account_id)
    assert found is not None
    account, context = found
    mentions = world.runtime.registry.connector(name).parse_payload(event, context.external_id)
    assert [(m.external_id, m.event) for m in mentions] == [(external_id, "deleted")]
    pipeline.ingest(world.runtime, account, mentions)
    settle(world)
    [note] = _notes(world, name, external_id)
    assert "deleted" in note["body"] and note["public"] is False and not note.get("external_id")
    before = len(network.harness.posted())
    outcome = world.driver.agent_reply(ticket["id"], "Sorry, checking!", request_unique_identifier=f"ev-{name}")
    assert outcome.channelback and outcome.channelback["http_status"] == 422 and "held" in outcome.channelback["body"]
    assert world.runtime.store.outbox.by_key(f"zendesk:acme:ev-{name}").status == ReplyStatus.HELD
    assert network.harness.posted()[before:] == []


@pytest.mark.parametrize("name", GONE_ON_REPLY)
def test_a_deletion_found_when_replying_is_noted_and_held(world: World, name: str) -> None:
    network = _network(world, name)
    external_id = network.harness.inject_public(f"where is my refund ({name})")
    settle(world)
    ticket = _ticket(world, f"{name}:{external_id}")
    network.harness.delete_public(external_id)  # the event never reaches horseshoe
    outcome = world.driver.agent_reply(ticket["id"], "Refund sent!", request_unique_identifier=f"rt-{name}")
    assert outcome.channelback and outcome.channelback["http_status"] == 422, outcome.channelback
    assert "held" in outcome.channelback["body"]
    assert world.runtime.store.outbox.by_key(f"zendesk:acme:rt-{name}").status == ReplyStatus.HELD
    settle(world)
    assert len(_notes(world, name, external_id)) == 1


def test_a_messenger_customer_who_is_gone_is_noted_and_the_reply_held(world: World) -> None:
    """Send API (#551) "This person isn't available right now": the customer deleted or deactivated
    the account. Not a generic failure: the reply is held and the ticket says why."""
    network = _network(world, "messenger")
    mid = network.harness.inject_private("please call me back about my invoice")
    assert mid is not None
    settle(world)
    ticket = _ticket(world, f"messenger:{mid}")
    network.harness.state.deactivate(network.harness.customer_id)
    before = len(network.harness.posted())
    outcome = world.driver.agent_reply(ticket["id"], "Sure, when suits you?", request_unique_identifier="gone-msgr")
    assert outcome.channelback and outcome.channelback["http_status"] == 422, outcome.channelback
    assert "can no longer be messaged" in outcome.channelback["body"]
    assert world.runtime.store.outbox.by_key("zendesk:acme:gone-msgr").status == ReplyStatus.HELD
    assert network.harness.posted()[before:] == []
    settle(world)
    [note] = [c for c in _ticket(world, f"messenger:{mid}")["comments"] if c.get("public") is False]
    assert "can no longer be messaged" in note["body"] and "deleted this" not in note["body"]


def test_telegram_private_chat_holds_a_reply_to_a_deleted_message_until_the_agent_sends_it_unquoted(
    world: World,
) -> None:
    """The Bot API tells bots nothing about deletions. A private reply quotes the customer's message, so
    Telegram's "message to be replied not found" tells us: one note on the ticket, the reply held and
    nothing sent. The agent decides: "#unquoted" sends the answer to the same chat, without the quote."""
    network = _network(world, "telegram")
    external_id = network.harness.inject_private("is my order shipped?")
    assert external_id is not None
    settle(world)
    ticket = _ticket(world, f"telegram:{external_id}")
    outcome = world.driver.agent_reply(ticket["id"], "Checking now.", request_unique_identifier="tg-dm-live")
    assert outcome.channelback and outcome.channelback["status"] == "sent", outcome.channelback
    [checking] = [p for p in network.harness.posted() if p.text == "Checking now."]
    assert checking.in_reply_to == external_id and checking.private  # quoted while the message is there

    external_id = network.harness.inject_private("the tracking link says nothing")
    assert external_id is not None
    settle(world)
    assert _ticket(world, f"telegram:{external_id}")["id"] == ticket["id"]  # the chat is one conversation
    network.harness.delete_public(external_id)
    before = len(network.harness.posted())
    outcome = world.driver.agent_reply(ticket["id"], "Yes, it left today.", request_unique_identifier="tg-dm-del")
    assert outcome.channelback and outcome.channelback["http_status"] == 422, outcome.channelback
    assert "held" in outcome.channelback["body"] and "#unquoted" in outcome.channelback["body"]
    assert world.runtime.store.outbox.by_key("zendesk:acme:tg-dm-del").status == ReplyStatus.HELD
    assert network.harness.posted()[before:] == []
    settle(world)
    [note] = _notes(world, "telegram", external_id)
    assert note["public"] is False and "#unquoted" in note["body"]

    outcome = world.driver.agent_reply(
        ticket["id"], "#unquoted Yes, it left today.", request_unique_identifier="tg-dm-unquoted"
    )
    assert outcome.channelback and outcome.channelback["status"] == "sent", outcome.channelback
    [sent] = network.harness.posted()[before:]
    assert (sent.text, sent.in_reply_to, sent.private) == ("Yes, it left today.", None, True)
    settle(world)
    assert len(_notes(world, "telegram", external_id)) == 1  # sending it unquoted notes nothing more
