"""A failed Zendesk identity DELETE is not recorded as undone (found as a surviving mutant)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from plugin.identity.plugin import IdentityPlugin
from plugin.store.statuses import LinkStatus
from sandbox.demo.run import BRAND, SUBDOMAIN, World
from tests.identity.zdsupport import identity_world, settle


@pytest.fixture
def zd_world() -> Iterator[tuple[World, IdentityPlugin]]:
    with identity_world() as world:
        yield world


def test_a_failed_identity_delete_is_not_recorded_as_undone(zd_world: tuple[World, IdentityPlugin]) -> None:
    w, plugin = zd_world
    known = w.zd_state.add_user(SUBDOMAIN, "Dana Ruiz", email="dana@example.org")
    w.x_app.state.add_user("danar", name="Dana Ruiz")
    w.x_app.state.inject_dm("danar", BRAND, "my email: dana@example.org")
    settle(w)
    tenant_id = w.runtime.store.tenant_id(SUBDOMAIN)
    assert tenant_id is not None
    link = next(a for a in w.runtime.store.identity.audit_log(tenant_id) if a.action == "link")
    w.zd_app.plan.configure(paths=("/api/v2/users/",), scripted=[503])  # the DELETE fails once
    with pytest.raises(Exception):  # noqa: B017  (whatever the transport raises, it must propagate)
        plugin.undo(link.id, "admin:kim")
    identities = {(i.type, i.value) for i in w.zd_state.identities_of(SUBDOMAIN, known.id)}
    assert ("twitter", "danar") in identities  # still on the user in Zendesk...
    assert not w.runtime.store.identity.links(tenant_id, LinkStatus.UNDONE)  # ...so not recorded as undone
    assert not any(a.action == "undo" for a in w.runtime.store.identity.audit_log(tenant_id))
    plugin.undo(link.id, "admin:kim")  # once Zendesk answers, the undo goes through
    assert ("twitter", "danar") not in {(i.type, i.value) for i in w.zd_state.identities_of(SUBDOMAIN, known.id)}
