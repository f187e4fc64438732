"""The spine, end to end over real HTTP: X fake -> horseshoe -> Zendesk fake -> channelback -> X fake.

Zendesk's Users API is read back through real zenpy; the X fake is reached through the connector's own
HTTP client; the Zendesk side is played by the sandbox driver, which knows horseshoe only from its
manifest.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
import requests
from zenpy import Zenpy

from plugin.pipeline import inbound as pipeline
from plugin.zendesk.admin_accounts import account_form
from sandbox.demo.run import BRAND, SUBDOMAIN, World, build_world
from tests.sandbox_zendesk.conftest import Schemas
from tests.support.settle import settle


@pytest.fixture
def world(any_database_url: str) -> Iterator[World]:
    w = build_world(tempfile.mkdtemp(prefix="horseshoe-e2e-"), 0, 1, any_database_url)
    w.runtime.settings = replace(w.runtime.settings, manual_account_form=True)  # the operator's by-hand path
    w.x_app.state.add_user("carla", name="Carla Diaz")
    w.x_app.state.add_user("omar", name="Omar Haddad")
    yield w
    w.stop()


def tickets(world: World) -> list[dict[str, Any]]:
    return world.zd_state.tickets_with_comments(SUBDOMAIN)


def ticket_of(world: World, external_id: str) -> dict[str, Any]:
    for ticket in tickets(world):
        if any(c.get("external_id") == f"x:{external_id}" for c in ticket["comments"]):
            return ticket
    raise AssertionError(f"x:{external_id} is on no ticket")


def test_mentions_become_tickets_threads_stay_together(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    x = world.x_app.state
    root = x.inject_mention("carla", "my parcel is lost", to_user=BRAND, lang="en")
    follow = x.inject_mention("carla", "tracking says delivered", in_reply_to=root["id"], to_user=BRAND)
    other = x.inject_mention("omar", "¿abren el domingo?", to_user=BRAND, lang="es")
    dm = x.inject_dm("omar", BRAND, "order 1234, can you check?")
    settle(world)
    assert ticket_of(world, root["id"])["id"] == ticket_of(world, follow["id"])["id"]
    assert ticket_of(world, other["id"])["id"] != ticket_of(world, root["id"])["id"]
    dm_ticket = ticket_of(world, dm["id"])
    assert dm_ticket["id"] not in {ticket_of(world, other["id"])["id"], ticket_of(world, root["id"])["id"]}

    # The requester Zendesk created is the customer, with the stable X id as their identity.
    monkeypatch.setenv("ZENPY_FORCE_SCHEME", "http")
    monkeypatch.setenv("ZENPY_FORCE_NETLOC", f"127.0.0.1:{world.zd_server.port}")
    admin = world.zd_state.add_user(SUBDOMAIN, "Api Admin", email="api@acme.example", role="admin")
    token = world.zd_state.issue_api_token(SUBDOMAIN, admin.id)
    zenpy = Zenpy(subdomain=SUBDOMAIN, email="api@acme.example", token=token)
    requester = zenpy.users(id=ticket_of(world, root["id"])["requester_id"])
    assert requester.name == "Carla Diaz"
    identities = list(zenpy.users.identities(id=requester.id))
    carla_id = x.user_by_username("carla").id
    assert any(f"x:{carla_id}" == i.value for i in identities), [i.value for i in identities]


def test_same_poll_page_twice_gives_one_comment(world: World) -> None:
    x = world.x_app.state
    post = x.inject_mention("carla", "hello?", to_user=BRAND)
    account, context = world.runtime.store.accounts()[0], None
    found = world.runtime.store.account(account.id)
    assert found is not None
    account, context = found
    connector = world.runtime.registry.connector("x")
    page = connector.poll(context, None)
    assert [m.external_id for m in page.mentions] == [post["id"]]
    first = pipeline.ingest(world.runtime, account, page.mentions)
    second = pipeline.ingest(world.runtime, account, page.mentions)
    assert (len(first.new), second.duplicates) == (1, 1)
    settle(world)
    world.driver.pull()  # the fallback path sees it too: still one comment
    comments = [c for t in tickets(world) for c in t["comments"] if c.get("external_id") == f"x:{post['id']}"]
    assert len(comments) == 1


def test_same_channelback_twice_posts_once(world: World) -> None:
    x = world.x_app.state
    post = x.inject_mention("omar", "where is my refund?", to_user=BRAND)
    settle(world)
    ticket = ticket_of(world, post["id"])
    first = world.driver.agent_reply(ticket["id"], "Omar, refund is on its way.", request_unique_identifier="rui-1")
    again = world.driver.agent_reply(ticket["id"], "Omar, refund is on its way.", request_unique_identifier="rui-1")
    posted = [p for p in x.posted_by(BRAND) if p["kind"] == "post"]
    assert len(posted) == 1 and posted[0]["in_reply_to_tweet_id"] == post["id"]
    assert first.channelback and again.channelback
    assert first.channelback["status"] == again.channelback["status"] == "sent"
    assert world.runtime.store.counts()["replies_sent"] == 1
    # The customer answers our reply: it joins the same ticket.
    follow = x.inject_mention("omar", "thanks!", in_reply_to=posted[0]["id"], to_user=BRAND)
    settle(world)
    assert ticket_of(world, follow["id"])["id"] == ticket["id"]


def test_dm_ticket_is_answered_privately(world: World) -> None:
    x = world.x_app.state
    dm = x.inject_dm("carla", BRAND, "my email is carla@example.com, order 99")
    settle(world)
    ticket = ticket_of(world, dm["id"])
    world.driver.agent_reply(ticket["id"], "Thanks Carla, we found order 99.")
    # The second reply answers our first one (the latest resource on the ticket): still private.
    world.driver.agent_reply(ticket["id"], "It ships today; tracking follows by email.")
    kinds = [p["kind"] for p in x.posted_by(BRAND)]
    assert kinds == ["dm", "dm"]


def test_public_reply_with_personal_data_is_refused(world: World) -> None:
    x = world.x_app.state
    post = x.inject_mention("carla", "I can't log in", to_user=BRAND)
    settle(world)
    outcome = world.driver.agent_reply(ticket_of(world, post["id"])["id"], "Send your card 4111 1111 1111 1111 here")
    assert outcome.channelback and outcome.channelback["status"] == "failed"
    assert outcome.channelback["http_status"] == 422 and "card_number" in outcome.channelback["body"]
    assert x.posted_by(BRAND) == []


def test_zendesk_outage_loses_nothing(world: World) -> None:
    x = world.x_app.state
    world.zd_app.plan.configure(scripted=[503] * 6)
    ids = [x.inject_mention("carla", f"question {n}", to_user=BRAND)["id"] for n in range(5)]
    settle(world, rounds=80)
    # The pushes wait out their back-off (up to the demo's 2 s cap per failure, plus Zendesk's pause):
    # give the retries real time to come due, however slow the machine, instead of a fixed count of
    # settles that a loaded machine runs through before the last back-off ends.
    for _ in range(150):
        if all(_on_some_ticket(world, i) for i in ids):
            break
        time.sleep(0.2)
        settle(world)
    assert all(_on_some_ticket(world, i) for i in ids)
    assert world.runtime.store.counts()["deliveries_failed"] == 0


def _on_some_ticket(world: World, external_id: str) -> bool:
    return any(c.get("external_id") == f"x:{external_id}" for t in tickets(world) for c in t["comments"])


def test_manifest_and_pull_answer_match_zendesk_schemas(world: World) -> None:
    schemas = Schemas()
    manifest = requests.get(f"{world.web.url}/zendesk/manifest.json", timeout=10).json()
    schemas.check("manifest.json", manifest)
    assert all(url.startswith(world.web.url) for url in manifest["urls"].values())
    x = world.x_app.state
    root = x.inject_mention("carla", "pull me", to_user=BRAND)
    x.inject_mention("omar", "and me (ünïcödé, 日本語)", in_reply_to=root["id"], to_user=BRAND)
    world.zd_app.plan.configure(paths=("/api/v2/any_channel/push",), rate_5xx=1.0)  # push is down
    settle(world)
    instance = world.driver.instance
    assert instance is not None
    answer = requests.post(
        f"{world.web.url}/zendesk/pull", data={"metadata": instance.metadata, "state": ""}, timeout=10
    ).json()
    schemas.check("pull_payload.json", answer)
    assert len(answer["external_resources"]) == 2
    for resource in answer["external_resources"]:
        schemas.check("external_resource.json", resource)
    world.driver.pull()
    assert ticket_of(world, root["id"]) is not None
    # The next pull continues after the cursor in the signed state: nothing is sent twice.
    again = requests.post(
        f"{world.web.url}/zendesk/pull", data={"metadata": instance.metadata, "state": answer["state"]}, timeout=10
    ).json()
    assert again["external_resources"] == []
    assert json.dumps(answer)  # serialisable as Zendesk stores it


def test_clickthrough_and_healthcheck(world: World) -> None:
    post = world.x_app.state.inject_mention("carla", "look at this", to_user=BRAND)
    settle(world)
    response = world.driver.clickthrough(f"x:{post['id']}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"https://x.com/carla/status/{post['id']}"
    assert world.driver.clickthrough("x:999").status_code == 404
    assert world.driver.healthcheck().status_code == 200
    forged = requests.get(
        f"{world.web.url}/zendesk/clickthrough", params={"external_id": f"x:{post['id']}", "metadata": "a.b"}, timeout=5
    )
    assert forged.status_code in (401, 403)


def test_uninstall_event_is_confirmed_with_zendesk_before_acting(world: World) -> None:
    tenant_id = world.runtime.store.tenant_id(SUBDOMAIN)
    assert tenant_id is not None
    event = {"type_id": "destroy_integration_instance", "subdomain": SUBDOMAIN, "timestamp": "2026-11-25T12:00:00Z"}
    # A forged uninstall: Zendesk still accepts the push token, so nothing is disabled.
    assert requests.post(f"{world.web.url}/zendesk/events", json={"events": [event]}, timeout=5).status_code == 200
    assert world.runtime.store.sink_connection(tenant_id, "zendesk") is not None
    # The real one: Zendesk no longer knows the instance.
    instance = world.driver.instance
    assert instance is not None
    world.zd_state.deactivate_instance(instance.instance_push_id)
    assert requests.post(f"{world.web.url}/zendesk/events", json={"events": [event]}, timeout=5).status_code == 200
    assert world.runtime.store.sink_connection(tenant_id, "zendesk") is None


def test_an_unconfirmed_admin_flow_reaches_no_tenant_data(world: World) -> None:
    """The admin UI POST is unsigned: anyone can send one for any subdomain. Without Zendesk vouching
    (our trusted metadata, a confirmed push token) or an install code it sees and changes nothing."""
    web = world.web.url
    x_account = next(a for a in world.runtime.store.accounts() if a.network == "x")
    world.x_app.state.inject_mention("carla", "private matter", to_user=BRAND)
    settle(world)
    return_url = f"{world.zd_server.url}/zendesk/channels/integration_service_instances/editor_finalizer"
    forged = {"subdomain": SUBDOMAIN, "return_url": return_url, "instance_push_id": "evil", "zendesk_access_token": "x"}
    page = requests.post(f"{web}/zendesk/admin", data=forged, timeout=10)
    assert page.status_code == 200
    assert BRAND not in page.text and 'name="api_token"' not in page.text
    flow = page.text.split('name="flow" value="', 1)[1].split('"', 1)[0]
    stolen = requests.post(f"{web}/zendesk/admin/save", data={"flow": flow, "account": str(x_account.id)}, timeout=10)
    assert stolen.status_code == 403
    own = requests.post(
        f"{web}/zendesk/admin/save",
        data={
            "flow": flow,
            "new_network": "x",
            "new_external_id": "666",
            **account_form(world.runtime.registry.connector("x"), {}, {}),
        },
        timeout=10,
    )
    assert own.status_code == 403  # not even a new account of its own: it is trusted for nothing
    assert not any(a.external_id == "666" for a in world.runtime.store.accounts())


def test_an_id_over_zendesks_limit_fails_with_the_reason_and_blocks_nothing(world: World) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import select

    from plugin.models import Author, Mention
    from plugin.store import tables as t

    found = world.runtime.store.account(world.runtime.store.accounts()[0].id)
    assert found is not None
    account, _context = found
    long_id = "9" * 300  # the model allows 512; Zendesk's external_id allows 255 — never cut it
    mentions = [
        Mention(network="x", external_id=eid, author=Author(external_id="77", handle="long"), text="hi",
                created_at=datetime(2026, 11, 25, tzinfo=UTC), account=account.external_id)
        for eid in (long_id, "12345")
    ]  # fmt: skip
    pipeline.ingest(world.runtime, account, mentions)
    settle(world)
    with world.runtime.db.begin() as conn:
        rows = {
            r.external_id: (r.status, r.last_error)
            for r in conn.execute(
                select(t.mentions.c.external_id, t.deliveries.c.status, t.deliveries.c.last_error)
                .join(t.deliveries, t.deliveries.c.mention_id == t.mentions.c.id)
                .where(t.deliveries.c.sink == "zendesk")
            )
        }
    assert rows["12345"] == ("delivered", None)
    assert rows[long_id][0] == "failed" and "Zendesk allows 255" in rows[long_id][1]
