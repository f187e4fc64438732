"""Deletions on Mastodon and Bluesky (and X through the same harness call): the network's own deletion
event, or its "gone" answer when the agent replies, gives one note on the ticket and a held reply."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

from plugin.pipeline import inbound as pipeline
from plugin.store.statuses import ReplyStatus
from sandbox.demo.networks import DemoNetwork
from sandbox.demo.run import SUBDOMAIN, World, build_world
from tests.e2e.test_x_to_zendesk import settle

NETWORKS = ["mastodon", "bluesky"]


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
                return ticket
        settle(world)
    raise AssertionError(f"{namespaced_id} is on no ticket")


def _notes(world: World, name: str, external_id: str) -> list[dict[str, Any]]:
    ticket = _ticket(world, f"{name}:{external_id}")
    return [c for c in ticket["comments"] if c.get("external_id") == f"{name}:{external_id}#deleted"]


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
    assert "deleted" in note["body"]
    before = len(network.harness.posted())
    outcome = world.driver.agent_reply(ticket["id"], "Sorry, checking!", request_unique_identifier=f"ev-{name}")
    assert outcome.channelback and outcome.channelback["http_status"] == 422 and "held" in outcome.channelback["body"]
    assert world.runtime.store.outbox.by_key(f"zendesk:acme:ev-{name}").status == ReplyStatus.HELD
    assert network.harness.posted()[before:] == []


@pytest.mark.parametrize("name", NETWORKS)
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
