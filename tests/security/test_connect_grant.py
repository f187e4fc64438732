"""The connect grant: only a trusted admin page mints one, for its own tenant, and nothing else opens
the connect pages (docs/ARCHITECTURE.md, "Connecting accounts")."""

from __future__ import annotations

import re

from plugin.connect.grant import read_connect_grant
from tests.security.conftest import RETURN_URL, Stack


def _grant_in(html: str) -> str | None:
    match = re.search(r'name="grant" value="([^"]+)"', html)
    return match.group(1) if match else None


def test_the_trusted_admin_page_mints_a_grant_for_its_own_tenant(stack: Stack) -> None:
    page = stack.client.post(
        "/zendesk/admin", data={"subdomain": "acme", "return_url": RETURN_URL, "metadata": stack.acme.metadata}
    )
    assert page.status_code == 200
    token = _grant_in(page.get_data(as_text=True))
    assert token is not None
    grant = read_connect_grant(stack.rt, token)
    assert (grant.tenant_id, grant.tenant, grant.actor) == (stack.acme.id, "acme", "zendesk-admin:acme")
    assert b"globex" not in stack.client.post("/connect/", data={"grant": token}).data


def test_an_untrusted_admin_page_mints_none(stack: Stack) -> None:
    # A new subdomain nobody vouched for: the page asks for an install code and carries no grant.
    page = stack.client.post("/zendesk/admin", data={"subdomain": "initech", "return_url": RETURN_URL})
    assert page.status_code == 200 and _grant_in(page.get_data(as_text=True)) is None
