"""The standalone console in a real headless Chromium: log in, retry a failed delivery, resolve an
uncertain reply; every page screenshotted at 800x600 and 1280 wide into test-artifacts/.

The world is the demo's (every network, the worker running), with what the demo stages for these
pages (``sandbox/demo/showcase.py``): a refused Zendesk push, a revoked-token account, a demo operator.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plugin.store.statuses import ReplyStatus
from plugin.zendesk.tokens import read_metadata
from sandbox.demo import showcase
from sandbox.demo.run import SUBDOMAIN, World, build_world
from tests.browser.zendesk_frame import frame_page, open_in_admin_center
from tests.console.support import PASSWORD, make_admin, uncertain_reply
from tests.support.wait import wait_for

SIZES = {"800x600": (800, 600), "1280": (1280, 800)}


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    w = build_world(tempfile.mkdtemp(prefix="horseshoe-console-"), 0, 1, every_network=True)
    w.worker.start_thread()
    yield w
    w.stop()


def shoot(page: Any, folder: Path, name: str) -> None:
    """The page at both sizes, whole length; the viewport is left at 1280 wide."""
    for label, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(folder / f"console-{name}-{label}.png"), full_page=(label != "800x600"))
        # Nothing may stick out sideways at either size (tables scroll inside their own box).
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, (name, label, overflow)


def log_in(browser: Any, world: World, name: str, password: str = PASSWORD) -> Any:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(f"{world.web.url}/")
    page.locator("input[name=name]").fill(name)
    page.locator("input[name=password]").fill(password)
    page.locator("button[type=submit]").click()
    page.wait_for_load_state()
    return page


def test_log_in_standalone_with_the_demo_admins_one_time_password(world: World, browser: Any,
                                                                 screenshot_dir: Path) -> None:  # fmt: skip
    name, password = showcase.demo_admin(world)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(f"{world.web.url}/")
    assert page.url.endswith("/console/login?next=/console/")
    shoot(page, screenshot_dir, "login")
    page.locator("input[name=name]").fill(name)
    page.locator("input[name=password]").fill("not the password")
    page.locator("button[type=submit]").click()
    assert "do not match an active admin" in page.locator("#login-error").inner_text()
    shoot(page, screenshot_dir, "login-error")
    page.locator("input[name=password]").fill(password)
    page.locator("button[type=submit]").click()
    page.locator("text=Change your password").wait_for()
    assert page.url.endswith("/console/password")
    page.locator("#current").fill(password)
    page.locator("#new").fill("short")
    page.locator("#repeat").fill("short")
    page.locator("#new").evaluate("el => el.removeAttribute('minlength')")  # the server says it too
    page.locator("button.primary").click()
    assert "at least 12 characters" in page.locator(".error").inner_text()
    shoot(page, screenshot_dir, "password")
    page.locator("#current").fill(password)
    page.locator("#new").fill("demo admin's own password")
    page.locator("#repeat").fill("demo admin's own password")
    page.locator("button.primary").click()
    page.locator("text=Welcome, demo-admin").wait_for()
    assert page.locator("#accounts tbody tr").count() >= 8  # X and the seven other networks
    shoot(page, screenshot_dir, "home")
    page.locator("button:has-text('Log out')").click()
    page.locator("input[name=password]").wait_for()
    page.goto(f"{world.web.url}/console/failures")
    assert "/console/login" in page.url  # the session ended on the server
    page.close()


def test_retry_a_failed_delivery_from_the_failures_page(world: World, browser: Any, screenshot_dir: Path) -> None:
    delivery_id = showcase.refused_delivery(world)
    assert delivery_id is not None
    make_admin(world.runtime, "ops")
    page = log_in(browser, world, "ops")
    page.goto(f"{world.web.url}/console/failures")
    row = page.locator(f"#failed-deliveries tr[data-id='{delivery_id}']")
    assert "Record validation errors" in row.inner_text() and "charged twice" in row.inner_text()
    shoot(page, screenshot_dir, "failures")
    row.locator("button[data-action=retry]").click()
    assert "Say why" in page.locator(f"#failed-deliveries tr[data-id='{delivery_id}'] .error").inner_text()
    row = page.locator(f"#failed-deliveries tr[data-id='{delivery_id}']")
    row.locator("input[name=why]").fill("Zendesk accepts it again")
    row.locator("button[data-action=retry]").click()
    page.locator("#done").wait_for()
    assert f"Delivery {delivery_id} will be delivered again" in page.locator("#done").inner_text()
    assert page.locator(f"#failed-deliveries tr[data-id='{delivery_id}']").count() == 0
    assert "admin:ops" in page.locator("#audit").inner_text()
    shoot(page, screenshot_dir, "failures-after-retry")
    # The retry really delivers: the ticket appears in the fake Zendesk.
    assert wait_for(lambda: any("charged twice for order 4411" in c.get("body", "") for t in
                                world.zd_state.tickets_with_comments(SUBDOMAIN) for c in t["comments"]))  # fmt: skip
    page.close()


def test_resolve_an_uncertain_reply(world: World, browser: Any, screenshot_dir: Path) -> None:
    rt = world.runtime
    tenant_id = rt.store.tenant_id(SUBDOMAIN)
    mastodon = next(n for n in world.networks if n.name == "mastodon")
    assert tenant_id is not None
    reply_id = uncertain_reply(rt, tenant_id, mastodon.account_id, "console-browser-reply")
    make_admin(rt, "kim", tenant=SUBDOMAIN)
    page = log_in(browser, world, "kim")
    page.goto(f"{world.web.url}/console/failures#replies")
    row = page.locator(f"#uncertain-replies tr[data-id='{reply_id}']")
    assert "connection dropped after sending" in row.inner_text()
    row.locator("input[name=why]").fill("found it on the instance")
    row.locator("button[data-action=mark-sent]").click()
    page.locator("#done").wait_for()
    assert page.locator(f"#uncertain-replies tr[data-id='{reply_id}']").count() == 0
    assert rt.store.outbox.get(reply_id).status == ReplyStatus.SENT
    [action] = [a for a in rt.store.failures.recent_actions([tenant_id]) if a.target == f"reply {reply_id}"]
    assert (action.actor, action.why) == ("admin:kim", "found it on the instance")
    shoot(page, screenshot_dir, "failures-after-resolve")
    page.goto(f"{world.web.url}/identity/console")
    assert "admin:kim" in page.locator("#actor").inner_text()  # who: the logged-in admin, nothing typed
    shoot(page, screenshot_dir, "identity")
    page.close()


def test_zendesk_admin_ui_round_trip_inside_an_iframe(world: World, browser: Any, screenshot_dir: Path) -> None:
    html, push_id = frame_page(world, edit=True)
    page, frame = open_in_admin_center(browser, world, html, {"width": 800, "height": 600})
    frame.locator("text=Connected accounts").wait_for()
    for label, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(screenshot_dir / f"zendesk-admin-ui-{label}.png"), full_page=(label != "800x600"))
    frame.locator("input[name=name]").fill("Acme social — all networks")
    frame.locator("input[name=account]").first.check()
    frame.locator("#business-hours").fill("America/New_York: Mon-Fri 08:00-18:00")
    frame.locator("button[name=action][value=save]").click()  # Save (beside Refresh and Connect)
    found = wait_for(lambda: (f := world.zd_state.find_instance(push_id)) and f[1].name == "Acme social — all networks"
                     and f)  # fmt: skip
    assert found
    meta = read_metadata(world.runtime.box, found[1].metadata)
    assert meta.tenant == SUBDOMAIN and meta.account_ids
    # The service settings saved with it, audited as the Zendesk admin.
    tenant_id = world.runtime.store.tenant_id(SUBDOMAIN)
    assert tenant_id is not None
    assert world.runtime.store.csat.business_hours(tenant_id) == "America/New_York: Mon-Fri 08:00-18:00"
    world.runtime.store.csat.set_business_hours(tenant_id, "", "test")  # leave the shared world as it was
    page.close()


def test_zendesk_install_code_page_screenshots(world: World, browser: Any, screenshot_dir: Path) -> None:
    html, _ = frame_page(world, code=False)
    page, frame = open_in_admin_center(browser, world, html, {"width": 800, "height": 600})
    frame.locator("input[name=install_code]").wait_for()
    for label, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(screenshot_dir / f"zendesk-install-code-{label}.png"), full_page=(label != "800x600"))
    page.close()


def test_the_service_dashboard_behind_the_console_login(world: World, browser: Any, screenshot_dir: Path) -> None:
    make_admin(world.runtime, "lead", tenant=SUBDOMAIN)
    page = log_in(browser, world, "lead")
    page.get_by_role("link", name=f"Service dashboard of {SUBDOMAIN}").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == f"Service dashboard — {SUBDOMAIN}"
    assert page.locator("svg").count() > 0  # the charts are drawn on the server as SVG
    # The filter form posts back with the console's CSRF token and shows the chosen period.
    page.locator("select[name=period]").select_option("30d")
    page.locator("form.filters button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("select[name=period]").input_value() == "30d"
    # The console's own layout around it: its nav bar, and logging out works from here.
    nav = page.locator("header")
    for link in ("Home", "Failures", "Identity"):
        assert nav.get_by_role("link", name=link).is_visible()
    shoot(page, screenshot_dir, "dashboard")
    assert nav.get_by_role("link", name="Failures").get_attribute("href") == "/console/failures"
    nav.get_by_role("button", name="Log out").click()
    page.wait_for_load_state()
    assert page.locator("input[name=password]").is_visible()
    page.close()


def test_quarantine_show_retry_and_discard(world: World, browser: Any, screenshot_dir: Path) -> None:
    from plugin.connector import Quarantined
    from plugin.store.statuses import QuarantineStatus

    rt = world.runtime
    account = next(a for a in rt.store.accounts() if a.network == "x")
    broken = {"data": [{"text": "a post with neither id nor author", "lang": "en"}]}
    items = rt.store.quarantine.add(account.tenant_id, account.id, "x", "poll", [
        Quarantined("data[0]", "KeyError: 'id'", broken),
        Quarantined("data[3]", "ValueError: created_at is not a date", {**broken, "n": 2}),
    ])  # fmt: skip
    make_admin(rt, "keeper", tenant=SUBDOMAIN)
    page = log_in(browser, world, "keeper")
    page.locator("header").get_by_role("link", name="Quarantine").click()
    page.wait_for_load_state()
    row = page.locator(f"tr[data-id='{items[0]}']")
    row.locator("summary").click()
    assert "neither id nor author" in row.locator("pre.payload").inner_text()
    shoot(page, screenshot_dir, "quarantine")
    # Retry with the connector as installed: it still cannot read it, and says so next to the item.
    row.get_by_role("button", name="Retry").click()
    page.wait_for_load_state()
    assert "Still fails" in page.locator(f"tr[data-id='{items[0]}'] [role=alert]").inner_text()
    # Discard without a reason is refused next to the item; with one it is gone, recorded with who.
    page.locator(f"tr[data-id='{items[0]}']").get_by_role("button", name="Discard").click()
    page.wait_for_load_state()
    assert "Say why" in page.locator(f"tr[data-id='{items[0]}'] [role=alert]").inner_text()
    shoot(page, screenshot_dir, "quarantine-why")
    page.locator(f"tr[data-id='{items[0]}'] input[name=why]").fill("a test post from our own QA account")
    page.locator(f"tr[data-id='{items[0]}']").get_by_role("button", name="Discard").click()
    page.wait_for_load_state()
    assert page.locator("#done").inner_text() == f"Item {items[0]} discarded."
    assert page.locator(f"tr[data-id='{items[0]}']").count() == 0
    shoot(page, screenshot_dir, "quarantine-done")
    row0 = rt.store.quarantine.get(items[0])
    assert row0 is not None and row0.status == QuarantineStatus.DISCARDED and "admin:keeper" in (row0.outcome or "")
    page.close()


def test_service_settings_business_hours_and_the_satisfaction_survey(
    world: World, browser: Any, screenshot_dir: Path
) -> None:
    make_admin(world.runtime, "service-lead", tenant=SUBDOMAIN)
    rt = world.runtime
    tenant_id = rt.store.tenant_id(SUBDOMAIN)
    assert tenant_id is not None
    page = log_in(browser, world, "service-lead")
    page.locator(f"#service-{SUBDOMAIN}").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == f"Service settings of {SUBDOMAIN}"
    # A spec that cannot be read: the reason next to the field, what was typed kept, nothing stored.
    page.locator("#business-hours").fill("Mon-Fri 9 to 5")
    page.locator("#save-service").click()
    page.wait_for_load_state()
    assert "time zone" in page.locator("#business-hours-error").inner_text()
    assert page.locator("#business-hours").input_value() == "Mon-Fri 9 to 5"
    assert rt.store.csat.business_hours(tenant_id) == ""
    shoot(page, screenshot_dir, "service-settings-error")
    telegram = next(a for a in rt.store.accounts(tenant_id) if a.network == "telegram")
    rt.store.update_account_settings(telegram.id, {**telegram.settings, "satisfaction": False})
    page.goto(f"{world.web.url}/console/service/{tenant_id}")
    assert not page.locator(f"#satisfaction-{telegram.id}").is_checked()
    page.locator("#business-hours").fill("Europe/Berlin: Mon-Fri 09:00-17:00; Sat 10:00-14:00")
    page.locator(f"#satisfaction-{telegram.id}").check()
    page.locator("#save-service").click()
    page.wait_for_load_state()
    saved = page.locator("p.done").inner_text()
    assert "Saved: business hours: Europe/Berlin" in saved and f"survey on for telegram {telegram.id}" in saved
    assert rt.store.csat.business_hours(tenant_id) == "Europe/Berlin: Mon-Fri 09:00-17:00; Sat 10:00-14:00"
    assert rt.store.account(telegram.id)[0].settings.get("satisfaction") is True  # type: ignore[index]
    assert page.locator(f"#satisfaction-{telegram.id}").is_checked()
    shoot(page, screenshot_dir, "service-settings")
    # The dashboard now runs its SLA on that clock and says so.
    page.get_by_role("link", name="Open the service dashboard").click()
    page.wait_for_load_state()
    assert page.locator("svg").count() > 0
    assert "business hours (Europe/Berlin: Mon-Fri 09:00-17:00" in page.locator("#sla-clock").inner_text()
    page.close()
    rt.store.csat.set_business_hours(tenant_id, "", "test")  # leave the shared world as it was


def test_health_page_flags_a_revoked_token_and_a_refused_crm(world: World, browser: Any, screenshot_dir: Path) -> None:
    """Issue 15 in the standalone console (a Salesforce-only company's admin UI): the Mastodon account
    whose token the instance revoked is flagged by the running worker's own polls, a refused Salesforce
    org is paused, both said in plain words with a way to reconnect; the home counts them."""
    from plugin import attention
    from plugin.errors import AuthError
    from plugin.store.health import account_target, sink_target

    rt = world.runtime
    tenant_id = rt.store.tenant_id(SUBDOMAIN)
    assert tenant_id is not None
    revoked = showcase.expired_token_account(world)
    assert revoked is not None
    assert wait_for(lambda: rt.store.health.paused(account_target(revoked)))  # the worker's poll got a 401
    # The org refused its refresh token (as the Salesforce sink's refusal records it): deliveries wait.
    refused = AuthError("salesforce refused the refresh token (expired access/refresh token); connect the org again")
    rt.store.set_sink_connection(tenant_id, "salesforce", {"auth": "oauth", "instance_url": "https://acme.example"})
    attention.sink_refused(rt, tenant_id, "salesforce", refused)  # after: a (re)connection clears the flag
    rt.store.health.sink_failed(tenant_id, "salesforce", attention.plain_error(refused, "salesforce"))
    try:
        make_admin(rt, "health-admin", tenant=SUBDOMAIN)
        page = log_in(browser, world, "health-admin")
        assert int(page.locator("#attention-count").inner_text()) >= 2
        shoot(page, screenshot_dir, "home-attention")
        page.get_by_role("link", name="see health").click()
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == "Health"
        row = page.locator(f"#account-health tr[data-account='{revoked}']")
        assert row.locator(".badge.attention").inner_text() == "Needs attention"
        text = row.inner_text()
        assert "mastodon refused the credentials" in text and "paused until it is connected again" in text
        assert "acme_eu" in text and str(revoked) in text
        # The most urgent rows come first.
        assert page.locator("#account-health tbody tr").first.get_attribute("data-account") == str(revoked)
        crm = page.locator("#crm-health tr[data-sink=salesforce]")
        assert crm.locator(".badge.attention").inner_text() == "Needs attention"
        assert "expired access/refresh token" in crm.inner_text() and "deliveries to it are paused" in crm.inner_text()
        assert crm.get_by_role("button", name="Connect salesforce again").is_visible()
        shoot(page, screenshot_dir, "health")
        page.set_viewport_size({"width": 800, "height": 600})
        crm.scroll_into_view_if_needed()  # the CRM connections, below the accounts on a small screen
        page.screenshot(path=str(screenshot_dir / "console-health-800x600-crm.png"))
        # "Connect it again" opens the guided connect flow for this tenant.
        row.get_by_role("button", name="Connect it again").click()
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == f"Connect an account for {SUBDOMAIN}"
        page.close()
    finally:  # leave the shared world as it was for whatever runs after
        rt.store.health.clear(sink_target("salesforce", tenant_id))
        rt.store.disable_sink_connection(tenant_id, "salesforce", "test over")
        rt.store.update_account_settings(revoked, {"poll_interval_seconds": 3600})
