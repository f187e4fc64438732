"""X's OAuth 2.0 user tokens live two hours: an account connected through the guided flow keeps the
refresh token and keeps working across expiries (the fake's clock) with no admin action.

The account is connected through horseshoe's pages (Flask's test client) and the X fake's consent page
(requests, as the admin's browser would submit it); then the fake's clock jumps past the token's life
and the worker polls DMs and posts a reply as usual.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import pytest
from flask.testing import FlaskClient

from plugin import renewal
from plugin.connect.grant import mint_connect_grant
from plugin.models import Reply, Visibility
from plugin.outbox import replies as outbox
from plugin.runtime import Runtime, build_runtime
from plugin.store.health import account_target
from plugin.testing import RunningServer, serve_in_thread
from plugin.web import create_app
from plugin.worker.loop import Worker
from sandbox import x
from sandbox.x.models import XState
from tests.conftest import fast_settings
from tests.support.consent import authorize_url, query_of, redirect_of

PUBLIC = "https://horseshoe.example"


@dataclass
class Setup:
    rt: Runtime
    client: FlaskClient
    state: XState
    server: RunningServer
    clock: list[float]
    brand_id: str
    account_id: int = 0


def _field(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]+)"', html)
    assert match, html[-800:]
    return unescape(match.group(1))


@pytest.fixture
def setup(tmp_path: object) -> Iterator[Setup]:
    clock = [time.time()]
    state = XState(clock=lambda: clock[0])
    brand = state.add_user("acme_support", name="Acme Support")
    state.add_user("carol")
    state.developer.callback_urls.add(f"{PUBLIC}/connect/callback")
    server = serve_in_thread(x.create_app(state))
    rt = build_runtime(fast_settings(str(tmp_path), public_url=PUBLIC))
    rt.settings = replace(rt.settings, connect_api_bases=f"x={server.url}")
    s = Setup(rt, create_app(rt).test_client(), state, server, clock, brand.id)
    s.account_id = _connect(s)
    yield s
    server.stop()
    rt.db.dispose()


def _connect(s: Setup) -> int:
    """The admin's guided flow: app keys, X's consent as the brand, pick the account, save."""
    grant = mint_connect_grant(s.rt, s.rt.store.ensure_tenant("acme"), "admin:ada")
    app = s.state.developer
    start = {"consumer_key": app.consumer_key, "consumer_secret": app.consumer_secret,
             "client_id": app.client_id, "client_secret": app.client_secret}  # fmt: skip
    url = authorize_url(s.client, "x", {"grant": grant, **{f"start.{k}": v for k, v in start.items()}})
    back = query_of(redirect_of(url, s.brand_id))
    pick = s.client.get("/connect/callback", query_string=back).get_data(as_text=True)
    saved = s.client.post(
        "/connect/save", data={"grant": _field(pick, "grant"), "sealed": _field(pick, "sealed"), "pick": "0"}
    )
    assert saved.status_code == 200
    (account,) = s.rt.store.accounts()
    return account.id


def _credentials(s: Setup) -> dict[str, str]:
    found = s.rt.store.account(s.account_id)
    assert found is not None
    return dict(found[1].credentials)


def _poll(s: Setup) -> None:
    worker = Worker(s.rt)
    worker.wake_polls()
    tick = worker.poll_due()
    assert tick.errors == [], tick.errors


def test_the_flow_keeps_the_refresh_token_and_the_expiry(setup: Setup) -> None:
    kept = _credentials(setup)
    assert kept["refresh_token"] in setup.state.developer.refresh_tokens
    expires = datetime.fromisoformat(kept["expires_at"])
    assert timedelta(hours=1, minutes=59) < expires - datetime.now(UTC) <= timedelta(hours=2)
    _poll(setup)
    health = {h.account_id: h for h in setup.rt.store.health.accounts()}
    assert health[setup.account_id].token_expires_at == expires


def test_the_account_keeps_working_across_expiries_with_no_admin(setup: Setup) -> None:
    s = setup
    _poll(s)
    first = _credentials(s)
    for hours in (1, 2):
        s.clock[0] += 3 * 3600  # X's clock: the user token is long dead
        s.state.inject_dm("carol", "acme_support", f"my order is late ({hours})")
        _poll(s)  # the DM poll is refused, the token renewed, the poll retried
        assert s.rt.store.health.attention_of(account_target(s.account_id)) is None
        reply = Reply(network="x", account=s.brand_id, text=f"Sorry Carol, looking into it ({hours})",
                      recipient_id=s.state.resolve_user("carol").id, visibility=Visibility.PRIVATE,
                      idempotency_key=f"renewal-{hours}")  # fmt: skip
        s.clock[0] += 3 * 3600
        state = outbox.enqueue(s.rt, s.rt.store.ensure_tenant("acme"), s.account_id, reply, "zendesk")
        assert outbox.attempt(s.rt, state.id, "w1").status == "sent"
    assert s.rt.store.counts()["mentions"] == 2  # both DMs arrived, each read after an expiry
    assert [p["text"] for p in s.state.posted][-2:] == [
        "Sorry Carol, looking into it (1)",
        "Sorry Carol, looking into it (2)",
    ]
    now = _credentials(s)
    assert now["user_access_token"] != first["user_access_token"]
    # Rotation: each refresh token worked once; only the newest is still alive at X.
    assert first["refresh_token"] not in s.state.developer.refresh_tokens
    assert list(s.state.developer.refresh_tokens) == [now["refresh_token"]]
    assert s.rt.store.events.count(s.rt.store.ensure_tenant("acme"), "account:token_renewed") == 4


def test_a_token_about_to_expire_is_renewed_before_the_call(setup: Setup) -> None:
    s = setup
    soon = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    old = _credentials(s)
    s.rt.store.brand_accounts.replace_credentials(s.account_id, old, {**old, "expires_at": soon})
    _poll(s)
    renewed = _credentials(s)
    assert renewed["user_access_token"] != old["user_access_token"]
    assert datetime.fromisoformat(renewed["expires_at"]) > datetime.now(UTC) + timedelta(hours=1)
    assert s.state.developer.refresh_tokens.keys() == {renewed["refresh_token"]}


def test_a_revoked_grant_needs_the_admin(setup: Setup) -> None:
    s = setup
    s.state.developer.refresh_tokens.clear()  # the brand revoked the app at X
    s.clock[0] += 3 * 3600
    worker = Worker(s.rt)
    worker.wake_polls()
    worker.poll_due()
    flagged = s.rt.store.health.attention_of(account_target(s.account_id))
    assert flagged is not None and "renew" in flagged.reason


def test_two_renewals_at_once_store_one_and_share_it(setup: Setup) -> None:
    s = setup
    found = s.rt.store.account(s.account_id)
    assert found is not None
    connector: Any = s.rt.registry.connector("x")
    first = renewal.renew(s.rt, s.account_id, found[1], connector)
    second = renewal.renew(s.rt, s.account_id, found[1], connector)  # a stale context: no second grant
    assert first is not None and second is not None
    assert first.credentials == second.credentials == _credentials(s)
    assert s.state.developer.refresh_tokens.keys() == {first.credentials["refresh_token"]}


def test_health_says_when_the_token_expires_in_words() -> None:
    from plugin.store.health import AccountHealth

    now = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
    base: dict[str, Any] = {f: None for f in AccountHealth.__dataclass_fields__}
    base |= {"account_id": 1, "tenant_id": 1, "tenant_key": "acme", "network": "x", "external_id": "1",
             "enabled": True, "poll_failures": 0, "stuck": False, "undelivered": 0, "quarantined": 0}  # fmt: skip

    def words(delta: timedelta | None) -> str | None:
        return AccountHealth(**{**base, "token_expires_at": None if delta is None else now + delta}).token_expiry(now)

    assert words(timedelta(days=3, hours=5)) == "expires in 3 days"
    assert words(timedelta(hours=1, minutes=59)) == "expires in 1 hour"
    assert words(timedelta(minutes=14)) == "expires in 14 minutes"
    assert words(timedelta(seconds=-1)) == "expired"
    assert words(None) is None
