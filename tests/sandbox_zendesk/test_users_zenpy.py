"""The Users/Identities/Search/Tickets subset, driven through the real zenpy client."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
import requests
from zenpy import Zenpy
from zenpy.lib.api_objects import Identity, User
from zenpy.lib.exception import APIException, RecordNotFoundException

from sandbox.faults import FaultPlan
from sandbox.zendesk.models import IntegrationInstance
from tests.support.fakes import fake_service

from .conftest import ADMIN_EMAIL, SUBDOMAIN, Env, resource, seed


def test_create_show_and_duplicate_email(zenpy_client: Zenpy) -> None:
    created = zenpy_client.users.create(User(name="Ann Customer", email="ann@example.com", phone="+1 555 0100"))
    assert created.id and created.role == "end-user"
    shown = zenpy_client.users(id=created.id)
    assert (shown.name, shown.email, shown.phone) == ("Ann Customer", "ann@example.com", "+1 555 0100")
    with pytest.raises(APIException) as info:
        zenpy_client.users.create(User(name="Impostor", email="ANN@example.com"))
    body = info.value.response.json()
    assert info.value.response.status_code == 422
    assert body["error"] == "RecordInvalid"
    assert body["details"]["email"][0]["error"] == "DuplicateValue"
    with pytest.raises(RecordNotFoundException):
        zenpy_client.users(id=999999)


def test_update_user(zenpy_client: Zenpy) -> None:
    user = zenpy_client.users.create(User(name="Bob"))
    user.name = "Robert"
    user.notes = "prefers DMs"
    updated = zenpy_client.users.update(user)
    assert (updated.name, updated.notes) == ("Robert", "prefers DMs")


def test_search_by_email_phone_name_external_id(zenpy_client: Zenpy) -> None:
    ann = zenpy_client.users.create(
        User(name="Ann Customer", email="ann@example.com", phone="+1 555 0100", external_id="crm-7")
    )
    zenpy_client.users.create(User(name="Carl Other", email="carl@example.com"))
    assert [u.id for u in zenpy_client.search(type="user", email="ann@example.com")] == [ann.id]
    assert [u.id for u in zenpy_client.search("phone:+15550100", type="user")] == [ann.id]
    assert [u.id for u in zenpy_client.search(type="user", name="Ann*")] == [ann.id]
    assert [u.id for u in zenpy_client.search(type="user", external_id="crm-7")] == [ann.id]
    assert [u.id for u in zenpy_client.users.search(query="email:ann@example.com")] == [ann.id]
    assert [u.id for u in zenpy_client.users.search(external_id="crm-7")] == [ann.id]
    assert list(zenpy_client.search(type="user", email="nobody@example.com")) == []


def test_identities_create_list_and_show_many_sideload(zd: Env, zenpy_client: Zenpy) -> None:
    ann = zenpy_client.users.create(User(name="Ann", email="ann@example.com"))
    bob = zenpy_client.users.create(User(name="Bob"))
    made = zenpy_client.users.identities.create(ann, Identity(type="twitter", value="ann_tweets"))
    assert (made.type, made.value, made.user_id) == ("twitter", "ann_tweets", ann.id)
    kinds = sorted((i.type, i.value) for i in zenpy_client.users.identities(id=ann.id))
    assert kinds == [("email", "ann@example.com"), ("twitter", "ann_tweets")]
    with pytest.raises(APIException) as info:
        zenpy_client.users.identities.create(bob, Identity(type="email", value="ann@example.com"))
    assert info.value.response.json()["details"]["value"][0]["error"] == "DuplicateValue"
    many = list(zenpy_client.users(ids=[ann.id, bob.id], include=["identities"]))
    assert sorted(u.id for u in many) == sorted([ann.id, bob.id])
    # The sideload is in the raw body as documented ("identities" beside "users").
    raw = requests.get(
        f"{zd.url}/api/v2/users/show_many.json",
        params={"ids": f"{ann.id},{bob.id}", "include": "identities"},
        headers={"Authorization": f"Bearer {zd.oauth_token}"},
        timeout=5,
    )
    assert {i["user_id"] for i in raw.json()["identities"]} == {ann.id}


def test_merge_moves_identities_and_tickets(zd: Env, zenpy_client: Zenpy, instance: IntegrationInstance) -> None:
    zd.state.import_resources(instance.instance_push_id, [resource("m-1", author="tw-1")])
    [ticket] = zd.state.tickets_with_comments(SUBDOMAIN)
    social = ticket["requester_id"]
    crm = zenpy_client.users.create(User(name="Ann Known", email="ann@example.com"))
    merged = zenpy_client.users.merge(social, crm)
    assert merged.id == crm.id
    identities = {(i.type, i.value) for i in zenpy_client.users.identities(id=crm.id)}
    assert identities == {("email", "ann@example.com"), ("any_channel", "tw-1")}
    assert zenpy_client.tickets(id=ticket["id"]).requester_id == crm.id
    assert zenpy_client.users(id=social).active is False
    # New resources from the same author now land on the merged user.
    zd.state.import_resources(instance.instance_push_id, [resource("m-2", author="tw-1")])
    assert zd.state.tickets_with_comments(SUBDOMAIN)[1]["requester_id"] == crm.id


def test_merge_rules(zd: Env, zenpy_client: Zenpy) -> None:
    end_user = zenpy_client.users.create(User(name="Eve"))
    agent = zenpy_client.users.create(User(name="Agent", email="agent@acme.example", role="agent"))
    for source, target in ((end_user.id, agent.id), (agent.id, end_user.id), (end_user.id, end_user.id)):
        with pytest.raises(APIException) as info:
            zenpy_client.users.merge(source, target)
        assert info.value.response.status_code == 422
    with pytest.raises(RecordNotFoundException):
        zenpy_client.users.merge(end_user.id, 424242)


def test_cursor_and_offset_pagination(zd: Env, zenpy_client: Zenpy) -> None:
    for i in range(130):
        zd.state.add_user(SUBDOMAIN, f"User {i:03d}", email=f"user{i}@example.com")
    # zenpy asks for cursor pagination on /users.json (page[size]=100) and follows links.next.
    assert len(list(zenpy_client.users())) == 131
    # Search uses offset pagination: next_page, count.
    found = list(zenpy_client.search(type="user", name="User*"))
    assert len(found) == 130
    first = requests.get(
        f"{zd.url}/api/v2/search.json",
        params={"query": "type:user name:User*"},
        headers={"Authorization": f"Bearer {zd.oauth_token}"},
        timeout=5,
    ).json()
    assert first["count"] == 130 and len(first["results"]) == 100 and first["next_page"]
    assert first["results"][0]["result_type"] == "user"


def test_tickets_and_comments(zd: Env, zenpy_client: Zenpy, instance: IntegrationInstance) -> None:
    zd.state.import_resources(
        instance.instance_push_id,
        [resource("t-1", "Where is my parcel?"), resource("t-2", "Any news?", parent_id="t-1")],
    )
    [ticket] = list(zenpy_client.tickets())
    assert ticket.subject == "Where is my parcel?"
    assert ticket.via.channel == "any_channel"
    assert [c.body for c in zenpy_client.tickets.comments(ticket=ticket.id)] == ["Where is my parcel?", "Any news?"]


def test_authentication(zd: Env) -> None:
    url = f"{zd.url}/api/v2/users/me.json"
    good = base64.b64encode(f"{ADMIN_EMAIL}/token:{zd.api_token}".encode()).decode()
    assert requests.get(url, headers={"Authorization": f"Basic {good}"}, timeout=5).json()["user"]["role"] == "admin"
    bad = base64.b64encode(f"{ADMIN_EMAIL}/token:nope".encode()).decode()
    response = requests.get(url, headers={"Authorization": f"Basic {bad}"}, timeout=5)
    assert (response.status_code, response.json()) == (401, {"error": "Couldn't authenticate you"})
    assert requests.get(url, headers={"Authorization": f"Bearer {zd.oauth_token}"}, timeout=5).status_code == 200


def test_zenpy_honours_retry_after_on_injected_429(zd: Env, zenpy_client: Zenpy) -> None:
    user = zenpy_client.users.create(User(name="Retry"))
    zd.plan.configure(scripted=[429], retry_after=1)
    assert zenpy_client.users(id=user.id).name == "Retry"  # zenpy waited Retry-After and retried


@pytest.fixture
def limited() -> Iterator[Env]:
    with fake_service("zendesk", plan=FaultPlan(seed=7), requests_per_minute=3) as fake:
        yield seed(fake)


def test_per_minute_request_limit(limited: Env) -> None:
    headers = {"Authorization": f"Bearer {limited.oauth_token}"}
    statuses = [requests.get(f"{limited.url}/api/v2/users/me.json", headers=headers, timeout=5) for _ in range(4)]
    assert [r.status_code for r in statuses] == [200, 200, 200, 429]
    assert 1 <= int(statuses[-1].headers["Retry-After"]) <= 60
    assert statuses[-1].json()["error"] == "APIRateLimitExceeded"
