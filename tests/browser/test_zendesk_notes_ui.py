"""The admin UI tells an admin without Zendesk API access that horseshoe's notes reach tickets as
public comments (the Channel Framework cannot write internal notes), and stops saying so once a token
is stored."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.demo.run import SUBDOMAIN, World, build_world
from tests.browser.zendesk_frame import frame_page, open_in_admin_center


@pytest.fixture
def world() -> Iterator[World]:
    w = build_world(tempfile.mkdtemp(prefix="horseshoe-ui-notes-"), 0, 1)
    yield w
    w.stop()


def _open(world: World, browser: Any) -> tuple[Any, Any]:
    html, _push_id = frame_page(world, edit=True)
    page, frame = open_in_admin_center(browser, world, html, {"width": 900, "height": 1100})
    frame.locator("text=Connected accounts").wait_for()
    return page, frame


def test_the_admin_is_told_notes_are_public_without_api_access(
    world: World, browser: Any, screenshot_dir: Path
) -> None:
    store = world.runtime.store
    tenant_id = store.tenant_id(SUBDOMAIN)
    assert tenant_id is not None
    config = store.sink_connection(tenant_id, "zendesk")
    assert config is not None
    push_only = {k: v for k, v in config.items() if k not in ("api_email", "api_token")}
    store.set_sink_connection(tenant_id, "zendesk", push_only)
    page, frame = _open(world, browser)
    warning = frame.locator("#public-notes")
    warning.wait_for()
    assert "public" in warning.inner_text() and "API token" in warning.inner_text()
    warning.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "zendesk-admin-public-notes.png"), full_page=True)
    page.close()
    store.set_sink_connection(tenant_id, "zendesk", config)  # API access again: no warning
    page, frame = _open(world, browser)
    assert frame.locator("#public-notes").count() == 0
    page.close()
