"""Health that tells the truth, and "needs attention" (issues 12 and 15), against the X fake.

A revoked token pauses the account's polls and replies and tells the admin contact once (a real local
HTTP receiver); reconnecting clears it and the waiting reply goes out. Failing polls that leave the
cursor where it was make the account "stuck" in doctor, /healthz and /metrics.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from plugin import attention
from plugin.cli.doctor import run_doctor
from plugin.models import Reply, Visibility
from plugin.outbox import replies as outbox
from plugin.plugins import get_plugin_manager
from plugin.runtime import Runtime, build_runtime
from plugin.store import tables as t
from plugin.store.statuses import ReplyStatus
from plugin.web import create_app
from plugin.worker.loop import Worker
from sandbox.x.harness import XHarness
from tests.conftest import fast_settings
from tests.triage.test_escalation import FlakyWebhook

TOKEN = "metrics-token-for-the-test"


@pytest.fixture
def x() -> Iterator[XHarness]:
    harness = XHarness()
    harness.start()
    harness.reset()
    yield harness
    harness.stop()


@pytest.fixture
def admin_hook() -> Iterator[FlakyWebhook]:
    hook = FlakyWebhook(failures=1)  # the first notice attempt fails: it is retried, and still sent once
    yield hook
    hook.stop()


@pytest.fixture
def rt(tmp_path: Path, admin_hook: FlakyWebhook) -> Iterator[Runtime]:
    settings = fast_settings(str(tmp_path), admin_webhook_url=admin_hook.url, metrics_token=TOKEN)
    runtime = build_runtime(settings, pm=get_plugin_manager(load_entry_points=False))
    yield runtime
    runtime.db.dispose()


def _connect(rt: Runtime, x: XHarness, *, bad: bool = False) -> int:
    context = x.account(bad_credentials=bad)
    tenant = rt.store.ensure_tenant("acme")
    return rt.store.upsert_account(
        tenant, "x", context.external_id, dict(context.credentials), handle=context.handle,
        settings=dict(context.settings), api_base=context.api_base,
    )  # fmt: skip


def _poll(rt: Runtime, worker: Worker) -> int:
    rt.store.brand_accounts.wake_polls()
    return worker.poll_due().polled


def test_revoked_token_pauses_the_account_tells_the_admin_once_and_reconnecting_resumes(
    rt: Runtime, x: XHarness, admin_hook: FlakyWebhook
) -> None:
    account_id = _connect(rt, x)
    worker = Worker(rt, owner="test")
    assert _poll(rt, worker) == 1  # the first poll starts "now"
    mention_id = x.inject_public("where is my parcel?")
    assert _poll(rt, worker) == 1
    reply = Reply(
        network="x", account=x.brand_id, text="Checking now!", in_reply_to=mention_id, thread_id=mention_id,
        recipient_id=x.customer_id, visibility=Visibility.PUBLIC, idempotency_key="attention-1",
    )  # fmt: skip

    # The token is revoked: the next poll is refused.
    _connect(rt, x, bad=True)
    assert _poll(rt, worker) == 1
    [health] = rt.store.health.accounts()
    assert health.needs_attention and "refused the credentials" in health.needs_attention
    assert attention.drain_notices(rt, timeout=10)
    [notice] = admin_hook.received
    assert notice["event"] == "needs_attention" and notice["account_id"] == account_id
    assert notice["tenant"] == "acme" and notice["during"] == "poll"
    assert "not-a-token" not in str(notice) and x.account().credentials["bearer_token"] not in str(notice)
    assert admin_hook.statuses == [500, 204]  # retried after a failure, delivered once

    # Paused: no more polls, a reply waits instead of failing, and the admin is not told again.
    assert _poll(rt, worker) == 0
    state = outbox.enqueue(rt, health.tenant_id, account_id, reply, "test")
    assert outbox.drain(rt, "test") == 0
    assert rt.store.outbox.get(state.id).status == ReplyStatus.PENDING
    assert rt.store.outbox.get(state.id).attempts == 0
    attention.account_refused(rt, account_id, _auth_error(), "reply")
    assert attention.drain_notices(rt, timeout=10) and len(admin_hook.received) == 1

    lines: list[str] = []
    assert any("needs attention" in p for p in run_doctor(rt.settings, echo=lines.append))
    metrics = _metrics(rt)
    assert 'horseshoe_account_needs_attention{account_id="1",network="x"} 1.0' in metrics

    # Reconnected with good credentials: cleared, polled at once, the waiting reply goes out.
    _connect(rt, x)
    [health] = rt.store.health.accounts()
    assert health.needs_attention is None
    assert worker.poll_due().polled == 1
    assert outbox.drain(rt, "test") == 1
    assert rt.store.outbox.get(state.id).status == ReplyStatus.SENT
    assert [p.text for p in x.posted()] == ["Checking now!"]


def test_a_reply_refused_for_its_credentials_waits_instead_of_failing(rt: Runtime, x: XHarness) -> None:
    account_id = _connect(rt, x, bad=True)
    reply = Reply(
        network="x", account=x.brand_id, text="Hello", in_reply_to="1", thread_id="1",
        recipient_id=x.customer_id, visibility=Visibility.PUBLIC, idempotency_key="attention-2",
    )  # fmt: skip
    state = outbox.enqueue(rt, rt.store.tenant_id("acme") or 0, account_id, reply, "test")
    result = outbox.attempt(rt, state.id, "test")
    assert result.status == ReplyStatus.PENDING and result.error and "refused the credentials" in result.error
    assert rt.store.health.attention()[0].account_id == account_id
    assert x.posted() == []


def test_failing_polls_make_the_cursor_stuck_in_doctor_healthz_and_metrics(rt: Runtime, x: XHarness) -> None:
    _connect(rt, x)
    worker = Worker(rt, owner="test")
    assert _poll(rt, worker) == 1
    cursor = rt.store.brand_accounts.cursor(1).cursor
    x.plan.configure(rate_5xx=1.0)
    for _ in range(rt.settings.stuck_after_polls):
        assert _poll(rt, worker) == 1
    assert rt.store.brand_accounts.cursor(1).cursor == cursor
    [health] = rt.store.health.accounts(stuck_after=rt.settings.stuck_after_polls)
    assert health.stuck and health.poll_failures == 3 and health.last_error
    assert "did not answer properly" in health.last_error
    lines: list[str] = []
    problems = run_doctor(rt.settings, echo=lines.append)
    assert any("stuck: 3 polls failed in a row" in p for p in problems), lines
    client = create_app(rt).test_client()
    assert client.get("/healthz").get_json() == {"status": "ok"}  # anonymous: nothing more (issue 10)
    detail = client.get("/healthz", headers={"Authorization": f"Bearer {TOKEN}"}).get_json()
    assert detail["status"] == "degraded"
    [account] = detail["accounts"]
    assert account["stuck"] is True and account["poll_failures"] == 3 and account["last_poll_ok_at"]
    assert 'horseshoe_account_stuck{account_id="1",network="x"} 1.0' in _metrics(rt)

    x.plan.configure(rate_5xx=0.0)
    assert _poll(rt, worker) == 1
    [health] = rt.store.health.accounts()
    assert not health.stuck and health.ok
    assert client.get("/healthz", headers={"Authorization": f"Bearer {TOKEN}"}).get_json()["status"] == "ok"


def test_oldest_undelivered_mention_is_reported(rt: Runtime, x: XHarness) -> None:
    _connect(rt, x)
    worker = Worker(rt, owner="test")
    _poll(rt, worker)
    x.inject_public("first")
    _poll(rt, worker)
    [health] = rt.store.health.accounts()
    assert health.undelivered == 1 and health.oldest_undelivered_at is not None
    assert "horseshoe_account_oldest_undelivered_timestamp_seconds" in _metrics(rt)


def _metrics(rt: Runtime) -> str:
    client = create_app(rt).test_client()
    return client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).get_data(as_text=True)


def _auth_error() -> Exception:
    from plugin.errors import AuthError

    return AuthError("401 Unauthorized")


def test_a_crm_refusing_its_credentials_pauses_deliveries_until_they_are_updated(tmp_path: Path) -> None:
    """Zendesk refuses the push token (the instance was deactivated): the connection needs attention,
    nothing more is pushed, and updating the connection resumes the delivery at once."""
    from datetime import UTC, datetime

    from plugin.models import Author, Mention
    from plugin.pipeline import inbound as pipeline
    from plugin.store.statuses import DeliveryStatus
    from plugin.zendesk.instances import instances
    from sandbox.demo.run import SUBDOMAIN, build_world

    world = build_world(str(tmp_path), 0, 1)
    try:
        rt = world.runtime
        tenant = rt.store.tenant_id(SUBDOMAIN)
        assert tenant is not None
        config = rt.store.sink_connection(tenant, "zendesk")
        assert config is not None
        for instance in instances(config):
            world.zd_state.deactivate_instance(instance.push_id)
        [account] = rt.store.accounts(tenant)
        mention = Mention(
            network="x", external_id="1900000000000000001", thread_id="1900000000000000001",
            author=Author(external_id="4242", handle="ann"), text="my order is late",
            created_at=datetime.now(UTC), account=account.external_id,
        )  # fmt: skip
        pipeline.ingest(rt, account, [mention])
        pipeline.route(rt, "test")
        assert world.worker.deliver_due().retried == 1
        [flag] = rt.store.health.attention(tenant)
        assert flag.sink == "zendesk" and "refused the credentials" in flag.reason
        lines: list[str] = []
        assert any("zendesk: needs attention" in p for p in run_doctor(rt.settings, echo=lines.append))

        rt.store.deliveries.wake(tenant, "zendesk")  # due again: still paused, Zendesk is not called
        assert world.worker.deliver_due().retried == 1
        with rt.db.read() as conn:
            error = conn.execute(select(t.deliveries.c.last_error)).scalar_one()
        assert error.startswith("needs attention: zendesk refused the credentials")  # paused, not pushed

        for instance in instances(config):
            world.zd_state.find_instance(instance.push_id)[1].active = True  # type: ignore[index]
        rt.store.set_sink_connection(tenant, "zendesk", config)  # the admin updated the connection
        assert rt.store.health.attention(tenant) == []
        assert world.worker.deliver_due().delivered == 1
        with rt.db.read() as conn:
            assert conn.execute(select(t.deliveries.c.status)).scalar_one() == DeliveryStatus.DELIVERED
    finally:
        world.stop()
