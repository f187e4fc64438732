"""horseshoe's notes (a customer deleted a post) are Zendesk INTERNAL notes: the Channel Framework push
can only add public comments, so with the tenant's REST credentials the note goes through the Tickets
API (``PUT /api/v2/tickets/{id}.json``, ``comment.public: false``, via zenpy's session) onto the
ticket Zendesk named in its callback. Without them the note is pushed as before and ``horseshoe doctor``
and the admin page say it is public."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from plugin.cli.doctor import run_doctor
from plugin.pipeline import inbound as pipeline
from plugin.zendesk.notes import PUBLIC_NOTES_WARNING, NoteWriter
from sandbox.demo.conversations import is_deletion_note
from sandbox.demo.run import BRAND, SUBDOMAIN, World, build_world
from tests.support.settle import settle


@pytest.fixture
def world() -> Iterator[World]:
    w = build_world(tempfile.mkdtemp(prefix="convo-notes-"), 0, 37)
    w.x_app.state.add_user("carla", name="Carla Diaz")
    yield w
    w.stop()


def _tenant(world: World) -> int:
    tenant_id = world.runtime.store.tenant_id(SUBDOMAIN)
    assert tenant_id is not None
    return tenant_id


def _ticket(world: World, post_id: str) -> dict[str, Any]:
    for ticket in world.zd_state.tickets_with_comments(SUBDOMAIN):
        if any(c.get("external_id") == f"x:{post_id}" for c in ticket["comments"]):
            return ticket
    raise AssertionError("no ticket")


def _delete(world: World, post_id: str) -> None:
    body = world.x_app.state.delete_post(post_id)
    account = next(a for a in world.runtime.store.accounts() if a.network == "x")
    pipeline.ingest(world.runtime, account, world.runtime.registry.connector("x").parse_payload(body, None))
    settle(world)


def test_the_note_is_internal_and_written_once(world: World) -> None:
    post = world.x_app.state.inject_mention("carla", "my parcel never came", to_user=BRAND)
    settle(world)
    world.driver.flush_events()  # Zendesk's callback names the ticket the post landed in
    _delete(world, post["id"])
    ticket = _ticket(world, post["id"])
    [note] = [c for c in ticket["comments"] if is_deletion_note(c)]
    assert note["public"] is False and not note.get("external_id") and note["body"].startswith("Note from horseshoe")
    # A retry after Zendesk took it (a worker died before recording it) finds it and adds nothing.
    config = world.runtime.store.sink_connection(_tenant(world), "zendesk")
    assert config is not None
    assert NoteWriter(config).add(int(ticket["id"]), note["body"]) is True
    assert [c["id"] for c in _ticket(world, post["id"])["comments"] if is_deletion_note(c)] == [note["id"]]


def test_a_note_waits_for_zendesk_to_name_the_ticket(world: World) -> None:
    post = world.x_app.state.inject_mention("carla", "wrong size delivered", to_user=BRAND)
    settle(world)
    _delete(world, post["id"])  # Zendesk has not said yet which ticket holds the post: nothing public meanwhile
    assert not [c for c in _ticket(world, post["id"])["comments"] if is_deletion_note(c)]
    world.driver.flush_events()  # the callback arrives
    world.runtime.store.deliveries.wake(_tenant(world), "zendesk")  # its short wait is over
    settle(world)
    [note] = [c for c in _ticket(world, post["id"])["comments"] if is_deletion_note(c)]
    assert note["public"] is False


def test_without_rest_credentials_the_note_is_pushed_and_doctor_says_it_is_public(world: World) -> None:
    tenant_id = _tenant(world)
    config = world.runtime.store.sink_connection(tenant_id, "zendesk")
    assert config is not None
    push_only = {k: v for k, v in config.items() if k not in ("api_email", "api_token", "oauth_token")}
    world.runtime.store.set_sink_connection(tenant_id, "zendesk", push_only)
    post = world.x_app.state.inject_mention("carla", "charged twice", to_user=BRAND)
    settle(world)
    _delete(world, post["id"])
    [note] = [c for c in _ticket(world, post["id"])["comments"] if is_deletion_note(c)]
    assert note["external_id"] == f"x:{post['id']}#deleted"  # the Channel Framework's (public) comment
    lines: list[str] = []
    run_doctor(world.runtime.settings, echo=lines.append)
    assert any(PUBLIC_NOTES_WARNING in line for line in lines), lines
    instance = world.driver._instance()
    page = requests.post(
        f"{world.web.url}/zendesk/admin",
        data={"subdomain": SUBDOMAIN, "return_url": f"{world.zd_server.url}/x", "metadata": instance.metadata,
              "instance_push_id": instance.instance_push_id, "zendesk_access_token": instance.zendesk_access_token},
        timeout=10,
    )  # fmt: skip
    assert page.status_code == 200 and 'id="public-notes"' in page.text


def test_a_closed_ticket_gets_the_note_through_a_follow_up(world: World) -> None:
    post = world.x_app.state.inject_mention("carla", "refund?", to_user=BRAND)
    settle(world)
    world.driver.flush_events()
    ticket = _ticket(world, post["id"])
    world.zd_state.set_ticket_status(SUBDOMAIN, int(ticket["id"]), "closed")
    _delete(world, post["id"])
    notes = [c for t in world.zd_state.tickets_with_comments(SUBDOMAIN) for c in t["comments"] if is_deletion_note(c)]
    assert len(notes) == 1 and notes[0]["external_id"] == f"x:{post['id']}#deleted"
