"""Activation after storing: a network that fails to register the webhook leaves the account stored and
the admin a retry, which registers it (Telegram's setWebhook against the fake, driven through the pages)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from flask.testing import FlaskClient

from plugin.connect.grant import mint_connect_grant
from plugin.runtime import Runtime, build_runtime
from plugin.testing import serve_in_thread
from plugin.web import create_app
from sandbox import telegram
from tests.conftest import fast_settings


@pytest.fixture
def setup(tmp_path: object) -> Iterator[tuple[Runtime, FlaskClient, Any, str]]:
    fake = telegram.create_app()
    server = serve_in_thread(fake)
    rt = build_runtime(fast_settings(str(tmp_path), public_url="https://horseshoe.example"))
    rt.settings = replace(rt.settings, connect_api_bases=f"telegram={server.url}")
    grant = mint_connect_grant(rt, rt.store.ensure_tenant("acme"), "admin:ada")
    yield rt, create_app(rt).test_client(), fake, grant
    server.stop()
    rt.db.dispose()


def _field(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]+)"', html)
    assert match, html[-800:]
    return match.group(1)


def test_a_failed_registration_keeps_the_account_and_can_be_retried(
    setup: tuple[Runtime, FlaskClient, Any, str],
) -> None:
    rt, client, fake, grant = setup
    form = {"grant": grant, "action": "begin", "start.bot_token": fake.state.bot_token}
    pick = client.post("/connect/telegram", data=form).get_data(as_text=True)
    fake.plan.scripted = [500]  # Telegram fails the next call: setWebhook
    done = client.post(
        "/connect/save", data={"grant": _field(pick, "grant"), "sealed": _field(pick, "sealed"), "pick": "0"}
    )
    page = done.get_data(as_text=True)
    assert done.status_code == 200 and "its webhook could not be registered" in page
    assert fake.state.webhook is None
    (account,) = rt.store.accounts()
    retry = client.post(
        "/connect/activate", data={"grant": _field(page, "grant"), "account_id": _field(page, "account_id")}
    )
    assert retry.status_code == 200 and "setWebhook" in retry.get_data(as_text=True)
    assert fake.state.webhook["url"] == f"https://horseshoe.example/webhooks/telegram/{account.public_key}"
