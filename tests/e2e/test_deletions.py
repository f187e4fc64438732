"""A customer deletes the post a ticket/case is about: a note on the same ticket and case, and the
agent's reply to it is held (not posted, not failed generically), from Zendesk and from Salesforce."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plugin.pipeline import inbound as pipeline
from plugin.store.statuses import ReplyStatus
from sandbox.demo.conversations import is_deletion_note
from sandbox.demo.run import BRAND, SUBDOMAIN, World, build_world
from tests.support.settle import settle

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture
def world() -> Iterator[World]:
    w = build_world(tempfile.mkdtemp(prefix="convo-deleted-"), 0, 5, salesforce=True)
    w.x_app.state.add_user("carla", name="Carla Diaz")
    yield w
    w.stop()


def _deleted(world: World, post_id: str) -> None:
    """The customer deletes the post; X's Account Activity ``tweet_delete_events`` goes through the parser."""
    body = world.x_app.state.delete_post(post_id)
    _deliver(world, body, post_id)


def _deliver(world: World, body: dict[str, Any], post_id: str) -> None:
    mentions = world.runtime.registry.connector("x").parse_payload(body, None)
    assert [(m.external_id, m.event) for m in mentions] == [(post_id, "deleted")]
    account = next(a for a in world.runtime.store.accounts() if a.network == "x")
    pipeline.ingest(world.runtime, account, mentions)


def _ticket(world: World, post_id: str) -> dict[str, Any]:
    for ticket in world.zd_state.tickets_with_comments(SUBDOMAIN):
        if any(c.get("external_id") == f"x:{post_id}" for c in ticket["comments"]):
            world.driver.flush_events()  # Zendesk's callback: which ticket the post landed in
            return ticket
    raise AssertionError("no ticket")


def test_a_deleted_post_gets_a_note_and_the_reply_is_held(world: World) -> None:
    x = world.x_app.state
    post = x.inject_mention("carla", "my order 55 never came", to_user=BRAND)
    settle(world)
    _ticket(world, post["id"])
    assert world.salesforce is not None
    [inbound] = [p for p in world.salesforce.records("SocialPost") if p.get("R6PostId") == f"x:{post['id']}"]
    event = x.delete_post(post["id"])
    _deliver(world, event, post["id"])
    _deliver(world, event, post["id"])  # X may deliver an event twice
    settle(world)

    # Zendesk: exactly one INTERNAL note on the same ticket (Tickets API, public: false), by horseshoe.
    ticket = _ticket(world, post["id"])
    notes = [c for c in ticket["comments"] if is_deletion_note(c)]
    assert len(notes) == 1 and "deleted" in notes[0]["body"] and notes[0]["public"] is False
    # Salesforce: one internal (unpublished) comment on the post's Case; the post shows Deleted.
    comments = [c for c in world.salesforce.records("CaseComment") if c["ParentId"] == inbound["ParentId"]]
    assert len(comments) == 1 and comments[0]["IsPublished"] is False and "deleted" in comments[0]["CommentBody"]
    post_now = next(p for p in world.salesforce.records("SocialPost") if p["Id"] == inbound["Id"])
    assert post_now["Status"] == "Deleted"

    # The Zendesk agent answers: held with the reason, nothing posted on X.
    outcome = world.driver.agent_reply(ticket["id"], "So sorry Carla, checking now.", request_unique_identifier="d1")
    assert outcome.channelback and outcome.channelback["status"] == "failed"
    assert outcome.channelback["http_status"] == 422 and "deleted" in outcome.channelback["body"]
    assert world.runtime.store.outbox.by_key("zendesk:acme:d1").status == ReplyStatus.HELD

    # The Salesforce agent answers the same post: held too, and told so on the SocialPost.
    sf = world.salesforce.client()
    reply_id = sf.SocialPost.create({
        "Name": "Reply", "Content": "We are on it.", "IsOutbound": True, "Status": "Pending",
        "ReplyToId": inbound["Id"], "ParentId": inbound["ParentId"], "Provider": inbound["Provider"],
        "MessageType": "Reply",
    })["id"]  # fmt: skip
    for _ in range(5):
        settle(world)
        record = next(p for p in world.salesforce.records("SocialPost") if p["Id"] == reply_id)
        if record["Status"] != "Pending":
            break
    assert record["Status"] == "Failed" and record["StatusMessage"].startswith("held:")
    assert x.posted_by(BRAND) == []
    assert world.runtime.store.counts()["replies_held"] == 2


def test_a_post_deleted_before_routing_makes_no_ticket_and_no_note(world: World) -> None:
    x = world.x_app.state
    post = x.inject_mention("carla", "never mind", to_user=BRAND)
    _deleted(world, post["id"])  # arrives before the poll sees the post
    settle(world)
    comments = [c for t in world.zd_state.tickets_with_comments(SUBDOMAIN) for c in t["comments"]]
    assert not any(str(c.get("external_id", "")).startswith(f"x:{post['id']}") for c in comments)
    assert world.salesforce is not None and world.salesforce.records("CaseComment") == []


def test_a_deletion_found_only_when_replying_is_noted_and_held(world: World) -> None:
    """No event came (webhooks not subscribed, or lost): X refuses the reply, and that is a deletion."""
    x = world.x_app.state
    post = x.inject_mention("carla", "parcel damaged", to_user=BRAND)
    settle(world)
    ticket = _ticket(world, post["id"])
    x.delete_post(post["id"])  # the event is never delivered
    outcome = world.driver.agent_reply(ticket["id"], "Sorry to hear that!", request_unique_identifier="d2")
    assert outcome.channelback and outcome.channelback["http_status"] == 422
    assert "held" in outcome.channelback["body"] and "deleted" in outcome.channelback["body"]
    assert world.runtime.store.outbox.by_key("zendesk:acme:d2").status == ReplyStatus.HELD
    settle(world)
    notes = [c for c in _ticket(world, post["id"])["comments"] if is_deletion_note(c)]
    assert len(notes) == 1 and notes[0]["public"] is False


def test_the_documented_payload_parses_as_a_deletion() -> None:
    from connectors.x import XConnector

    body = json.loads((FIXTURES / "x" / "aaa_tweet_delete_events.json").read_text())
    [deleted] = XConnector().parse_payload(body, None)
    assert (deleted.external_id, deleted.event, deleted.author.external_id) == (
        "1045405559317569537",
        "deleted",
        "930524282358325248",
    )
    assert deleted.created_at.year == 2015
