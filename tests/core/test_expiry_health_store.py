"""Token-expiry warnings and CRM connection health in the store, on SQLite and (in CI) PostgreSQL
(issue 15): a warning pauses nothing, a refusal turns it into a pausing flag (a new flag, told
again), a warning never softens a pause; each CRM connection's last success, last error and session
expiry, per tenant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from plugin.runtime import Runtime
from plugin.store.health import account_target, sink_target


def test_a_warning_pauses_nothing_and_a_refusal_turns_it_into_a_new_pausing_flag(runtime_any: Runtime) -> None:
    rt = runtime_any
    health = rt.store.health
    tenant = rt.store.ensure_tenant("acme")
    account_id = rt.store.upsert_account(tenant, "facebook", "1000000001", {"page_access_token": "t"})
    target = account_target(account_id)
    assert health.flag(target, tenant, "expires on 2027-03-01", account_id=account_id, pauses=False)
    warned = health.attention_of(target)
    assert warned is not None and not warned.pauses
    assert health.paused(target) is None and health.paused_accounts() == set()
    assert not health.flag(target, tenant, "expires on 2027-03-02", account_id=account_id, pauses=False)
    assert health.claim_notification(target)  # the warning's notice
    [row] = health.accounts()
    assert row.needs_attention == "expires on 2027-03-02" and not row.attention_pauses

    assert health.flag(target, tenant, "refused (code 190)", account_id=account_id)  # a new flag: told again
    paused = health.paused(target)
    assert paused is not None and paused.reason == "refused (code 190)" and paused.notified_at is None
    assert paused.since >= warned.since and health.paused_accounts() == {account_id}
    assert not health.flag(target, tenant, "expires on 2027-03-01", account_id=account_id, pauses=False)
    still = health.paused(target)
    assert still is not None and still.reason == "refused (code 190)"  # a warning never softens a pause
    [row] = health.accounts()
    assert row.attention_pauses and row.needs_attention == "refused (code 190)"


def test_each_crm_connection_has_its_own_health(runtime_any: Runtime) -> None:
    rt = runtime_any
    health = rt.store.health
    acme, globex = rt.store.ensure_tenant("acme"), rt.store.ensure_tenant("globex")
    rt.store.set_sink_connection(acme, "salesforce", {"auth": "oauth"})
    rt.store.set_sink_connection(globex, "salesforce", {"auth": "oauth"})
    rt.store.set_sink_connection(globex, "zendesk", {"subdomain": "globex"})
    expires = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    health.sink_succeeded(acme, "salesforce", expires)
    health.sink_succeeded(acme, "salesforce", expires + timedelta(hours=2))  # within the mark: not written
    health.sink_failed(globex, "salesforce", "salesforce did not answer properly (temporary)")
    health.flag(sink_target("salesforce", globex), globex, "salesforce refused the credentials", sink="salesforce")
    rt.store.disable_sink_connection(globex, "zendesk", "integration instance removed in Zendesk")

    a, g_sf, g_zd = health.sinks()
    assert (a.tenant_key, a.sink, a.ok, a.token_expires_at, a.last_error) == ("acme", "salesforce", True, expires, None)
    assert a.last_ok_at is not None and a.needs_attention is None
    assert (g_sf.tenant_key, g_sf.last_ok_at, g_sf.ok) == ("globex", None, False)
    assert g_sf.last_error == "salesforce did not answer properly (temporary)" and g_sf.last_error_at is not None
    assert g_sf.needs_attention == "salesforce refused the credentials" and g_sf.attention_pauses
    assert (g_zd.sink, g_zd.enabled) == ("zendesk", False)
    assert g_zd.disabled_reason == "integration instance removed in Zendesk"
    assert [h.sink for h in health.sinks(acme)] == ["salesforce"]  # a tenant sees only its own
    # A failure makes the next success count at once, whatever the mark.
    health.sink_failed(acme, "salesforce", "salesforce refused the request: oops")
    health.sink_succeeded(acme, "salesforce", expires + timedelta(hours=4))
    [again] = health.sinks(acme)
    assert again.token_expires_at == expires + timedelta(hours=4) and again.last_error_at is not None
    assert again.last_ok_at is not None and again.last_ok_at >= again.last_error_at
    rt.store.set_sink_connection(globex, "salesforce", {"auth": "oauth", "refresh_token": "new"})
    assert [h.needs_attention for h in health.sinks(globex)] == [None, None]
