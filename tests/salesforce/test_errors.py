"""Salesforce errors surface with their codes: in check() (doctor), outcomes, delivery rows and logs."""

from __future__ import annotations

import logging

import pluggy
import pytest
from sqlalchemy import select

from plugin.errors import AuthError, RateLimited, RetriableError
from plugin.models import Match
from plugin.pipeline import inbound as pipeline
from plugin.plugins import get_plugin_manager
from plugin.runtime import Runtime, build_runtime
from plugin.salesforce.sink import SalesforceSink
from plugin.store import tables as t
from plugin.worker.loop import Worker
from tests.conftest import fast_settings
from tests.support.netplugin import TestNetPlugin, make_mention

from .conftest import SfEnv, connection, item

hookimpl = pluggy.HookimplMarker("horseshoe")


def test_check_passes_on_a_healthy_org(sink: SalesforceSink, sfenv: SfEnv) -> None:
    assert sink.check(connection(sfenv)) == []


def test_check_reports_social_disabled_with_code(sink: SalesforceSink, sfenv: SfEnv) -> None:
    sfenv.state.set_social_enabled(False, org_id=sfenv.org.id)
    problems = sink.check(connection(sfenv))
    assert any("SocialPost is not accessible" in p and "NOT_FOUND" in p for p in problems), problems
    assert any("SocialPersona" in p for p in problems)


def test_check_reports_bad_password(sink: SalesforceSink, sfenv: SfEnv) -> None:
    [problem] = sink.check(connection(sfenv, password="wrong"))
    assert "INVALID_LOGIN" in problem


def test_check_reports_expired_session_id(sink: SalesforceSink, sfenv: SfEnv) -> None:
    token = sfenv.state.open_session(sfenv.user).token
    sfenv.state.expire_sessions(org_id=sfenv.org.id)
    cfg = {"auth": "session", "instance_url": sfenv.base, "session_id": token, "ca_bundle": sfenv.cert}
    from plugin.sink import SinkConnection

    [problem] = sink.check(SinkConnection(1, "acme", "salesforce", cfg))
    assert "INVALID_SESSION_ID" in problem


def test_expired_session_logs_in_again_once(sink: SalesforceSink, sfenv: SfEnv) -> None:
    conn = connection(sfenv)
    assert sink.deliver(conn, [item(make_mention("m1"))])[0].status == "delivered"
    logins = sfenv.state.calls["POST /services/Soap/u/<version>"]
    sfenv.state.expire_sessions(org_id=sfenv.org.id)
    assert sink.deliver(conn, [item(make_mention("m2"))])[0].status == "delivered"
    assert sfenv.state.calls["POST /services/Soap/u/<version>"] == logins + 1


def test_request_limit_exceeded_is_rate_limited(sink: SalesforceSink, sfenv: SfEnv) -> None:
    sfenv.state.set_api_limit(50, used=50, org_id=sfenv.org.id)
    with pytest.raises(RateLimited) as info:
        sink.deliver(connection(sfenv), [item(make_mention("m1"))])
    assert info.value.code == "DAILY_LIMIT_EXCEEDED"
    assert any("daily API allocation is used up" in p for p in sink.check(connection(sfenv)))


def test_stops_at_the_configured_share_of_the_daily_limit(sink: SalesforceSink, sfenv: SfEnv) -> None:
    # A new customer's mention costs two calls (look-ups, then the writes): the first reaches 900.
    sfenv.state.set_api_limit(1000, used=899, org_id=sfenv.org.id)
    conn = connection(sfenv, max_api_share=0.9, limit_wait_seconds=120)
    with pytest.raises(RateLimited) as info:
        sink.deliver(conn, [item(make_mention("m1"))])
    assert info.value.code == "API_SHARE_EXCEEDED"
    assert info.value.retry_after is not None and 119 < info.value.retry_after <= 120 + 1e-6
    # Stopped mid-way at the share, far from the org's real limit.
    assert sfenv.org.api_used < 905
    default = connection(sfenv, max_api_share=0.99)
    assert sink.deliver(default, [item(make_mention("m1"))])[0].status == "delivered"


def test_share_guard_lifts_once_the_wait_is_over(sink: SalesforceSink, sfenv: SfEnv) -> None:
    sfenv.state.set_api_limit(1000, used=899, org_id=sfenv.org.id)  # the look-ups reach 900
    conn = connection(sfenv, max_api_share=0.9, limit_wait_seconds=0)
    with pytest.raises(RateLimited):
        sink.deliver(conn, [item(make_mention("m1"))])
    sfenv.state.set_api_limit(1000, used=0, org_id=sfenv.org.id)  # a new day at Salesforce
    # The same cached client lets one call through after the wait, sees the new usage, carries on.
    assert sink.deliver(conn, [item(make_mention("m1"))])[0].status == "delivered"


def test_server_errors_are_retriable(sink: SalesforceSink, sfenv: SfEnv) -> None:
    conn = connection(sfenv)
    sfenv.plan.configure(scripted=[500])
    assert "500" in sink.check(conn)[0]  # a failing login host is reported, and retriable
    assert sink.check(conn) == []
    sfenv.plan.configure(scripted=[503])
    with pytest.raises(RetriableError) as info:
        sink.deliver(conn, [item(make_mention("m1"))])
    assert info.value.code == "SERVER_UNAVAILABLE"
    assert sink.deliver(conn, [item(make_mention("m1"))])[0].status == "delivered"


def test_session_auth_expired_is_auth_error(sink: SalesforceSink, sfenv: SfEnv) -> None:
    token = sfenv.state.open_session(sfenv.user).token
    sfenv.state.expire_sessions(org_id=sfenv.org.id)
    cfg = {"auth": "session", "instance_url": sfenv.base, "session_id": token, "ca_bundle": sfenv.cert}
    from plugin.sink import SinkConnection

    with pytest.raises(AuthError) as info:
        sink.deliver(SinkConnection(1, "acme", "salesforce", cfg), [item(make_mention("m1"))])
    assert info.value.code == "INVALID_SESSION_ID"


def _deliveries(rt: Runtime) -> list[object]:
    with rt.db.begin() as conn:
        return list(conn.execute(select(t.deliveries).order_by(t.deliveries.c.id)).all())


def test_errors_reach_the_delivery_row_and_logs(
    rt: Runtime, tenant: tuple[int, int], sfenv: SfEnv, caplog: pytest.LogCaptureFixture
) -> None:
    tenant_id, account_id = tenant
    rt.store.set_sink_connection(tenant_id, "salesforce", sfenv.config(case_origin="Carrier pigeon"))
    account = rt.store.account(account_id)
    assert account is not None
    pipeline.ingest(rt, account[0], [make_mention("m1", author="u1")])
    worker = Worker(rt)
    with caplog.at_level(logging.WARNING):
        worker.run_once()
    [row] = _deliveries(rt)
    assert row.status == "failed" and "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" in row.last_error  # type: ignore[attr-defined]
    assert "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" in caplog.text
    # SocialPost switched off: the SOQL look-up fails with Salesforce's INVALID_TYPE.
    sfenv.state.set_social_enabled(False, org_id=sfenv.org.id)
    rt.store.set_sink_connection(tenant_id, "salesforce", sfenv.config())
    pipeline.ingest(rt, account[0], [make_mention("m2", author="u2")])
    worker.run_once()
    row = _deliveries(rt)[1]
    assert row.status == "failed" and "INVALID_TYPE" in row.last_error  # type: ignore[attr-defined]


class _Resolver:
    def __init__(self, contact_id: str):
        self.contact_id = contact_id

    @hookimpl
    def horseshoe_resolve_identity(self, profile: object, sink: str) -> Match | None:
        if sink != "salesforce":
            return None
        return Match(sink="salesforce", record_id=self.contact_id, record_type="Contact", confidence=1.0)


def test_worker_passes_identity_match_to_the_sink(tmp_path: object, sfenv: SfEnv) -> None:
    contact = sfenv.admin().Contact.create({"LastName": "Known"})["id"]
    pm = get_plugin_manager(extra_plugins=[("testnet", TestNetPlugin()), ("resolver", _Resolver(contact))])
    rt = build_runtime(fast_settings(str(tmp_path)), pm=pm)
    tenant_id = rt.store.ensure_tenant("acme")
    account_id = rt.store.upsert_account(tenant_id, "testnet", "brand", {"secret": "s"}, handle="brand")
    rt.store.set_sink_connection(tenant_id, "salesforce", sfenv.config())
    found = rt.store.account(account_id)
    assert found is not None
    pipeline.ingest(rt, found[0], [make_mention("m1", author="u1")])
    Worker(rt).run_once()
    [persona] = sfenv.records("SocialPersona")
    assert persona["ParentId"] == contact and len(sfenv.records("Contact")) == 1
    rt.db.dispose()
