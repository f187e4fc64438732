"""Identity resolution against the Zendesk fake over real HTTP (zenpy), X fake -> horseshoe -> Zendesk."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from plugin.identity.adapter import NotReversible
from plugin.identity.plugin import IdentityPlugin
from sandbox.demo.run import BRAND, SUBDOMAIN, World

from .zdsupport import identity_world, requester_of, settle


@pytest.fixture
def world() -> Iterator[tuple[World, IdentityPlugin]]:
    with identity_world() as value:
        yield value


def test_email_in_dm_lands_on_existing_user(world: tuple[World, IdentityPlugin]) -> None:
    w, _plugin = world
    known = w.zd_state.add_user(SUBDOMAIN, "Carla Díaz", email="carla@example.org")
    w.x_app.state.add_user("carla", name="Carla Diaz")
    w.x_app.state.inject_dm("carla", BRAND, "hi, my order is late. my email is carla@example.org")
    settle(w)
    w.x_app.state.inject_mention("carla", "still waiting @acme", to_user=BRAND)
    settle(w)
    assert requester_of(w, "my order is late") == known.id
    assert requester_of(w, "still waiting") == known.id
    tenant_id = w.runtime.store.tenant_id(SUBDOMAIN)
    assert tenant_id is not None
    actions = [a.action for a in w.runtime.store.identity.audit_log(tenant_id)]
    assert "link" in actions and "merge" in actions
    merge = next(a for a in w.runtime.store.identity.audit_log(tenant_id) if a.action == "merge")
    assert merge.details["snapshots"][0]["identities"], "snapshot taken before the merge"
    assert any("email_private" in e for e in merge.evidence)


def test_ambiguous_match_is_a_suggestion_and_accepting_merges(world: tuple[World, IdentityPlugin]) -> None:
    w, plugin = world
    a = w.zd_state.add_user(SUBDOMAIN, "Omar H", phone="+34 600 111 222")
    w.zd_state.add_user(SUBDOMAIN, "O. Haddad", phone="+34600111222")
    w.x_app.state.add_user("omar", name="Omar Haddad")
    w.x_app.state.inject_dm("omar", BRAND, "call me on +34 600 111 222 please")
    settle(w)
    requester = requester_of(w, "call me on")
    assert requester != a.id  # no merge for an ambiguous match
    tenant_id = w.runtime.store.tenant_id(SUBDOMAIN)
    assert tenant_id is not None
    suggestions = w.runtime.store.identity.links(tenant_id, "suggested")
    assert len(suggestions) == 1
    plugin.decide_suggestion(int(suggestions[0].id), True, "agent:lee", record_id=str(a.id))
    assert requester_of(w, "call me on") == a.id
    actions = [(x.action, x.actor) for x in w.runtime.store.identity.audit_log(tenant_id)]
    assert ("accept", "agent:lee") in actions and ("merge", "horseshoe") in actions


def test_agent_is_never_a_target(world: tuple[World, IdentityPlugin]) -> None:
    w, _plugin = world
    agent = w.zd_state.add_user(SUBDOMAIN, "Lee Agent", email="lee.private@example.org", role="agent")
    w.x_app.state.add_user("lee", name="Lee Agent")
    w.x_app.state.inject_dm("lee", BRAND, "it's me, lee.private@example.org")
    settle(w)
    assert requester_of(w, "it's me") != agent.id
    tenant_id = w.runtime.store.tenant_id(SUBDOMAIN)
    assert tenant_id is not None
    assert not w.runtime.store.identity.links(tenant_id, "linked")


def test_link_undo_removes_the_identity_and_merges_are_not_reversible(world: tuple[World, IdentityPlugin]) -> None:
    w, plugin = world
    known = w.zd_state.add_user(SUBDOMAIN, "Dana Ruiz", email="dana@example.org")
    w.x_app.state.add_user("danar", name="Dana Ruiz")
    w.x_app.state.inject_dm("danar", BRAND, "my email: dana@example.org")
    settle(w)
    assert ("twitter", "danar") in {(i.type, i.value) for i in w.zd_state.identities_of(SUBDOMAIN, known.id)}
    tenant_id = w.runtime.store.tenant_id(SUBDOMAIN)
    assert tenant_id is not None
    audit = w.runtime.store.identity.audit_log(tenant_id)
    link = next(a for a in audit if a.action == "link")
    merge = next(a for a in audit if a.action == "merge")
    with pytest.raises(NotReversible):
        plugin.undo(int(merge.id), "admin:kim")
    plugin.undo(int(link.id), "admin:kim")
    assert ("twitter", "danar") not in {(i.type, i.value) for i in w.zd_state.identities_of(SUBDOMAIN, known.id)}
    assert w.runtime.store.identity.links(tenant_id, "undone")
