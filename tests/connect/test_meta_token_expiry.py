"""Meta Page tokens: when they stop working, said ahead of time (issue 15).

A Page connected through Facebook Login (horseshoe's pages in Flask's test client, Facebook's consent
page through requests as the admin's browser would) keeps what ``debug_token`` said: a Page token from
a long-lived user token never expires, the app's data access does, 90 days after the admin's login.
Health, doctor, ``/healthz`` and ``/metrics`` show it; within ``token_warning_days`` the account
"needs attention" without pausing and the admin is told once; Meta's refusal of the token (code 190)
then pauses it and tells the admin again; logging in again clears it. The Meta fake answers
``/debug_token`` and ``fb_exchange_token`` as the Graph API documents them, errors included.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from html import unescape
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from flask.testing import FlaskClient

from plugin import attention, expiry
from plugin.cli.doctor import run_doctor
from plugin.connect.grant import mint_connect_grant
from plugin.runtime import Runtime, build_runtime
from plugin.store.health import account_target
from plugin.testing import RunningServer, serve_in_thread
from plugin.web import create_app
from plugin.worker.loop import Worker
from sandbox import meta
from sandbox.meta.login_state import DATA_ACCESS_SECONDS, LONG_LIVED_SECONDS
from sandbox.meta.models import MetaState, Page
from tests.conftest import fast_settings
from tests.support.consent import authorize_url, query_of, redirect_of
from tests.triage.test_escalation import FlakyWebhook

PUBLIC = "https://horseshoe.example"
METRICS_TOKEN = "metrics-token-for-the-test"
ADMIN = "5550001"


@dataclass
class Setup:
    rt: Runtime
    client: FlaskClient
    state: MetaState
    page: Page
    server: RunningServer
    hook: FlakyWebhook


@pytest.fixture
def setup(tmp_path: object) -> Iterator[Setup]:
    state = MetaState()
    page = state.add_page()
    state.login.redirect_uris.add(f"{PUBLIC}/connect/callback")
    state.login.add_admin(ADMIN, "Ada Admin", [page.id])
    server = serve_in_thread(meta.create_app(state))
    hook = FlakyWebhook(failures=0)
    settings = fast_settings(str(tmp_path), public_url=PUBLIC, admin_webhook_url=hook.url, metrics_token=METRICS_TOKEN)
    rt = build_runtime(settings)
    rt.settings = replace(rt.settings, connect_api_bases=f"facebook={server.url}")
    yield Setup(rt, create_app(rt).test_client(), state, page, server, hook)
    server.stop()
    hook.stop()
    rt.db.dispose()


def _field(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]+)"', html)
    assert match, html[-800:]
    return unescape(match.group(1))


def _login(s: Setup) -> str:
    """The admin's guided flow up to the pick page: app id and secret, Facebook's consent as Ada."""
    grant = mint_connect_grant(s.rt, s.rt.store.ensure_tenant("acme"), "admin:ada")
    start = {"start.app_id": s.state.login.app_id, "start.app_secret": s.state.app_secret}
    url = authorize_url(s.client, "facebook", {"grant": grant, **start})
    back = query_of(redirect_of(url, ADMIN))
    return s.client.get("/connect/callback", query_string=back).get_data(as_text=True)


def _connect(s: Setup) -> int:
    """Log in, pick the Page's Facebook account, save: its account id."""
    pick = _login(s)
    saved = s.client.post(
        "/connect/save", data={"grant": _field(pick, "grant"), "sealed": _field(pick, "sealed"), "pick": "0"}
    )
    assert saved.status_code == 200, saved.data[-600:]
    [account] = [a for a in s.rt.store.accounts() if a.network == "facebook"]
    return account.id


def _credentials(s: Setup, account_id: int) -> dict[str, str]:
    found = s.rt.store.account(account_id)
    assert found is not None
    return dict(found[1].credentials)


def _poll(s: Setup) -> int:
    worker = Worker(s.rt, owner="test")
    worker.wake_polls()
    return worker.poll_due().polled


def test_the_flow_stores_the_data_access_expiry_and_health_shows_it(setup: Setup) -> None:
    s = setup
    before = int(s.state.login.clock())
    account_id = _connect(s)
    kept = _credentials(s, account_id)
    # A Page token from a long-lived user token never expires (debug_token: expires_at 0): not stored.
    assert "expires_at" not in kept
    data_access = int(kept["data_access_expires_at"])
    assert before + DATA_ACCESS_SECONDS <= data_access <= int(s.state.login.clock()) + DATA_ACCESS_SECONDS
    expected = datetime.fromtimestamp(data_access, UTC)
    connector = s.rt.registry.connector("facebook")
    found = s.rt.store.account(account_id)
    assert found is not None and connector.token_expires_at(found[1]) == expected
    assert not connector.renews_tokens(found[1])  # only the admin can push it back: by logging in again

    Worker(s.rt, owner="test").run_once()  # the expiry check runs on the worker's first turn
    [health] = s.rt.store.health.accounts()
    assert health.token_expires_at == expected and health.token_expiry() in ("expires in 89 days", "expires in 90 days")
    assert health.needs_attention is None  # 90 days ahead: nothing to do yet
    lines: list[str] = []
    run_doctor(s.rt.settings, echo=lines.append)
    assert any(f"token {health.token_expiry()} ({expected:%Y-%m-%d %H:%M:%S}Z)" in line for line in lines), lines
    metrics = s.client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).get_data(as_text=True)
    assert _metric_line(metrics, "horseshoe_account_token_expiry_timestamp_seconds") == str(data_access)


def _metric_line(metrics: str, name: str) -> str:
    lines = [line for line in metrics.splitlines() if line.startswith(name + "{")]
    assert len(lines) == 1, lines
    return str(int(float(lines[0].rsplit(" ", 1)[1])))


def test_an_expiry_it_cannot_renew_warns_once_without_pausing_then_a_refusal_pauses(setup: Setup) -> None:
    s = setup
    account_id = _connect(s)
    expires = datetime.fromtimestamp(int(_credentials(s, account_id)["data_access_expires_at"]), UTC)
    assert _poll(s) == 1  # the first poll starts "now"
    target = account_target(account_id)

    # Eight days ahead: still quiet. Six days ahead: a warning, told once, and the account keeps working.
    assert expiry.check(s.rt, now=expires - timedelta(days=8)) == 0
    assert s.rt.store.health.attention_of(target) is None
    assert expiry.check(s.rt, now=expires - timedelta(days=6)) == 1
    assert expiry.check(s.rt, now=expires - timedelta(days=5)) == 1  # checked again: no second notice
    assert attention.drain_notices(s.rt, timeout=10)
    [notice] = s.hook.received
    assert notice["event"] == "needs_attention" and notice["account_id"] == account_id
    assert notice["during"] == "token check" and notice["pauses"] is False
    assert notice["expires_at"] == expires.isoformat()
    assert s.page.token not in str(notice) and s.state.app_secret not in str(notice)
    [health] = s.rt.store.health.accounts()
    assert health.needs_attention and "cannot be renewed without you" in health.needs_attention
    assert not health.attention_pauses and not health.ok
    assert _poll(s) == 1  # polled as usual: a warning pauses nothing (a paused account is skipped)
    [health] = s.rt.store.health.accounts()
    assert health.last_error is None and health.last_poll_ok_at is not None
    lines: list[str] = []
    run_doctor(s.rt.settings, echo=lines.append)
    assert any("needs attention (still working)" in line for line in lines), lines
    healthz = s.client.get("/healthz", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).get_json()
    assert healthz["status"] == "degraded"
    assert [(n["account_id"], n["pauses"]) for n in healthz["needs_attention"]] == [(account_id, False)]

    # Meta invalidates the token (the admin changed their Facebook password): one refused poll pauses the
    # account, the warning becomes a pausing flag, and the admin hears that the work stopped.
    s.state.login.invalidate(s.page.token, 460)
    assert _poll(s) == 1
    flagged = s.rt.store.health.attention_of(target)
    assert flagged is not None and flagged.pauses and "refused the credentials" in flagged.reason
    assert "subcode 460" in flagged.reason
    assert _poll(s) == 0  # paused: no blind retries
    assert attention.drain_notices(s.rt, timeout=10)
    assert [n["during"] for n in s.hook.received] == ["token check", "poll"]
    assert expiry.check(s.rt, now=expires - timedelta(days=4)) == 1  # a warning never softens the pause
    flagged = s.rt.store.health.attention_of(target)
    assert flagged is not None and flagged.pauses and "refused the credentials" in flagged.reason
    assert attention.drain_notices(s.rt, timeout=10) and len(s.hook.received) == 2

    # The admin logs in again: a new Page token, a new 90 days, the flag cleared, polling resumes.
    s.page.token = "renewed-page-token"
    assert _connect(s) == account_id
    assert s.rt.store.health.attention_of(target) is None
    assert _credentials(s, account_id)["page_access_token"] == "renewed-page-token"
    assert _poll(s) == 1
    assert expiry.check(s.rt) == 0


def test_an_invalid_page_token_is_refused_at_connect_time(setup: Setup) -> None:
    s = setup
    s.state.login.invalidate(s.page.token, 467)
    pick = _login(s)
    assert "Meta says the Page token is not valid" in unescape(pick) and "subcode 467" in pick
    assert s.rt.store.accounts() == []


# -- the fake, as the Graph API documents debug_token and fb_exchange_token ------------------------


def _graph(s: Setup, path: str, **params: str) -> requests.Response:
    return requests.get(f"{s.server.url}/v21.0/{path}", params=params, timeout=10)


def _user_token(s: Setup) -> str:
    """A short-lived user token, as the login code gives it (through the fake's own dialog)."""
    login = s.state.login
    redirect = next(iter(login.redirect_uris))
    consent = requests.post(
        f"{s.server.url}/v21.0/dialog/oauth",
        data={"client_id": login.app_id, "redirect_uri": redirect, "decision": "approve", "sandbox_user": ADMIN},
        allow_redirects=False,
    )
    code = dict(parse_qsl(urlsplit(consent.headers["Location"]).query))["code"]
    answer = _graph(
        s, "oauth/access_token", client_id=login.app_id, client_secret=s.state.app_secret, redirect_uri=redirect,
        code=code,
    )  # fmt: skip
    return str(answer.json()["access_token"])


def test_the_fake_debugs_tokens_and_exchanges_them_as_meta_documents(setup: Setup) -> None:
    s = setup
    login = s.state.login
    app_token = f"{login.app_id}|{s.state.app_secret}"
    client = {"client_id": login.app_id, "client_secret": s.state.app_secret}
    short = _user_token(s)
    info = _graph(s, "debug_token", input_token=short, access_token=app_token).json()["data"]
    assert info["type"] == "USER" and info["is_valid"] is True and info["user_id"] == ADMIN
    assert info["expires_at"] - info["issued_at"] < 3 * 3600  # short-lived: an hour or two
    assert info["data_access_expires_at"] - info["issued_at"] == pytest.approx(DATA_ACCESS_SECONDS, abs=5)

    # A Page token listed with the short-lived token expires with it; with a long-lived one, never.
    requests.get(f"{s.server.url}/v21.0/me/accounts", params={"access_token": short}, timeout=10).raise_for_status()
    info = _graph(s, "debug_token", input_token=s.page.token, access_token=app_token).json()["data"]
    assert info["type"] == "PAGE" and info["profile_id"] == s.page.id and info["expires_at"] > 0
    exchanged = _graph(s, "oauth/access_token", grant_type="fb_exchange_token", fb_exchange_token=short, **client)
    long_lived = exchanged.json()
    assert long_lived["expires_in"] == LONG_LIVED_SECONDS and long_lived["access_token"] != short
    requests.get(
        f"{s.server.url}/v21.0/me/accounts", params={"access_token": long_lived["access_token"]}, timeout=10
    ).raise_for_status()
    info = _graph(s, "debug_token", input_token=s.page.token, access_token=app_token).json()["data"]
    assert info["expires_at"] == 0 and info["data_access_expires_at"] > 0

    # Errors: no app token (code 100), no input_token, an unknown token, an invalidated and an expired one.
    refused = _graph(s, "debug_token", input_token=short, access_token=short)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == 100
    assert _graph(s, "debug_token", access_token=app_token).json()["error"]["code"] == 100
    unknown = _graph(s, "debug_token", input_token="EAAnothing", access_token=app_token).json()["data"]
    assert unknown["is_valid"] is False and unknown["error"]["code"] == 190
    login.invalidate(long_lived["access_token"], 460)
    info = _graph(s, "debug_token", input_token=long_lived["access_token"], access_token=app_token).json()["data"]
    assert info["is_valid"] is False and (info["error"]["code"], info["error"]["subcode"]) == (190, 460)
    again = _graph(s, "oauth/access_token", grant_type="fb_exchange_token",
                   fb_exchange_token=long_lived["access_token"], **client)  # fmt: skip
    assert again.status_code == 400 and (again.json()["error"]["code"], again.json()["error"]["error_subcode"]) == (
        190,
        460,
    )
    missing = _graph(s, "oauth/access_token", grant_type="fb_exchange_token", **client)
    assert missing.status_code == 400 and missing.json()["error"]["code"] == 100
    start = login.clock()
    login.clock = lambda: start + 3 * 3600  # the short-lived token is over
    late = _graph(s, "oauth/access_token", grant_type="fb_exchange_token", fb_exchange_token=short, **client)
    assert (late.json()["error"]["code"], late.json()["error"]["error_subcode"]) == (190, 463)
    info = _graph(s, "debug_token", input_token=short, access_token=app_token).json()["data"]
    assert info["is_valid"] is False and info["error"]["subcode"] == 463


def test_a_past_expiry_it_cannot_renew_does_not_pause_before_meta_refuses(setup: Setup) -> None:
    """The stored date is Meta's estimate at the last login (data access moves on when the admin uses
    the app): past it, polls go on until Graph itself refuses the token; renewal is not attempted."""
    s = setup
    account_id = _connect(s)
    old = _credentials(s, account_id)
    past = str(int(s.state.login.clock()) - 3600)
    assert s.rt.store.brand_accounts.replace_credentials(account_id, old, {**old, "data_access_expires_at": past})
    assert _poll(s) == 1 and _poll(s) == 1  # renewal.due() says yes, refresh_credentials has nothing: polled
    assert expiry.check(s.rt) == 1
    flagged = s.rt.store.health.attention_of(account_target(account_id))
    assert flagged is not None and not flagged.pauses and "expired on" in flagged.reason
    assert _poll(s) == 1
    assert s.rt.store.events.count(s.rt.store.ensure_tenant("acme"), "account:token_renewed") == 0
    [health] = s.rt.store.health.accounts()
    assert health.token_expiry() == "expired" and health.last_error is None
