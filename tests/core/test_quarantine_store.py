"""The quarantine and health repositories on SQLite and (in CI) PostgreSQL: stored once per item,
counted per network and account, released by a retry, flags raised and claimed once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from plugin.connector import Quarantined
from plugin.models import Author, Mention
from plugin.pipeline import inbound as pipeline
from plugin.runtime import Runtime
from plugin.store.health import account_target
from plugin.store.statuses import QuarantineStatus


def _account(rt: Runtime) -> tuple[int, int]:
    tenant = rt.store.ensure_tenant("acme")
    return tenant, rt.store.upsert_account(tenant, "x", "2244994945", {"bearer_token": "b"}, handle="acme")


def test_an_item_read_twice_is_stored_once_and_counted(runtime_any: Runtime) -> None:
    rt = runtime_any
    tenant, account_id = _account(rt)
    item = Quarantined("data[1]", "data[1].lang: must be a string", {"data": [{"id": "7", "lang": ["en"]}]})
    other = Quarantined("data[2]", "data[2].id: missing", {"data": [{"lang": "en"}]})
    assert len(rt.store.quarantine.add(tenant, account_id, "x", "poll", [item, other])) == 2
    assert rt.store.quarantine.add(tenant, account_id, "x", "poll", [item]) == []  # the page was read again
    assert rt.store.quarantine.counts_by_network() == {"x": 2}
    assert rt.store.quarantine.counts_by_account() == {account_id: 2}
    newest, oldest = rt.store.quarantine.list(tenant_id=tenant)
    assert (newest.location, oldest.location) == ("data[2]", "data[1]")
    assert oldest.payload == {"data": [{"id": "7", "lang": ["en"]}]} and oldest.status == QuarantineStatus.QUARANTINED
    rt.store.quarantine.record_retry(oldest.id, released=True, outcome="parsed: 1 mention(s), 1 new")
    assert rt.store.quarantine.counts_by_network() == {"x": 1}
    released = rt.store.quarantine.get(oldest.id)
    assert released is not None and released.status == QuarantineStatus.RELEASED and released.attempts == 1
    assert rt.store.quarantine.get(oldest.id, tenant_id=tenant + 1) is None  # tenants do not see each other's
    with pytest.raises(ValueError, match="poll"):
        rt.store.quarantine.add(tenant, account_id, "x", "stream", [item])


def test_health_reads_every_fact_and_flags_are_told_once(runtime_any: Runtime) -> None:
    rt = runtime_any
    tenant, account_id = _account(rt)
    [fresh] = rt.store.health.accounts()
    assert fresh.last_poll_ok_at is None and fresh.ok and fresh.undelivered == 0
    mention = Mention(
        network="x", external_id="1", thread_id="1", author=Author(external_id="42"), text="hi",
        created_at=datetime.now(UTC), account="2244994945",
    )  # fmt: skip
    pipeline.ingest(rt, rt.store.account(account_id)[0], [mention])  # type: ignore[index]
    rt.store.health.poll_succeeded(account_id, datetime(2030, 1, 1, tzinfo=UTC))
    rt.store.health.failed(account_id, "x did not answer properly")
    target = account_target(account_id)
    assert rt.store.health.flag(target, tenant, "x refused the credentials", account_id=account_id)
    assert not rt.store.health.flag(target, tenant, "x refused the credentials again", account_id=account_id)
    assert rt.store.health.claim_notification(target) and not rt.store.health.claim_notification(target)
    [health] = rt.store.health.accounts(tenant)
    assert health.undelivered == 1 and health.oldest_undelivered_at is not None
    assert health.token_expires_at == datetime(2030, 1, 1, tzinfo=UTC)
    assert health.last_error == "x did not answer properly" and health.last_error_at is not None
    assert health.needs_attention == "x refused the credentials again" and not health.ok
    assert rt.store.health.paused_accounts() == {account_id}
    assert rt.store.health.accounts(tenant + 1) == []
    # Reconnecting (new credentials) clears the flag.
    rt.store.upsert_account(tenant, "x", "2244994945", {"bearer_token": "new"})
    assert rt.store.health.attention() == [] and rt.store.health.paused_accounts() == set()
