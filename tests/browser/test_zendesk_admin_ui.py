"""The Channel Framework admin UI as an admin sees it: inside Zendesk's iframe, in a real browser.

A page on the fake Zendesk's origin frames horseshoe's admin UI (as Zendesk does), the admin ticks an
account, connects a new one and saves; the auto-submitting return page posts name and metadata back
to Zendesk's return_url, which stores them on the integration instance.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from plugin.zendesk.tokens import read_metadata
from sandbox.demo.run import BRAND, SUBDOMAIN, World, build_world
from tests.browser.zendesk_frame import fill_credentials, frame_page, open_in_admin_center


@pytest.fixture
def world() -> Iterator[World]:
    w = build_world(tempfile.mkdtemp(prefix="horseshoe-ui-"), 0, 1)
    w.runtime.settings = replace(w.runtime.settings, manual_account_form=True)  # the operator's by-hand path
    yield w
    w.stop()


def test_admin_connects_an_account_inside_zendesk_iframe(world: World, browser: Any, screenshot_dir: Path) -> None:
    html, push_id = frame_page(world, edit=True)
    # The framing page served from the fake Zendesk's origin, as Zendesk would.
    page, frame = open_in_admin_center(browser, world, html, {"width": 900, "height": 900})
    frame.locator("text=Connected accounts").wait_for()
    accounts = frame.locator("input[name=account]")
    assert accounts.count() == 1  # the account the demo install connected
    assert accounts.first.is_checked()  # this channel already takes it
    frame.locator("input[name=name]").fill("Acme social — EMEA")
    frame.locator("select[name=new_network]").select_option("mastodon")
    frame.locator("input[name=new_external_id]").fill("109876")
    frame.locator("input[name=new_handle]").fill("acme@mastodon.example")
    frame.locator("input[name=new_api_base]").fill("http://127.0.0.1:9")  # a host the operator allowed
    fill_credentials(frame, world, "mastodon", {"access_token": "secret-token"})
    page.screenshot(path=str(screenshot_dir / "zendesk-admin-ui.png"), full_page=True)
    frame.locator("button[type=submit][value=save]").click()
    page.wait_for_function(
        "() => !document.querySelector('iframe[name=cf]').contentDocument"
        " || document.querySelector('iframe[name=cf]').contentDocument.body.innerText.length >= 0"
    )
    found = None
    for _ in range(50):
        found = world.zd_state.find_instance(push_id)
        if found and found[1].name == "Acme social — EMEA":
            break
        page.wait_for_timeout(100)
    assert found is not None and found[1].name == "Acme social — EMEA"
    meta = read_metadata(world.runtime.box, found[1].metadata)
    accounts = {a.id: a for a in world.runtime.store.accounts()}
    assert {accounts[i].network for i in meta.account_ids} == {"x", "mastodon"}
    # The new credentials were stored encrypted, never echoed back into the page.
    assert "secret-token" not in page.content()
    page.close()


def test_admin_ui_shows_a_clear_error_and_keeps_the_form(world: World, browser: Any, screenshot_dir: Path) -> None:
    html, push_id = frame_page(world, code=False)
    page, frame = open_in_admin_center(browser, world, html, {"width": 900, "height": 1000})
    # A new channel Zendesk cannot vouch for yet: nothing of the tenant is shown until the install code.
    frame.locator("input[name=install_code]").wait_for()
    assert frame.locator("input[name=account]").count() == 0 and frame.locator("input[name=api_token]").count() == 0
    frame.locator("input[name=install_code]").fill(world.runtime.store.trust.invite(SUBDOMAIN))
    frame.locator("button[type=submit]").click()
    frame.locator("select[name=new_network]").wait_for()
    frame.locator("select[name=new_network]").select_option("mastodon")
    frame.locator("input[name=new_handle]").fill("acme@mastodon.example")
    fill_credentials(frame, world, "mastodon", {"access_token": "t-typed-once"})
    frame.locator("button[type=submit][value=save]").click()  # the account id is missing
    frame.locator("[role=alert]", has_text="field 'new_external_id' is required").wait_for()
    page.screenshot(path=str(screenshot_dir / "zendesk-admin-ui-error.png"), full_page=True)
    # What was typed is still there (but the secret); the admin fixes the mistake and saves.
    assert frame.locator("select[name=new_network]").input_value() == "mastodon"
    assert frame.locator("input[name=new_handle]").input_value() == "acme@mastodon.example"
    assert "t-typed-once" not in frame.locator("body").inner_html()
    frame.locator("input[name=new_external_id]").fill("123")
    fill_credentials(frame, world, "mastodon", {"access_token": "t"})
    frame.locator("button[type=submit][value=save]").click()
    found = None
    for _ in range(50):
        found = world.zd_state.find_instance(push_id)
        if found and found[1].metadata:
            break
        page.wait_for_timeout(100)
    assert found is not None and found[1].metadata
    page.close()
    assert BRAND  # the demo's brand account is untouched


def test_admin_ui_shows_needs_attention_and_quarantined_items(world: World, browser: Any, screenshot_dir: Path) -> None:
    """Issue 15 point 2 / issue 12: the expired-token badge, a paused CRM connection and the quarantine
    are on the admin page, legible in Zendesk's iframe at 800x600 and 1280 wide."""
    from plugin import attention
    from plugin.connector import Quarantined
    from plugin.errors import AuthError

    rt = world.runtime
    [account] = rt.store.accounts()
    attention.account_refused(rt, account.id, AuthError("X GET /2/users/:id/mentions 401: Unauthorized"), "poll")
    # (A Zendesk connection would be cleared by the admin UI itself: Zendesk posts a fresh push token.)
    attention.sink_refused(rt, account.tenant_id, "salesforce", AuthError("INVALID_SESSION_ID: Session expired"))
    bad = Quarantined("data[55]", "data[55].lang: must be a string, got list", {"data": [{"id": "55", "lang": ["en"]}]})
    rt.store.quarantine.add(account.tenant_id, account.id, "x", "poll", [bad])
    html, _push_id = frame_page(world, edit=True)
    for width, height in ((800, 600), (1280, 900)):
        page, frame = open_in_admin_center(browser, world, html, {"width": width, "height": height})
        frame.locator(".badge.attention", has_text="Needs attention").first.wait_for()
        assert "refused the credentials" in frame.locator(".vitals").first.inner_text()
        assert frame.locator("p", has_text="salesforce: salesforce refused the credentials").count() == 1
        row = frame.locator("table.quarantine tr", has_text="data[55]")
        assert row.count() == 1 and "lang: must be a string" in row.inner_text()
        frame.locator(".account-row").first.scroll_into_view_if_needed()
        page.screenshot(path=str(screenshot_dir / f"zendesk-admin-health-{width}-account.png"), full_page=True)
        frame.locator("table.quarantine").scroll_into_view_if_needed()
        page.screenshot(path=str(screenshot_dir / f"zendesk-admin-health-{width}.png"), full_page=True)
        page.close()


def test_admin_ui_retries_and_discards_quarantined_items(world: World, browser: Any, screenshot_dir: Path) -> None:
    """Quarantine from the Zendesk admin page: show the item, retry it (still fails: said at the top),
    discard it (refused without a reason, then done and recorded with the Zendesk admin as who)."""
    from plugin.connector import Quarantined
    from plugin.store.statuses import QuarantineStatus

    rt = world.runtime
    [account] = rt.store.accounts()
    bad = Quarantined("data[56]", "data[56].lang: must be a string, got list", {"data": [{"id": "56", "lang": ["en"]}]})
    [item] = rt.store.quarantine.add(account.tenant_id, account.id, "x", "poll", [bad])
    html, _push_id = frame_page(world, edit=True)
    page, frame = open_in_admin_center(browser, world, html, {"width": 800, "height": 600})
    row = frame.locator(f"tr[data-item='{item}']")
    row.locator("summary").click()
    assert '"lang"' in row.locator("pre").inner_text()
    row.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "zendesk-admin-quarantine-800.png"))
    row.get_by_role("button", name="Retry").click()
    frame.locator("[role=alert]", has_text=f"Item {item} still fails").wait_for()
    frame.locator(f"tr[data-item='{item}']").get_by_role("button", name="Discard").click()
    frame.locator("[role=alert]", has_text=f"Say why you discard item {item}").wait_for()
    frame.locator(f"input[name='qwhy-{item}']").fill("our own test post")
    frame.locator(f"tr[data-item='{item}']").get_by_role("button", name="Discard").click()
    frame.locator("#notice", has_text=f"Item {item} discarded.").wait_for()
    assert frame.locator(f"tr[data-item='{item}']").count() == 0
    for width, height in ((800, 600), (1280, 900)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(screenshot_dir / f"zendesk-admin-quarantine-done-{width}.png"), full_page=True)
    row_after = rt.store.quarantine.get(item)
    assert row_after is not None and row_after.status == QuarantineStatus.DISCARDED
    assert f"zendesk-admin:{SUBDOMAIN}" in (row_after.outcome or "")
    page.close()


def test_admin_ui_shows_crm_connection_health_and_a_token_expiry_warning(
    world: World, browser: Any, screenshot_dir: Path
) -> None:
    """Issue 15: each CRM connection's last delivery, last error in plain words and session expiry, a
    refused Salesforce connection as "needs attention", and an account whose token horseshoe cannot
    renew warned ahead of its expiry (still working), legible in Zendesk's iframe at 800 and 1280 wide."""
    from datetime import timedelta

    from plugin import attention
    from plugin.errors import AuthError, RetriableError
    from plugin.store.db import utcnow

    rt = world.runtime
    [account] = rt.store.accounts()
    tenant_id = account.tenant_id
    expires = utcnow() + timedelta(days=5)
    rt.store.health.token_expiry(account.id, expires)  # as plugin/expiry.py records what the connector says
    attention.token_expiring(rt, account.id, expires)
    sf_config = {"auth": "oauth", "instance_url": "https://acme.my.salesforce.com"}
    rt.store.set_sink_connection(tenant_id, "salesforce", sf_config)
    rt.store.health.sink_succeeded(tenant_id, "salesforce", utcnow() + timedelta(minutes=90))
    refused = AuthError("salesforce refused the refresh token (expired access/refresh token); connect the org again")
    rt.store.health.sink_failed(tenant_id, "salesforce", attention.plain_error(refused, "salesforce"))
    attention.sink_refused(rt, tenant_id, "salesforce", refused)
    rt.store.health.sink_succeeded(tenant_id, "zendesk")
    rt.store.health.sink_failed(tenant_id, "zendesk", attention.plain_error(RetriableError("HTTP 503"), "zendesk"))
    html, _push_id = frame_page(world, edit=True)
    for width, height in ((800, 600), (1280, 900)):
        page, frame = open_in_admin_center(browser, world, html, {"width": width, "height": height})
        frame.locator("legend", has_text="CRM connections").wait_for()
        row = frame.locator(".account-row").first
        assert row.locator(".badge.warn", has_text="Needs attention soon").count() == 1
        vitals = row.locator(".vitals").inner_text()
        assert "cannot be renewed without you" in vitals and "before then" in vitals
        assert "token expires in 4 days" in vitals or "token expires in 5 days" in vitals
        assert "paused" not in vitals.split("Last poll")[0]  # a warning: the account keeps working
        sf = frame.locator(".crm-row[data-sink=salesforce]")
        assert sf.locator(".badge.attention", has_text="Needs attention").count() == 1
        text = sf.inner_text()
        assert "expired access/refresh token" in text and "deliveries to it are paused" in text
        assert "Last error" not in text  # the same sentence as the flag: said once
        assert "Last delivery: " in text and "session expires in 1 hour" in text and "renewed automatically" in text
        zd = frame.locator(".crm-row[data-sink=zendesk]")
        assert zd.locator(".badge.warn", has_text="Failing").count() == 1
        assert "zendesk did not answer properly (temporary; retried automatically): HTTP 503" in zd.inner_text()
        # The refused CRM is shown once, in its own row, not again under "Needs a look".
        assert frame.locator("p", has_text="salesforce: salesforce refused the credentials").count() == 0
        frame.locator(".crm-row").first.scroll_into_view_if_needed()
        page.screenshot(path=str(screenshot_dir / f"zendesk-admin-crm-health-{width}.png"), full_page=True)
        page.close()
