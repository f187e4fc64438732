"""Agents accept an identity suggestion on horseshoe's page, framed by Zendesk, in a real browser."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plugin.identity.plugin import IdentityPlugin
from plugin.zendesk.tokens import InstanceMetadata, issue_metadata
from sandbox.demo.run import BRAND, SUBDOMAIN, World
from tests.console.support import PASSWORD, make_admin
from tests.identity.zdsupport import identity_world, requester_of, settle


@pytest.fixture
def world() -> Iterator[tuple[World, IdentityPlugin]]:
    with identity_world() as value:
        yield value


def test_agent_accepts_a_suggestion_on_the_page(world: tuple[World, IdentityPlugin], browser: Any,
                                                screenshot_dir: Path) -> None:  # fmt: skip
    w, _ = world
    target = w.zd_state.add_user(SUBDOMAIN, "Omar H", phone="+34 600 111 222")
    w.zd_state.add_user(SUBDOMAIN, "O. Haddad", phone="+34600111222")
    w.x_app.state.add_user("omar", name="Omar Haddad")
    w.x_app.state.inject_dm("omar", BRAND, "call me on +34 600 111 222 please")
    settle(w)
    tenant_id = w.runtime.store.tenant_id(SUBDOMAIN)
    assert tenant_id is not None
    [suggestion] = w.runtime.store.identity.links(tenant_id, "suggested")
    assert suggestion.record_id == str(target.id)  # the lowest id of the equally good records
    metadata = issue_metadata(w.runtime.box, InstanceMetadata(tenant=SUBDOMAIN, account_ids=(), name="Acme social"))
    html = (
        "<html><head><meta charset='utf-8'></head><body style='margin:0;font-family:sans-serif'>"
        "<div style='background:#03363d;color:#fff;padding:10px 16px'>Zendesk — horseshoe identity</div>"
        f"<form id='f' method='post' target='cf' action='{w.web.url}/identity/'>"
        f"<input type='hidden' name='metadata' value='{metadata}'></form>"
        "<iframe name='cf' style='width:100%;height:760px;border:0'></iframe>"
        "<script>document.getElementById('f').submit()</script></body></html>"
    )
    page = browser.new_page(viewport={"width": 1100, "height": 820})
    page.route(f"{w.zd_server.url}/agent/identity", lambda route: route.fulfill(body=html, content_type="text/html"))
    page.goto(f"{w.zd_server.url}/agent/identity")
    frame = page.frame_locator("iframe[name=cf]")
    frame.locator("text=Suggestions").wait_for()
    row = frame.locator(f"#suggestions tr[data-id='{suggestion.id}']")
    assert "phone_private" in row.inner_text()
    # Nobody types a name: the page says who decisions are recorded as (what Zendesk vouched for).
    assert frame.locator("#actor").inner_text().endswith(f"zendesk:{SUBDOMAIN} (what Zendesk vouches for).")
    page.screenshot(path=str(screenshot_dir / "identity-suggestions.png"), full_page=True)
    for label, (width, height) in {"800x600": (800, 600), "1280": (1280, 800)}.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(screenshot_dir / f"identity-zendesk-{label}.png"), full_page=(label == "1280"))
    row.locator("button.accept").click()
    frame.locator("#status", has_text="Linked to").wait_for()
    assert frame.locator(f"#suggestions tr[data-id='{suggestion.id}']").count() == 0
    assert requester_of(w, "call me on") == target.id  # merged into the existing customer
    actions = {(a.action, a.actor) for a in w.runtime.store.identity.audit_log(tenant_id)}
    assert ("accept", f"zendesk:{SUBDOMAIN}") in actions and ("merge", "horseshoe") in actions


def test_admin_decides_a_suggestion_in_the_standalone_console(world: tuple[World, IdentityPlugin], browser: Any,
                                                             screenshot_dir: Path) -> None:  # fmt: skip
    w, _ = world
    w.zd_state.add_user(SUBDOMAIN, "Omar H", phone="+34 600 111 222")
    w.zd_state.add_user(SUBDOMAIN, "O. Haddad", phone="+34600111222")
    w.x_app.state.add_user("omar", name="Omar Haddad")
    w.x_app.state.inject_dm("omar", BRAND, "call me on +34 600 111 222 please")
    settle(w)
    tenant_id = w.runtime.store.tenant_id(SUBDOMAIN)
    assert tenant_id is not None
    [suggestion] = w.runtime.store.identity.links(tenant_id, "suggested")
    make_admin(w.runtime, "lee", tenant=SUBDOMAIN)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(f"{w.web.url}/identity/console")
    page.locator("input[name=name]").fill("lee")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("button.primary").click()
    row = page.locator(f"#suggestions tr[data-id='{suggestion.id}']")
    assert "phone_private" in row.inner_text()
    assert page.locator("#actor").inner_text() == "admin:lee"  # nobody types a name
    for label, (width, height) in {"800x600": (800, 600), "1280": (1280, 800)}.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(screenshot_dir / f"console-identity-suggestion-{label}.png"),
                        full_page=(label == "1280"))  # fmt: skip
    row.locator("button:has-text('Reject')").click()
    page.locator("#done").wait_for()
    assert page.locator(f"#suggestions tr[data-id='{suggestion.id}']").count() == 0
    actions = {(a.action, a.actor) for a in w.runtime.store.identity.audit_log(tenant_id)}
    assert ("reject", "admin:lee") in actions
    page.close()
