"""Connecting one account of each network through its guided flow, in real headless Chromium.

The admin starts on the Zendesk admin page (inside Zendesk's iframe), opens the guided flow in a new
tab, types only what the network cannot tell (a bot token, a handle and app password), signs in at
the network where it has OAuth, picks the accounts found, and sees the webhook registered or what is
left to paste. The fakes are the sandbox's, reached through ``connect_api_bases``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.browser.connect_world import ConnectWorld, choose, fill, open_connect, shoot, start_world, submit


@pytest.fixture
def cw() -> Iterator[ConnectWorld]:
    yield from start_world()


def _account(cw: ConnectWorld, network: str) -> Any:
    found = [a for a in cw.world.runtime.store.accounts() if a.network == network]
    assert len(found) == 1, found
    return found[0]


def test_telegram_bot_token_is_checked_and_the_webhook_registered(
    cw: ConnectWorld, browser: Any, screenshot_dir: Path
) -> None:
    state = cw.fakes["telegram"].state
    page = open_connect(cw, browser, screenshot_dir)
    shoot(page, screenshot_dir, "networks")
    choose(page, "telegram")
    fill(page, {"bot_token": "123456789:wrong"})
    submit(page)
    error = page.locator(".field.invalid .field-error")
    assert "Telegram does not know this token" in error.inner_text()
    shoot(page, screenshot_dir, "telegram-bad-token")
    assert "123456789:wrong" not in page.content()  # a secret is never filled back in
    fill(page, {"bot_token": state.bot_token})
    submit(page)
    page.locator("label.account", has_text="@horseshoe_bot").wait_for()
    shoot(page, screenshot_dir, "telegram-pick")
    page.locator("button[type=submit]").click()
    page.locator("[role=status]", has_text="setWebhook").wait_for()
    shoot(page, screenshot_dir, "telegram-done")
    account = _account(cw, "telegram")
    assert (account.external_id, account.handle) == (str(state.bot_id), "horseshoe_bot")
    # Telegram now knows horseshoe's URL and the secret it will echo; the page shows the URL.
    webhook_url = f"{cw.world.web.url}/webhooks/telegram/{account.public_key}"
    assert state.webhook["url"] == webhook_url
    assert page.locator("[data-copy=webhook_url]").inner_text() == webhook_url
    _row, context = cw.world.runtime.store.account(account.id) or (None, None)
    assert context is not None and state.webhook["secret_token"] == context.credentials["webhook_secret"]
    assert context.settings["bot_username"] == "horseshoe_bot"
    page.context.close()


def test_bluesky_handle_resolves_to_its_did(cw: ConnectWorld, browser: Any, screenshot_dir: Path) -> None:
    state = cw.fakes["bluesky"].state
    actor = state.add_actor("acme.bsky.social", display_name="Acme Support", password="app-pass-1234")
    page = open_connect(cw, browser)
    choose(page, "bluesky")
    shoot(page, screenshot_dir, "bluesky-start")
    fill(page, {"handle": "nobody.bsky.social", "app_password": "x"})
    submit(page)
    assert "no Bluesky account has the handle" in page.locator(".field.invalid .field-error").inner_text()
    fill(page, {"handle": "@acme.bsky.social", "app_password": "wrong"})
    submit(page)
    assert "refused this app password" in page.locator(".field.invalid .field-error").inner_text()
    shoot(page, screenshot_dir, "bluesky-bad-password")
    fill(page, {"handle": "acme.bsky.social", "app_password": "app-pass-1234"})
    submit(page)
    page.locator("label.account", has_text="Acme Support").wait_for()
    page.locator("button[type=submit]").click()
    page.locator("[role=status]", has_text="polling").wait_for()
    shoot(page, screenshot_dir, "bluesky-done")
    account = _account(cw, "bluesky")
    assert (account.external_id, account.handle) == (actor["did"], "acme.bsky.social")
    assert page.locator("[data-copy=webhook_url]").count() == 0  # Bluesky has no webhooks to paste
    page.context.close()


def test_mastodon_app_registered_and_oauth_on_the_admins_server(
    cw: ConnectWorld, browser: Any, screenshot_dir: Path
) -> None:
    state = cw.fakes["mastodon"].state
    brand = state.add_account("acme", display_name="Acme Support")
    state.add_account("someone")
    server = cw.servers["mastodon"].url
    page = open_connect(cw, browser)
    choose(page, "mastodon")
    fill(page, {"api_base": "ftp://nowhere"})
    submit(page)
    assert "must use https" in page.locator(".field.invalid .field-error").inner_text()
    fill(page, {"api_base": server})
    submit(page)
    shoot(page, screenshot_dir, "mastodon-continue")
    page.locator("#authorize").click()
    page.locator("#approve").wait_for()  # the server's own consent page
    shoot(page, screenshot_dir, "mastodon-consent")
    app = next(iter(state.oauth_apps.values()))
    assert app["redirect_uris"] == [f"{cw.world.web.url}/connect/callback"]  # only our own callback
    page.locator("select[name=sandbox_user]").select_option(brand["id"])
    page.locator("#approve").click()
    page.locator("label.account", has_text="Acme Support").wait_for()
    shoot(page, screenshot_dir, "mastodon-pick")
    page.locator("button[type=submit]").click()
    page.locator("[role=status]", has_text="polling").wait_for()
    account = _account(cw, "mastodon")
    assert (account.external_id, account.api_base) == (brand["id"], server)
    _row, context = cw.world.runtime.store.account(account.id) or (None, None)
    assert context is not None and state.account_for_token(context.credentials["access_token"]) == brand["id"]
    page.context.close()


def test_meta_login_lists_pages_and_instagram_and_subscribes_the_page(
    cw: ConnectWorld, browser: Any, screenshot_dir: Path
) -> None:
    fake = cw.fakes["meta"]
    page_row = fake.state.add_page()  # a Page with its linked Instagram professional account
    login = fake.state.login
    login.redirect_uris.add(f"{cw.world.web.url}/connect/callback")  # the app's Valid OAuth Redirect URIs
    login.add_admin("5550001", "Ada Admin", [page_row.id])
    page = open_connect(cw, browser)
    choose(page, "facebook")
    fill(page, {"app_id": login.app_id, "app_secret": "not-the-secret"})
    submit(page)
    assert "refused this app secret" in page.locator(".field.invalid .field-error").inner_text()
    shoot(page, screenshot_dir, "facebook-bad-secret")
    fill(page, {"app_id": login.app_id, "app_secret": fake.state.app_secret})
    submit(page)
    page.locator("#authorize").click()
    page.locator("#approve").click()
    page.locator("label.account", has_text="on Instagram").wait_for()
    shoot(page, screenshot_dir, "facebook-pick")
    boxes = page.locator("input[name=pick]")
    assert boxes.count() == 3  # the Page's Facebook and Messenger accounts, and its Instagram account
    for index in range(3):
        boxes.nth(index).check()
    page.locator("button[type=submit]").click()
    page.locator("section[data-network=instagram]").wait_for()
    shoot(page, screenshot_dir, "facebook-done")
    accounts = {a.network: a for a in cw.world.runtime.store.accounts()}
    assert accounts["facebook"].external_id == accounts["messenger"].external_id == page_row.id
    assert accounts["instagram"].external_id == page_row.ig_id and accounts["instagram"].handle == page_row.ig_username
    assert set(login.subscriptions[page_row.id]) == {"feed", "messages", "messaging_postbacks"}
    _row, context = cw.world.runtime.store.account(accounts["facebook"].id) or (None, None)
    assert context is not None and context.credentials["page_access_token"] == page_row.token
    # A Meta app has ONE callback URL (and this login one verify token): every section shows the same pair.
    app_url = f"{cw.world.web.url}/webhooks/app/acme/{login.app_id}"
    for network in ("facebook", "messenger", "instagram"):
        section = page.locator(f"section[data-network={network}]")
        assert section.locator("[data-copy=webhook_url]").inner_text() == app_url
        assert section.locator("[data-copy='Verify token']").inner_text() == context.credentials["verify_token"]
    page.context.close()
    # What the admin pasted works: Meta's subscription check, then events for all three accounts at the one URL.
    query = {"hub.mode": "subscribe", "hub.verify_token": context.credentials["verify_token"], "hub.challenge": "8150"}
    check = requests.get(app_url, params=query, timeout=10)
    assert (check.status_code, check.text) == (200, "8150")
    fake.state.pending_webhooks(clear=True)
    comment = fake.state.inject_comment(fake.state.inject_post(page_row.id, page_row.id, "Our launch"), "2001", "Late!")
    dm = fake.state.inject_message(page_row.id, "3001", "hello?")
    ig_dm = fake.state.inject_message(page_row.id, "4001", "hi IG", platform="instagram")
    assert fake.state.deliver_webhooks(app_url) == [200, 200, 200, 200]
    tenant = accounts["facebook"].tenant_id
    for network, external_id in (("facebook", comment), ("messenger", dm), ("instagram", ig_dm)):
        assert cw.world.runtime.store.inbox.find(tenant, network, external_id) is not None, network


def test_vk_community_token_finds_the_community_and_sets_its_callback_server(
    cw: ConnectWorld, browser: Any, screenshot_dir: Path
) -> None:
    state = cw.fakes["vk"].state
    page = open_connect(cw, browser)
    choose(page, "vk")
    fill(page, {"access_token": "vk1.a.not-it"})
    submit(page)
    assert "VK refused this token" in page.locator(".field.invalid .field-error").inner_text()
    shoot(page, screenshot_dir, "vk-bad-token")
    fill(page, {"access_token": state.access_token})
    submit(page)
    page.locator("label.account", has_text=state.group_name).wait_for()
    page.locator("button[type=submit]").click()
    page.locator("[role=status]", has_text="VK confirmed").wait_for()
    shoot(page, screenshot_dir, "vk-done")
    account = _account(cw, "vk")
    assert (account.external_id, account.handle) == (str(state.group_id), state.screen_name)
    (server,) = state.callback_servers.values()
    # VK asked horseshoe's URL for the confirmation code and got it: the server is confirmed.
    assert server["url"] == f"{cw.world.web.url}/webhooks/vk/{account.public_key}" and server["status"] == "ok"
    assert state.callback_settings[server["id"]]["events"]["wall_reply_new"] == 1
    _row, context = cw.world.runtime.store.account(account.id) or (None, None)
    assert context is not None and server["secret_key"] == context.credentials["secret"]
    page.context.close()


def test_x_oauth2_pkce_and_account_activity_webhook_with_crc(
    cw: ConnectWorld, browser: Any, screenshot_dir: Path
) -> None:
    state = cw.fakes["x"].state
    brand = state.add_user("acme_support", name="Acme Support")
    state.add_user("someone_else")
    app = state.developer
    app.callback_urls.add(f"{cw.world.web.url}/connect/callback")  # the app's Callback URI in the portal
    page = open_connect(cw, browser)
    choose(page, "x")
    keys = {"consumer_key": app.consumer_key, "client_id": app.client_id, "client_secret": app.client_secret}
    fill(page, {**keys, "consumer_secret": "wrong"})
    submit(page)
    assert "X refused this API key and secret" in page.locator(".field.invalid .field-error").inner_text()
    shoot(page, screenshot_dir, "x-bad-key")
    fill(page, {**keys, "consumer_secret": app.consumer_secret})
    submit(page)
    page.locator("#authorize").click()
    page.locator("select[name=sandbox_user]").select_option(brand.id)
    shoot(page, screenshot_dir, "x-consent")
    page.locator("#approve").click()
    page.locator("label.account", has_text="@acme_support").wait_for()
    page.locator("button[type=submit]").click()
    page.locator("[role=status]", has_text="CRC").wait_for()
    shoot(page, screenshot_dir, "x-done")
    # (the demo's own X account is connected already; the new one is beside it)
    (account,) = [a for a in cw.world.runtime.store.accounts() if a.network == "x" and a.external_id == brand.id]
    assert account.handle == "acme_support"
    (hook,) = app.webhooks.values()
    assert hook["url"] == f"{cw.world.web.url}/webhooks/x/{account.public_key}"  # it answered the CRC
    assert app.subscriptions[hook["id"]] == {brand.id}
    page.context.close()


def test_salesforce_web_server_flow_connects_the_org(cw: ConnectWorld, browser: Any, screenshot_dir: Path) -> None:
    assert cw.org is not None
    state = cw.org.state
    app = state.register_app("3MVG9sandboxConsumerKey", "sandbox-consumer-secret", org_id=cw.org.org_id)
    app.callback_urls.add(f"{cw.world.web.url}/connect/callback")  # the connected app's Callback URL
    page = open_connect(cw, browser)
    choose(page, "salesforce")
    fill(page, {"consumer_key": app.consumer_key, "consumer_secret": app.consumer_secret, "domain": "Not a domain"})
    submit(page)
    assert "should match pattern" in page.locator(".field.invalid .field-error").inner_text()
    shoot(page, screenshot_dir, "salesforce-start")
    fill(page, {"consumer_key": app.consumer_key, "consumer_secret": app.consumer_secret, "domain": "login"})
    submit(page)
    page.locator("#authorize").click()
    page.locator("#approve").click()
    page.locator("label.account", has_text="Salesforce org").wait_for()
    page.locator("button[type=submit]").click()
    page.locator("[role=status]", has_text="Connected").wait_for()
    shoot(page, screenshot_dir, "salesforce-done")
    tenant_id = cw.world.runtime.store.tenant_id("acme")
    assert tenant_id is not None
    config = cw.world.runtime.store.sink_connection(tenant_id, "salesforce")
    assert config is not None and config["auth"] == "oauth" and config["instance_url"] == cw.org.base
    assert config["refresh_token"] in state.refresh_tokens  # the refresh token Salesforce issued, stored
    page.context.close()
