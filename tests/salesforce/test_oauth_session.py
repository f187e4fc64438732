"""A Salesforce org connected through the guided OAuth web-server flow (``auth: oauth``), over time
(issue 15): each login is a ``refresh_token`` grant, against the HTTPS fake driven by simple-salesforce.

- A session that expires mid-work (the org's session timeout, set through the fake's own control
  route) answers 401 ``INVALID_SESSION_ID``; the sink renews it with the refresh grant and the work
  goes on: every mention reaches the org once, none lost, none doubled.
- A revoked refresh token (``invalid_grant`` "expired access/refresh token") marks the CRM connection
  "needs attention" (health, doctor, ``/healthz``, ``/metrics``), tells the admin contact once, and
  pauses the org's deliveries instead of retrying; connecting the org again clears it and they go out.
- The connection's health shows its last accepted batch, its last error in plain words and when the
  current session expires (OAuth token introspection).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select, update

from plugin import attention
from plugin.cli.doctor import run_doctor
from plugin.pipeline import inbound as pipeline
from plugin.plugins import get_plugin_manager
from plugin.runtime import Runtime, build_runtime
from plugin.store import tables as t
from plugin.store.db import utcnow
from plugin.store.health import SinkHealth, sink_target
from plugin.web import create_app
from plugin.worker.loop import Worker
from sandbox.salesforce.org import USERNAME
from tests.conftest import fast_settings
from tests.support.netplugin import TestNetPlugin, make_mention
from tests.triage.test_escalation import FlakyWebhook

from .conftest import SfEnv

CONSUMER_KEY = "3MVG9oauthSessionTestConsumerKey"
CONSUMER_SECRET = "oauth-session-consumer-secret"
METRICS_TOKEN = "metrics-token-for-the-test"
TOKEN_GRANTS = "POST /services/oauth2/token"


@pytest.fixture
def hook() -> Iterator[FlakyWebhook]:
    receiver = FlakyWebhook(failures=0)
    yield receiver
    receiver.stop()


@pytest.fixture
def rt(tmp_path: Path, hook: FlakyWebhook) -> Iterator[Runtime]:
    settings = fast_settings(str(tmp_path), admin_webhook_url=hook.url, metrics_token=METRICS_TOKEN, lease_seconds=5)
    runtime = build_runtime(settings, pm=get_plugin_manager(extra_plugins=[("testnet", TestNetPlugin())]))
    yield runtime
    runtime.db.dispose()


def _oauth_config(env: SfEnv, refresh_token: str) -> dict[str, Any]:
    """What the guided web-server flow stores (plugin/salesforce/oauth.py), pointed at the fake."""
    return {"auth": "oauth", "consumer_key": CONSUMER_KEY, "consumer_secret": CONSUMER_SECRET,
            "refresh_token": refresh_token, "instance_url": env.base, "domain": "login",
            "login_url": env.base, "ca_bundle": env.cert, "reply_poll_seconds": 0}  # fmt: skip


@pytest.fixture
def org(rt: Runtime, sfenv: SfEnv) -> tuple[int, int, str]:
    """(tenant id, account id, refresh token): tenant "acme" with a testnet account and the org connected."""
    sfenv.state.register_app(CONSUMER_KEY, CONSUMER_SECRET, org_id=sfenv.org.id)
    refresh = sfenv.state.issue_refresh_token(USERNAME, CONSUMER_KEY)
    tenant_id = rt.store.ensure_tenant("acme")
    account_id = rt.store.upsert_account(tenant_id, "testnet", "brand", {"secret": "s3cret"}, handle="brand")
    rt.store.set_sink_connection(tenant_id, "salesforce", _oauth_config(sfenv, refresh))
    return tenant_id, account_id, refresh


def _ingest(rt: Runtime, account_id: int, *names: str) -> None:
    found = rt.store.account(account_id)
    assert found is not None
    pipeline.ingest(rt, found[0], [make_mention(name, author=f"author-{name}") for name in names])
    assert pipeline.route(rt, "router") == len(names)


def _statuses(rt: Runtime) -> list[str]:
    with rt.db.read() as conn:
        return [r.status for r in conn.execute(select(t.deliveries.c.status).order_by(t.deliveries.c.id))]


def _posts(env: SfEnv) -> list[str]:
    """The SocialPosts in the org, by the mention they stand for (each must be there exactly once)."""
    return sorted(str(r["ExternalPostId"]) for r in env.records("SocialPost"))


def _crm(rt: Runtime) -> SinkHealth:
    [found] = rt.store.health.sinks()
    return found


def _session_ttl(env: SfEnv, seconds: int) -> None:
    """Setup > Session Settings > Timeout, through the fake's control route."""
    answer = requests.post(f"{env.base}/_sandbox/sessions/timeout", json={"seconds": seconds}, verify=env.cert,
                           timeout=10)  # fmt: skip
    assert answer.status_code == 200 and answer.json() == {"seconds": float(seconds)}


def test_a_session_expiring_mid_work_is_renewed_and_nothing_is_lost_or_doubled(
    rt: Runtime, sfenv: SfEnv, org: tuple[int, int, str], caplog: pytest.LogCaptureFixture
) -> None:
    tenant_id, account_id, _refresh = org
    state = sfenv.state
    _session_ttl(sfenv, 900)  # 15 minutes, Salesforce's shortest timeout
    _ingest(rt, account_id, "m1", "m2", "m3")
    worker = Worker(rt, owner="w1")
    assert worker.deliver_due().delivered == 3
    assert state.calls[TOKEN_GRANTS] == 1  # one refresh grant opened the session
    [first] = state.sessions.values()
    health = _crm(rt)
    assert health.last_ok_at is not None and health.last_error is None and health.needs_attention is None
    assert health.token_expires_at == (first.issued + timedelta(seconds=900)).replace(microsecond=0)
    assert health.token_expiry() in ("expires in 14 minutes", "expires in 15 minutes")

    # The org's clock passes the session's life right after the next batch's first call: its second
    # call is refused with 401 INVALID_SESSION_ID, mid-batch.
    start, seen = state.clock(), sum(state.calls.values())
    state.clock = lambda: start + (timedelta(seconds=901) if sum(state.calls.values()) > seen + 1 else timedelta(0))
    _ingest(rt, account_id, "m4", "m5", "m6")
    with caplog.at_level(logging.INFO, logger="plugin.salesforce.api"):
        tick = Worker(rt, owner="w1").deliver_due()
    assert "salesforce session expired" in caplog.text
    assert (tick.delivered, tick.retried, tick.failed) == (3, 0, 0)
    assert state.calls[TOKEN_GRANTS] == 2  # renewed once by the refresh grant, no admin needed
    assert _posts(sfenv) == ["m1", "m2", "m3", "m4", "m5", "m6"]  # none lost, none doubled
    assert _statuses(rt) == ["delivered"] * 6
    assert rt.store.health.attention(tenant_id) == []
    second = max(state.sessions.values(), key=lambda s: s.issued)
    assert second.token != first.token and first.expired
    rt.store.health.sink_failed(tenant_id, "salesforce", "forces the next success to be written")
    _ingest(rt, account_id, "m7")
    assert Worker(rt, owner="w1").deliver_due().delivered == 1
    health = _crm(rt)
    assert health.token_expires_at == (second.issued + timedelta(seconds=900)).replace(microsecond=0)
    assert health.last_ok_at is not None and health.last_error_at is not None
    assert health.last_ok_at >= health.last_error_at


def test_a_revoked_refresh_token_needs_attention_tells_once_pauses_and_reconnecting_resumes(
    rt: Runtime, sfenv: SfEnv, org: tuple[int, int, str], hook: FlakyWebhook
) -> None:
    tenant_id, account_id, refresh = org
    state = sfenv.state
    _ingest(rt, account_id, "m1")
    assert Worker(rt, owner="w1").deliver_due().delivered == 1

    # The org's admin revokes the connected app's access (Setup > Connected Apps OAuth Usage > Revoke):
    # the refresh token dies, and with it the sessions it opened.
    revoked = requests.post(f"{sfenv.base}/services/oauth2/revoke", data={"token": refresh}, verify=sfenv.cert,
                            timeout=10)  # fmt: skip
    assert revoked.status_code == 200
    state.expire_sessions(org_id=sfenv.org.id)
    grants = state.calls[TOKEN_GRANTS]
    _ingest(rt, account_id, "m2", "m3")
    tick = Worker(rt, owner="w1").deliver_due()
    assert tick.delivered == 0 and tick.failed == 0
    assert state.calls[TOKEN_GRANTS] == grants + 1  # one refused grant, not a loop
    health = _crm(rt)
    assert health.needs_attention and "expired access/refresh token" in health.needs_attention
    assert health.attention_pauses and not health.ok
    assert health.last_error and health.last_error.startswith("salesforce refused the credentials")
    assert attention.drain_notices(rt, timeout=10)
    [notice] = hook.received
    assert notice["event"] == "needs_attention" and notice["sink"] == "salesforce" and notice["tenant"] == "acme"
    assert refresh not in str(notice) and CONSUMER_SECRET not in str(notice)

    # Paused: the waiting deliveries are not attempted (no grant, no attempt counted), nobody is told twice.
    with rt.db.begin() as conn:
        conn.execute(update(t.deliveries).values(next_attempt_at=utcnow()))
    tick = Worker(rt, owner="w2").deliver_due()
    assert tick.delivered == 0 and state.calls[TOKEN_GRANTS] == grants + 1
    assert _statuses(rt) == ["delivered", "pending", "pending"]
    assert attention.drain_notices(rt, timeout=10) and len(hook.received) == 1
    lines: list[str] = []
    problems = run_doctor(rt.settings, echo=lines.append)
    assert any(p.startswith("acme/salesforce: needs attention") for p in problems), problems
    assert any("salesforce connection: last delivery" in line and "last error" in line for line in lines), lines
    client = create_app(rt).test_client()
    bearer = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    healthz = client.get("/healthz", headers=bearer).get_json()
    [crm] = healthz["crm_connections"]
    assert healthz["status"] == "degraded" and crm["sink"] == "salesforce" and crm["ok"] is False
    assert "expired access/refresh token" in crm["needs_attention"]
    metrics = client.get("/metrics", headers=bearer).get_data(as_text=True)
    assert f'horseshoe_crm_needs_attention{{sink="salesforce",tenant_id="{tenant_id}"}} 1.0' in metrics

    # The admin connects the org again (a new approval, a new refresh token): the deliveries resume at once.
    rt.store.set_sink_connection(tenant_id, "salesforce", _oauth_config(sfenv, state.issue_refresh_token(
        USERNAME, CONSUMER_KEY)))  # fmt: skip
    assert _crm(rt).needs_attention is None
    assert Worker(rt, owner="w1").deliver_due().delivered == 2
    assert _posts(sfenv) == ["m1", "m2", "m3"] and _statuses(rt) == ["delivered"] * 3
    assert attention.drain_notices(rt, timeout=10) and len(hook.received) == 1
    assert sink_target("salesforce", tenant_id) not in {a.target for a in rt.store.health.attention()}


def test_the_fake_introspects_the_tokens_of_the_app_that_asks(sfenv: SfEnv) -> None:
    state = sfenv.state
    state.register_app(CONSUMER_KEY, CONSUMER_SECRET, org_id=sfenv.org.id)
    state.register_app("3MVG9someOtherAppKey", "other-secret", org_id=sfenv.org.id)
    refresh = state.issue_refresh_token(USERNAME, CONSUMER_KEY)
    url = f"{sfenv.base}/services/oauth2/token"
    form = {"grant_type": "refresh_token", "refresh_token": refresh, "client_id": CONSUMER_KEY,
            "client_secret": CONSUMER_SECRET}  # fmt: skip
    access = requests.post(url, data=form, verify=sfenv.cert, timeout=10).json()["access_token"]

    def introspect(token: str, key: str = CONSUMER_KEY, secret: str = CONSUMER_SECRET) -> requests.Response:
        form = {"token": token, "token_type_hint": "access_token", "client_id": key, "client_secret": secret}
        return requests.post(f"{sfenv.base}/services/oauth2/introspect", data=form, verify=sfenv.cert, timeout=10)

    body = introspect(access).json()
    assert body["active"] is True and body["token_type"] == "access_token" and body["username"] == USERNAME
    assert body["exp"] - body["iat"] == int(state.session_ttl.total_seconds())
    assert introspect(refresh).json()["token_type"] == "refresh_token" and "exp" not in introspect(refresh).json()
    assert introspect(access, "3MVG9someOtherAppKey", "other-secret").json() == {"active": False}
    assert introspect(access, secret="wrong").status_code == 401
    state.expire_sessions(org_id=sfenv.org.id)
    assert introspect(access).json() == {"active": False}
    bad = requests.post(f"{sfenv.base}/_sandbox/sessions/timeout", json={"seconds": 0}, verify=sfenv.cert, timeout=10)
    assert bad.status_code == 400
