"""One state per account and CRM connection (plugin/healthwords.py), the most urgent first: the Zendesk
admin page, the console and doctor read these, so the rules are pinned here once."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from plugin.healthwords import account_state, sink_state, when
from plugin.store.health import AccountHealth, SinkHealth

T0 = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
FINE = AccountHealth(
    account_id=7, tenant_id=1, tenant_key="acme", network="x", external_id="1001", handle="acme", enabled=True,
    last_poll_ok_at=T0, last_webhook_ok_at=None, last_error=None, last_error_at=None, poll_failures=0, stuck=False,
    oldest_undelivered_at=None, undelivered=0, quarantined=0, token_expires_at=None, needs_attention=None,
    attention_since=None,
)  # fmt: skip
CRM = SinkHealth(
    tenant_id=1, tenant_key="acme", sink="salesforce", enabled=True, disabled_reason=None, last_ok_at=T0,
    last_error=None, last_error_at=None, token_expires_at=None, needs_attention=None, attention_since=None,
    attention_pauses=True,
)  # fmt: skip


def test_account_states_in_order_of_urgency() -> None:
    assert account_state(FINE).key == "healthy"
    assert account_state(replace(FINE, last_poll_ok_at=None)).key == "idle"
    # An error older than the last success is history; a newer one is a failing account.
    assert account_state(replace(FINE, last_error="boom", last_error_at=T0 - timedelta(minutes=1))).key == "healthy"
    failing = account_state(replace(FINE, last_error="boom", last_error_at=T0 + timedelta(minutes=1)))
    assert (failing.key, failing.label, failing.needs_admin) == ("failing", "Failing", False)
    assert "boom" in failing.detail
    assert account_state(replace(FINE, quarantined=2)).label == "2 quarantined"
    stuck = replace(FINE, stuck=True, poll_failures=4, last_error="boom", last_error_at=T0 + timedelta(minutes=1))
    assert account_state(stuck).key == "stuck"
    warned = replace(stuck, needs_attention="token expires soon", attention_pauses=False)
    assert (account_state(warned).key, account_state(warned).paused) == ("warning", False)
    paused = replace(warned, attention_pauses=True, needs_attention="x refused the credentials")
    state = account_state(paused)
    assert (state.key, state.label, state.paused, state.needs_admin) == ("attention", "Needs attention", True, True)
    assert state.detail.startswith("x refused the credentials — its polls and replies are paused")
    assert account_state(replace(paused, enabled=False)).key == "disabled"


def test_crm_connection_states() -> None:
    assert sink_state(CRM).key == "healthy"
    assert sink_state(replace(CRM, last_ok_at=None)).key == "idle"
    assert sink_state(replace(CRM, last_ok_at=None, last_error="503", last_error_at=T0)).key == "failing"
    assert sink_state(replace(CRM, last_error="503", last_error_at=T0 + timedelta(seconds=1))).key == "failing"
    refused = sink_state(replace(CRM, needs_attention="salesforce refused the credentials"))
    assert (refused.key, refused.paused) == ("attention", True) and "deliveries to it are paused" in refused.detail
    off = sink_state(replace(CRM, enabled=False, disabled_reason="uninstalled", needs_attention="x"))
    assert (off.key, off.detail) == ("disabled", "uninstalled")


def test_times_in_words() -> None:
    assert when(None) == "never"
    assert when(T0) == "2026-12-01 04:00 UTC" and when(T0, seconds=True) == "2026-12-01 04:00:00Z"
