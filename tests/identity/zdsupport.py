"""The demo world (X fake -> horseshoe -> Zendesk fake) with REST credentials for identity resolution."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from plugin.identity.plugin import IdentityPlugin
from sandbox.demo.run import SUBDOMAIN, World, build_world
from tests.support.settle import settle

__all__ = ["identity_world", "requester_of", "settle"]


@contextmanager
def identity_world(salesforce: bool = False) -> Iterator[tuple[World, IdentityPlugin]]:
    w = build_world(tempfile.mkdtemp(prefix="horseshoe-identity-"), 0, 1, salesforce=salesforce)
    try:
        rt = w.runtime
        plugin = rt.pm.get_plugin("identity")
        assert isinstance(plugin, IdentityPlugin)
        tenant_id = rt.store.tenant_id(SUBDOMAIN)
        assert tenant_id is not None
        api = w.zd_state.add_user(SUBDOMAIN, "Api Admin", email="api@acme.example", role="admin")
        token = w.zd_state.issue_api_token(SUBDOMAIN, api.id)
        config = rt.store.sink_connection(tenant_id, "zendesk")
        assert config is not None
        rest = {"api_base": w.zd_server.url, "api_email": "api@acme.example", "api_token": token}
        rt.store.set_sink_connection(tenant_id, "zendesk", {**config, **rest})
        yield w, plugin
    finally:
        w.stop()


def requester_of(world: World, text: str) -> int:
    for ticket in world.zd_state.tickets_with_comments(SUBDOMAIN):
        if any(text in c["body"] for c in ticket["comments"]):
            return int(ticket["requester_id"])
    raise AssertionError(f"{text!r} is on no ticket")
