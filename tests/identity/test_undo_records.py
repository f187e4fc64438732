"""What an identity undo records, and what it refuses (mutation testing, issue 12): the audit of an
undo says exactly which identity was removed from which user, the link becomes ``undone`` once,
an undo is not itself undone, and actions Zendesk cannot reverse (merges) or does not know are
refused with their own errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from plugin.identity.adapter import NotReversible
from plugin.identity.plugin import IdentityPlugin
from plugin.store.statuses import LinkStatus
from sandbox.demo.run import BRAND, SUBDOMAIN, World
from tests.identity.zdsupport import identity_world, settle


@pytest.fixture
def zd_world() -> Iterator[tuple[World, IdentityPlugin]]:
    with identity_world() as world:
        yield world


def test_the_undo_audit_names_the_removed_identity_and_the_link_is_undone_once(
    zd_world: tuple[World, IdentityPlugin],
) -> None:
    w, plugin = zd_world
    known = w.zd_state.add_user(SUBDOMAIN, "Dana Ruiz", email="dana@example.org")
    w.x_app.state.add_user("danar", name="Dana Ruiz")
    w.x_app.state.inject_dm("danar", BRAND, "my email: dana@example.org")
    settle(w)
    tenant_id = w.runtime.store.tenant_id(SUBDOMAIN)
    assert tenant_id is not None
    link = next(a for a in w.runtime.store.identity.audit_log(tenant_id) if a.action == "link")
    added = (link.details or {})["actions"]
    assert [a["kind"] for a in added] == ["identity_added"] and str(added[0]["user_id"]) == str(known.id)

    result = plugin.undo(link.id, "admin:kim", tenant_id=tenant_id)

    removed = [{"kind": "identity_removed", "user_id": a["user_id"], "identity_id": a["identity_id"]} for a in added]
    assert result["undone"] == removed
    undo = next(a for a in w.runtime.store.identity.audit_log(tenant_id) if a.action == "undo")
    assert undo.id == result["audit_id"]
    assert undo.details == {"undone": removed}
    assert (undo.actor, undo.network, undo.author_external_id) == ("admin:kim", link.network, link.author_external_id)
    entry = w.runtime.store.identity.audit_entry(link.id)
    assert entry is not None and entry.undone_by == undo.id
    undone = w.runtime.store.identity.links(tenant_id, LinkStatus.UNDONE)
    assert [(k.network, k.author_external_id) for k in undone] == [(link.network, link.author_external_id)]
    with pytest.raises(ValueError, match="already undone"):
        plugin.undo(link.id, "admin:kim", tenant_id=tenant_id)
    with pytest.raises(LookupError):  # another tenant's audit entry does not exist for this one
        plugin.undo(link.id, "admin:kim", tenant_id=tenant_id + 1)
    with pytest.raises(ValueError, match="only links can be undone"):  # an undo is not undone in turn
        plugin.undo(undo.id, "admin:kim", tenant_id=tenant_id)
    assert [a.action for a in w.runtime.store.identity.audit_log(tenant_id)].count("undo") == 1


def test_the_zendesk_adapter_refuses_merges_and_unknown_actions(zd_world: tuple[World, IdentityPlugin]) -> None:
    w, plugin = zd_world
    tenant_id = w.runtime.store.tenant_id(SUBDOMAIN)
    assert tenant_id is not None
    adapter = plugin.adapter_for(tenant_id, "zendesk")
    with pytest.raises(NotReversible):
        adapter.undo({"kind": "merge", "source": "1", "target": "2"})
    with pytest.raises(ValueError, match="unknown action 'reparent'"):
        adapter.undo({"kind": "reparent", "persona_id": "0Pe1", "previous": "003"})
