"""The identity API and page over real HTTP: tenant-scoped by the signed instance metadata."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from plugin.identity.plugin import IdentityPlugin
from plugin.zendesk.tokens import InstanceMetadata, issue_metadata
from sandbox.demo.run import BRAND, SUBDOMAIN, World

from .zdsupport import identity_world, requester_of, settle


@pytest.fixture
def world() -> Iterator[tuple[World, IdentityPlugin]]:
    with identity_world() as value:
        yield value


def token(world: World, tenant: str) -> str:
    world.runtime.store.ensure_tenant(tenant)
    return issue_metadata(world.runtime.box, InstanceMetadata(tenant=tenant, account_ids=(), name="horseshoe"))


def api(world: World, method: str, path: str, bearer: str | None, **kwargs: object) -> requests.Response:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    return requests.request(method, f"{world.web.url}/identity/api{path}", headers=headers, timeout=10, **kwargs)  # type: ignore[arg-type]


def ambiguous(world: World) -> int:
    first = world.zd_state.add_user(SUBDOMAIN, "Omar H", phone="+34 600 111 222")
    world.zd_state.add_user(SUBDOMAIN, "O. Haddad", phone="+34600111222")
    world.x_app.state.add_user("omar", name="Omar Haddad")
    world.x_app.state.inject_dm("omar", BRAND, "call me on +34 600 111 222 please")
    settle(world)
    return first.id


def test_agents_accept_through_the_api_and_tenants_are_isolated(world: tuple[World, IdentityPlugin]) -> None:
    w, _ = world
    target = ambiguous(w)
    mine, theirs = token(w, SUBDOMAIN), token(w, "globex")
    assert api(w, "GET", "/suggestions", None).status_code == 401
    assert api(w, "GET", "/suggestions", mine[:-4] + "AAAA").status_code == 403
    assert api(w, "GET", "/suggestions", theirs).json() == {"suggestions": []}
    [suggestion] = api(w, "GET", "/suggestions", mine).json()["suggestions"]
    assert suggestion["network"] == "x" and any("phone_private" in e for e in suggestion["evidence"])
    url = f"/suggestions/{suggestion['id']}/accept"
    assert api(w, "POST", url, theirs, json={"by": "mallory", "record_id": str(target)}).status_code == 404
    assert api(w, "GET", "/audit", theirs).json() == {"audit": []}
    # "by" is the caller's to invent: ignored. Who acted is what Zendesk vouches for (the signed metadata).
    answer = api(w, "POST", url, mine, json={"by": "the CEO", "record_id": str(target)})
    assert answer.status_code == 200 and answer.json() == {"status": "linked", "record_id": str(target)}
    assert requester_of(w, "call me on") == target  # merged in Zendesk
    audit = api(w, "GET", "/audit", mine).json()["audit"]
    who = f"zendesk:{SUBDOMAIN}"
    assert {(a["action"], a["actor"]) for a in audit} >= {("accept", who), ("suggest", "horseshoe"),
                                                          ("link", who), ("merge", "horseshoe")}  # fmt: skip
    assert not any("CEO" in a["actor"] for a in audit)
    merge = next(a for a in audit if a["action"] == "merge")
    assert api(w, "POST", f"/audit/{merge['id']}/undo", mine, json={"by": "lee"}).status_code == 409


def test_page_lists_suggestions_and_audit_framed_by_zendesk(world: tuple[World, IdentityPlugin]) -> None:
    w, _ = world
    ambiguous(w)
    response = requests.post(f"{w.web.url}/identity/", data={"metadata": token(w, SUBDOMAIN)}, timeout=10)
    assert response.status_code == 200
    assert "frame-ancestors" in response.headers["Content-Security-Policy"]
    assert "Accept" in response.text and "Audit log" in response.text and "phone_private" in response.text
    assert requests.post(f"{w.web.url}/identity/", data={"metadata": "x.y"}, timeout=10).status_code == 401


def test_forget_request_and_destroy_user_identity_event(world: tuple[World, IdentityPlugin]) -> None:
    w, _ = world
    known = w.zd_state.add_user(SUBDOMAIN, "Carla Díaz", email="carla@example.org")
    carla = w.x_app.state.add_user("carla", name="Carla Diaz")
    w.x_app.state.inject_dm("carla", BRAND, "my email is carla@example.org")
    settle(w)
    tenant_id = w.runtime.store.tenant_id(SUBDOMAIN)
    assert tenant_id is not None
    [link] = w.runtime.store.identity.links(tenant_id, "linked")
    event = {"type_id": "destroy_user_identity", "subdomain": SUBDOMAIN, "timestamp": "2026-11-25T10:00:00Z",
             "data": {"user_id": known.id, "identity": {"type": "any_channel", "value": f"x:{carla.id}"}}}  # fmt: skip
    # Unsigned callback: while Zendesk still has the identity, nothing is forgotten.
    assert requests.post(f"{w.web.url}/zendesk/events", json={"events": [event]}, timeout=10).status_code == 200
    assert w.runtime.store.identity.link(link.id).status == "linked"  # type: ignore[union-attr]
    [identity] = [i for i in w.zd_state.identities_of(SUBDOMAIN, known.id) if i.value == f"x:{carla.id}"]
    w.zd_state.remove_identity(SUBDOMAIN, known.id, identity.id)
    assert requests.post(f"{w.web.url}/zendesk/events", json={"events": [event]}, timeout=10).status_code == 200
    row = w.runtime.store.identity.link(int(link.id))
    assert row is not None and row.status == "forgotten" and row.profile is None and row.evidence is None
    for entry in w.runtime.store.identity.audit_log(tenant_id):
        assert "carla@example.org" not in str(entry) and entry.created_at is not None
    assert ("forget", "zendesk") in {(a.action, a.actor) for a in w.runtime.store.identity.audit_log(tenant_id)}
    # The API delete request does the same for a profile given by id.
    answer = api(w, "POST", "/forget", token(w, SUBDOMAIN),
                 json={"network": "x", "author_external_id": "999", "by": "dpo"})  # fmt: skip
    assert answer.status_code == 200 and answer.json() == {"links": 0, "audit_entries_redacted": 0}


def test_bad_json_bodies_are_refused_with_a_reason(world: tuple[World, IdentityPlugin]) -> None:
    """Found by ``bench fuzz``: a lone surrogate in a JSON string parsed fine, then could not be encoded
    on its way to the database or Zendesk (a 500). Every JSON body of the API is read strictly."""
    w, _ = world
    mine = token(w, SUBDOMAIN)
    headers = {"Authorization": f"Bearer {mine}", "Content-Type": "application/json"}
    url = f"{w.web.url}/identity/api/forget"
    for body, reason in (
        (b'{"network": "x", "author_external_id": "\\ud800"}', "surrogate"),
        (b'{"network": "x", ', "valid JSON"),
        (b"[1, 2]", "JSON object"),
    ):
        answer = requests.post(url, data=body, headers=headers, timeout=10)
        assert answer.status_code == 400 and reason in answer.text, (body, answer.status_code, answer.text)
