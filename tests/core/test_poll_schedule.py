"""When each account is polled next, and which accounts are not polled at all (mutation testing,
issue 12): a disabled account, one whose network has no connector and one whose credentials were
refused are not polled and looked at again in an hour; a poll the network refused for good waits at
least 15 minutes, one the network asked to slow down waits its Retry-After, a healthy one its own
interval; ``wake_polls`` makes every account and every CRM's reply poll due now."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest
from sqlalchemy import update

from plugin import attention
from plugin.connector import PollPage, item_boundary
from plugin.errors import AuthError, FatalError, RetriableError
from plugin.runtime import Runtime
from plugin.store import tables as t
from plugin.store.db import utcnow
from plugin.worker.loop import Worker
from tests.support.netplugin import TestNetPlugin, make_mention


def _next_poll(rt: Runtime, account_id: int) -> datetime:
    when = rt.store.brand_accounts.cursor(account_id).next_poll_at
    assert when is not None
    return when


def _about(when: datetime, expected: datetime, slack: float = 30.0) -> bool:
    return abs((when - expected).total_seconds()) <= slack


def test_accounts_that_cannot_be_polled_are_not_polled_and_looked_at_again_in_an_hour(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin
) -> None:
    tenant_id, account_id = tenant
    disabled = rt.store.upsert_account(tenant_id, "testnet", "paused-brand", {}, handle="paused")
    with rt.db.begin() as conn:
        conn.execute(update(t.accounts).where(t.accounts.c.id == disabled).values(enabled=False))
    orphan = rt.store.upsert_account(tenant_id, "uninstalled-network", "old-brand", {}, handle="old")
    refused = rt.store.upsert_account(tenant_id, "testnet", "refused-brand", {}, handle="refused")
    attention.account_refused(rt, refused, AuthError("token revoked"), "poll")
    testnet.connector.pages = [PollPage(mentions=[make_mention("1")], cursor="c1")]

    tick = Worker(rt).poll_due()

    assert tick.polled == 1 and tick.ingested == 1
    assert testnet.connector.polled_with == [None]  # only the healthy account reached the network
    assert rt.store.brand_accounts.cursor(account_id).cursor == "c1"
    an_hour = utcnow() + timedelta(hours=1)
    for waiting in (disabled, orphan, refused):
        assert _about(_next_poll(rt, waiting), an_hour), waiting
        assert rt.store.brand_accounts.cursor(waiting).cursor is None


def test_a_poll_refused_for_good_waits_a_quarter_of_an_hour(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin
) -> None:
    _tenant_id, account_id = tenant
    testnet.connector.poll_fail_next.append(FatalError("app suspended"))
    tick = Worker(rt).poll_due()
    assert tick.polled == 1 and len(tick.errors) == 1 and "app suspended" in tick.errors[0]
    row = rt.store.brand_accounts.cursor(account_id)
    assert row.failures == 1 and row.last_error == "app suspended"
    assert _about(_next_poll(rt, account_id), utcnow() + timedelta(seconds=900), slack=5)


def test_wake_polls_makes_every_account_and_every_crm_reply_poll_due(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin
) -> None:
    tenant_id, account_id = tenant
    rt.store.set_sink_connection(tenant_id, "zendesk", {"subdomain": "acme"})
    rt.store.tenants.schedule_reply_poll(tenant_id, "zendesk", None, seconds=3600)
    worker = Worker(rt)
    worker.poll_due()  # the account's next poll is an interval away now
    assert _next_poll(rt, account_id) > utcnow()
    worker.wake_polls()
    assert _next_poll(rt, account_id) <= utcnow()
    [connection] = [c for c in rt.store.tenants.connections() if c.tenant_id == tenant_id]
    assert connection.next_reply_poll_at is not None and connection.next_reply_poll_at <= utcnow()


def test_the_accounts_own_interval_and_the_networks_retry_after_set_the_next_poll(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin
) -> None:
    _tenant_id, account_id = tenant
    rt.store.update_account_settings(account_id, {"poll_interval_seconds": 600})
    worker = Worker(rt)
    worker.poll_due()
    assert _about(_next_poll(rt, account_id), utcnow() + timedelta(seconds=600), slack=5)  # not the network's 1 s

    testnet.connector.poll_fail_next.append(RetriableError("429 too many requests", retry_after=120))
    worker.wake_polls()
    worker.poll_due()
    assert _about(_next_poll(rt, account_id), utcnow() + timedelta(seconds=120), slack=5)
    assert rt.store.brand_accounts.cursor(account_id).failures == 1


def test_a_connector_bug_is_logged_with_its_traceback_and_a_known_error_is_not(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin, caplog: pytest.LogCaptureFixture
) -> None:
    worker = Worker(rt)
    testnet.connector.poll_fail_next.append(FatalError("app suspended"))
    with caplog.at_level(logging.ERROR, logger="plugin.worker.loop"):
        worker.poll_due()
    assert not [r for r in caplog.records if r.exc_info]  # the admin sees it in health; no traceback
    testnet.connector.poll_fail_next.append(KeyError("lang"))
    worker.wake_polls()
    with caplog.at_level(logging.ERROR, logger="plugin.worker.loop"):
        worker.poll_due()
    [record] = [r for r in caplog.records if r.exc_info]
    assert "failed unexpectedly" in record.getMessage() and record.exc_info and record.exc_info[0] is KeyError


def test_a_poison_item_in_a_polled_page_is_quarantined_and_the_cursor_moves_past_it(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin
) -> None:
    tenant_id, account_id = tenant
    raw = [{"id": "1", "text": "hi"}, {"id": 55, "lang": ["en"]}, {"id": "3", "text": "still here"}]

    def poll(account: object, cursor: str | None) -> PollPage:
        # The test network reads its page item by item, as every connector does.
        mentions = []
        for n, item in enumerate(raw):
            with item_boundary(f"items[{n}]", {"items": [item]}):
                if not isinstance(item["id"], str):
                    raise ValueError(f"id must be a string, got {item['id']!r}")
                mentions.append(make_mention(item["id"], text=str(item["text"])))
        return PollPage(mentions=mentions, cursor="after-page-1")

    testnet.connector.poll = poll  # type: ignore[method-assign]
    tick = Worker(rt).poll_due()

    assert tick.ingested == 2 and not tick.errors
    assert rt.store.brand_accounts.cursor(account_id).cursor == "after-page-1"
    [held] = rt.store.quarantine.list(tenant_id=tenant_id)
    assert (held.account_id, held.network, held.source, held.location) == (account_id, "testnet", "poll", "items[1]")
    assert held.payload == {"items": [raw[1]]} and "id must be a string" in held.error
    # The same page read again (a crash before the cursor was saved): nothing new, nothing held twice.
    worker = Worker(rt)
    worker.wake_polls()
    again = worker.poll_due()
    assert (again.ingested, again.duplicates) == (0, 2)
    assert len(rt.store.quarantine.list(tenant_id=tenant_id)) == 1


def test_reconnecting_a_refused_account_makes_only_that_account_due_now(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin
) -> None:
    tenant_id, account_id = tenant
    other = rt.store.upsert_account(tenant_id, "testnet", "other-brand", {"secret": "s"}, handle="other")
    attention.account_refused(rt, account_id, AuthError("token revoked"), "poll")
    Worker(rt).poll_due()  # both are looked at: the refused one in an hour, the other after its interval
    assert _next_poll(rt, account_id) > utcnow() and _next_poll(rt, other) > utcnow()

    rt.store.upsert_account(tenant_id, "testnet", "brand", {"secret": "new-s3cret"}, handle="brand")

    assert _next_poll(rt, account_id) <= utcnow()  # the admin fixed it: polled again now, not in an hour
    assert _next_poll(rt, other) > utcnow()


def test_a_poll_that_outlived_its_lease_never_writes_over_the_poll_that_took_over(
    rt: Runtime, tenant: tuple[int, int]
) -> None:
    _tenant_id, account_id = tenant
    accounts = rt.store.brand_accounts
    assert accounts.claim_due_polls("slow", 10, lease_seconds=60) == [account_id]
    assert accounts.claim_due_polls("fast", 10, lease_seconds=60) == []  # held
    assert accounts.renew_polls("slow", [account_id], lease_seconds=60) == {account_id}
    assert accounts.renew_polls("fast", [account_id], lease_seconds=60) == set()
    with rt.db.begin() as conn:  # the slow poll stalled past its lease
        conn.execute(
            update(t.poll_cursors)
            .where(t.poll_cursors.c.account_id == account_id)
            .values(lease_until=utcnow() - timedelta(seconds=1))
        )
    assert accounts.claim_due_polls("fast", 10, lease_seconds=60) == [account_id]
    assert accounts.renew_polls("slow", [account_id], lease_seconds=60) == set()  # lost, not renewed back
    assert accounts.release_cursor(account_id, next_poll=utcnow(), owner="fast", cursor="page-2") is True

    late = accounts.release_cursor(account_id, next_poll=utcnow(), owner="slow", cursor="page-1", failures=0)

    assert late is False
    assert accounts.cursor(account_id).cursor == "page-2"  # not moved back to what the slow poll read
