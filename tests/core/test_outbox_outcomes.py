"""What each outcome of a reply's attempt leaves behind (mutation testing, issue 12): the row's status
and reason, what reached the network (and by which call), the account's rate budget, the deleted
post it answered, and the two rows of a ``#handoff``. ``tests/core/test_outbox.py`` holds the
at-most-once promises; these are the other branches of ``plugin.outbox.replies.attempt``."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import update

from plugin import metrics
from plugin.connector import AccountContext
from plugin.errors import AuthError, FatalError, OriginalDeleted, RateLimited, RetriableError
from plugin.models import Attachment, Limits, PostResult, Reply, Visibility
from plugin.outbox import handoff
from plugin.outbox import replies as outbox
from plugin.pipeline import notices
from plugin.runtime import Runtime
from plugin.store import tables as t
from plugin.store.db import as_utc, utcnow
from plugin.store.statuses import ReplyStatus
from tests.support.netplugin import TestNetPlugin, make_mention


def _reply(key: str, text: str = "thanks!", **changes: object) -> Reply:
    reply = Reply(network="testnet", account="brand", text=text, in_reply_to="1", idempotency_key=key)
    return reply.model_copy(update=changes)


def _send(rt: Runtime, tenant: tuple[int, int], reply: Reply, source: str = "salesforce") -> outbox.ReplyState:
    state = outbox.enqueue(rt, tenant[0], tenant[1], reply, source)
    return outbox.attempt(rt, state.id, "w")


def _next_attempt_in(rt: Runtime, reply_id: int) -> float:
    with rt.db.read() as conn:
        when = conn.execute(t.replies.select().where(t.replies.c.id == reply_id)).one().next_attempt_at
    return (as_utc(when) - utcnow()).total_seconds()


def _sent_privately(testnet: TestNetPlugin) -> list[Reply]:
    """Records which replies went through ``send_private`` (the test network's two calls are one)."""
    private: list[Reply] = []
    post = testnet.connector.post_reply

    def send_private(context: AccountContext, reply: Reply) -> PostResult:
        private.append(reply)
        return post(context, reply)

    testnet.connector.send_private = send_private  # type: ignore[method-assign]
    return private


def test_a_reply_without_its_account_or_its_network_fails_and_posts_nothing(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin
) -> None:
    tenant_id, account_id = tenant
    state = outbox.enqueue(rt, tenant_id, account_id, _reply("k1"), "salesforce")
    with rt.db.begin() as conn:  # the account was removed meanwhile (the row keeps no account)
        conn.execute(update(t.replies).where(t.replies.c.id == state.id).values(account_id=None))
    result = outbox.attempt(rt, state.id, "w")
    assert (result.status, result.error) == (ReplyStatus.FAILED, "account no longer connected")
    assert rt.store.outbox.get(state.id).status == ReplyStatus.FAILED

    orphan = rt.store.upsert_account(tenant_id, "uninstalled", "old-brand", {}, handle="old")
    state = outbox.enqueue(rt, tenant_id, orphan, _reply("k2", network="uninstalled"), "salesforce")
    result = outbox.attempt(rt, state.id, "w")
    assert result.status == ReplyStatus.FAILED and result.error == "no connector installed for 'uninstalled'"
    row = rt.store.outbox.get(state.id)
    assert row.status == ReplyStatus.FAILED and row.last_error == result.error
    assert testnet.connector.posted == []


def test_a_reply_someone_else_is_sending_is_answered_with_its_state(rt: Runtime, tenant: tuple[int, int]) -> None:
    state = outbox.enqueue(rt, tenant[0], tenant[1], _reply("k1"), "salesforce")
    assert rt.store.outbox.take(state.id, "other", lease_seconds=60)
    assert outbox.attempt(rt, state.id, "w") == outbox.ReplyState(id=state.id, status=ReplyStatus.SENDING)


def test_an_idempotency_key_of_another_tenant_is_refused(rt: Runtime, tenant: tuple[int, int]) -> None:
    outbox.enqueue(rt, tenant[0], tenant[1], _reply("shared"), "salesforce")
    other = rt.store.ensure_tenant("other")
    with pytest.raises(FatalError, match="another tenant") as err:
        outbox.enqueue(rt, other, tenant[1], _reply("shared"), "salesforce")
    assert err.value.code == "key_conflict"


def test_a_malformed_handoff_fails_with_the_reason_and_posts_nothing(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin
) -> None:
    result = _send(rt, tenant, _reply("h1", "#handoff only an acknowledgement"))
    assert result.status == ReplyStatus.FAILED and result.error and "#handoff" in result.error
    row = rt.store.outbox.get(result.id)
    assert (row.status, row.last_error) == (ReplyStatus.FAILED, result.error)
    assert testnet.connector.posted == []


def test_private_replies_go_through_send_private_and_public_ones_through_post_reply(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin
) -> None:
    private = _sent_privately(testnet)
    dm = _reply("dm", "psst", recipient_id="u1", visibility=Visibility.PRIVATE)
    assert _send(rt, tenant, dm).status == ReplyStatus.SENT
    assert _send(rt, tenant, _reply("public")).status == ReplyStatus.SENT
    assert [r.text for r in private] == ["psst"] and [r.text for r in testnet.connector.posted] == ["psst", "thanks!"]


def test_a_public_reply_to_a_deleted_post_is_held_and_other_replies_go_out(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin
) -> None:
    tenant_id, account_id = tenant
    for external_id in ("gone", "here"):
        rt.store.inbox.insert(tenant_id, account_id, make_mention(external_id))
    rt.store.inbox.apply_event(tenant_id, make_mention("gone").model_copy(update={"event": "deleted"}))

    held = _send(rt, tenant, _reply("k1", in_reply_to="gone"))
    assert (held.status, held.error) == (ReplyStatus.HELD, notices.held_reason("testnet"))
    assert rt.store.outbox.get(held.id).status == ReplyStatus.HELD
    assert testnet.connector.posted == []
    # Answering a post that is still there, none at all, or privately: posted.
    assert _send(rt, tenant, _reply("k2", in_reply_to="here")).status == ReplyStatus.SENT
    assert _send(rt, tenant, _reply("k3", in_reply_to=None)).status == ReplyStatus.SENT
    dm = _reply("k4", in_reply_to="gone", recipient_id="u1", visibility=Visibility.PRIVATE)
    assert _send(rt, tenant, dm).status == ReplyStatus.SENT
    assert len(testnet.connector.posted) == 3


def test_a_post_the_network_says_is_deleted_is_noted_and_the_reply_held(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin
) -> None:
    tenant_id, account_id = tenant
    rt.store.inbox.insert(tenant_id, account_id, make_mention("1"))
    testnet.connector.fail_next.append(OriginalDeleted("the post does not exist"))
    result = _send(rt, tenant, _reply("k1"))
    assert result.status == ReplyStatus.HELD
    assert result.error == f"{notices.held_reason('testnet')} (the post does not exist)"  # the public wording
    assert rt.store.outbox.get(result.id).status == ReplyStatus.HELD
    found = rt.store.inbox.find(tenant_id, "testnet", "1")
    assert found is not None and found.deleted  # recorded as the deletion it is


def test_a_network_that_keeps_failing_gives_up_with_the_reason(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin
) -> None:
    testnet.connector.fail_next.append(RetriableError("503 unavailable", retry_after=40))
    first = _send(rt, tenant, _reply("k1"))
    assert (first.status, first.retry_after, first.error) == (ReplyStatus.PENDING, 40, "503 unavailable")
    assert 35 <= _next_attempt_in(rt, first.id) <= 45

    with rt.db.begin() as conn:  # the last attempt allowed
        conn.execute(update(t.replies).values(attempts=rt.settings.max_attempts - 1, next_attempt_at=utcnow()))
    testnet.connector.fail_next.append(RetriableError("503 unavailable"))
    last = outbox.attempt(rt, first.id, "w")
    assert (last.status, last.error) == (ReplyStatus.FAILED, "503 unavailable")
    row = rt.store.outbox.get(first.id)
    assert row.status == ReplyStatus.FAILED and row.last_error and row.last_error.startswith("gave up after")


def test_a_reply_rate_limited_for_longer_than_the_give_up_age_fails(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin
) -> None:
    state = outbox.enqueue(rt, tenant[0], tenant[1], _reply("k1"), "salesforce")
    with rt.db.begin() as conn:
        old = utcnow() - timedelta(hours=rt.settings.give_up_after_hours + 1)
        conn.execute(update(t.replies).values(created_at=old))
    testnet.connector.fail_next.append(RateLimited("429 slow down", retry_after=30))
    result = outbox.attempt(rt, state.id, "w")
    assert result.status == ReplyStatus.FAILED and result.error and result.error.startswith("gave up after")
    assert rt.store.outbox.get(state.id).status == ReplyStatus.FAILED


@pytest.mark.settings(admin_webhook_url="https://hooks.example/admin")
def test_credentials_refused_fail_a_channelback_now_and_make_a_queued_reply_wait_an_hour(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin
) -> None:
    testnet.connector.fail_next.append(AuthError("token revoked"))
    channelback = _send(rt, tenant, _reply("cb"), source="zendesk_channelback")
    assert channelback.status == ReplyStatus.FAILED and rt.store.outbox.get(channelback.id).status == "failed"
    assert [a.account_id for a in rt.store.health.attention()] == [tenant[1]]
    [notice] = rt.store.notices.all()  # the admin is told what was refused
    assert (notice.payload["account_id"], notice.payload["during"]) == (tenant[1], "reply")

    testnet.connector.fail_next.append(AuthError("token revoked"))
    queued = _send(rt, tenant, _reply("q"))
    assert queued.status == ReplyStatus.PENDING and rt.store.outbox.get(queued.id).status == "pending"
    assert 3500 <= _next_attempt_in(rt, queued.id) <= 3600
    assert testnet.connector.posted == []


def test_a_fatal_error_fails_the_reply_with_its_code_and_reason(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin
) -> None:
    testnet.connector.fail_next.append(FatalError("thread locked", code="locked"))
    result = _send(rt, tenant, _reply("k1"))
    assert (result.status, result.error) == (ReplyStatus.FAILED, "locked: thread locked")
    row = rt.store.outbox.get(result.id)
    assert (row.status, row.last_error) == (ReplyStatus.FAILED, "locked: thread locked")


def test_a_sent_reply_records_its_id_as_its_only_part_and_is_counted(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin
) -> None:
    counter = metrics.REPLIES.labels("testnet", ReplyStatus.SENT)
    before = counter._value.get()
    result = _send(rt, tenant, _reply("k1"))
    row = rt.store.outbox.get(result.id)
    assert (row.status, row.external_id, row.parts) == (ReplyStatus.SENT, result.external_id, (result.external_id,))
    assert counter._value.get() == before + 1


def test_channelback_replies_are_never_drained(rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin) -> None:
    # The stored name, not the constant: rows written before an upgrade carry it.
    outbox.enqueue(rt, tenant[0], tenant[1], _reply("cb"), "zendesk_channelback")
    assert outbox.drain(rt, "w") == 0 and testnet.connector.posted == []


def _budget_of_one(testnet: TestNetPlugin, monkeypatch: pytest.MonkeyPatch) -> None:
    # Two calls a minute declared: each account's bucket holds one (headroom 5 %, at least 1).
    declared = Limits(max_text_length=500, poll_interval_seconds=1, requests_per_window=2, window_seconds=60)
    monkeypatch.setattr(testnet.connector, "limits", lambda: declared)


def _bucket_wait(rt: Runtime, account_id: int) -> Callable[[], float]:
    def wait() -> float:
        bucket = rt.store.rate_budgets.state(f"account:{account_id}")
        assert bucket is not None
        return bucket.wait_for(1.0, time.time())

    return wait


def test_waiting_for_the_account_budget_does_not_push_its_refill_back(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin, monkeypatch: pytest.MonkeyPatch
) -> None:
    _budget_of_one(testnet, monkeypatch)
    assert _send(rt, tenant, _reply("k1")).status == ReplyStatus.SENT  # spends the one call
    waiting = _send(rt, tenant, _reply("k2"))
    assert waiting.status == ReplyStatus.PENDING and waiting.retry_after and "rate budget" in (waiting.error or "")
    assert _bucket_wait(rt, tenant[1])() <= waiting.retry_after  # the refill is where it was
    assert len(testnet.connector.posted) == 1


def test_a_network_429_holds_the_accounts_budget_and_a_chats_own_pacing_does_not(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant_id, account_id = tenant
    _budget_of_one(testnet, monkeypatch)
    testnet.connector.fail_next.append(RateLimited("429 slow down", retry_after=120))
    assert _send(rt, tenant, _reply("k1")).status == ReplyStatus.PENDING
    assert _bucket_wait(rt, account_id)() > 100  # every worker waits the network's two minutes

    second = rt.store.upsert_account(tenant_id, "testnet", "second", {}, handle="second")
    testnet.connector.fail_next.append(RateLimited("429 slow down"))  # no Retry-After: emptied, not held
    assert _send(rt, (tenant_id, second), _reply("k2")).status == ReplyStatus.PENDING
    bucket = rt.store.rate_budgets.state(f"account:{second}")
    assert bucket is not None and bucket.tokens <= 0 and bucket.stamp <= time.time()

    third = rt.store.upsert_account(tenant_id, "testnet", "third", {}, handle="third")
    testnet.connector.fail_next.append(RateLimited("one message a second", retry_after=30, code="client_pacing"))
    assert _send(rt, (tenant_id, third), _reply("k3")).status == ReplyStatus.PENDING
    bucket = rt.store.rate_budgets.state(f"account:{third}")
    assert bucket is not None and bucket.stamp <= time.time()  # the account's other chats go on


def test_a_synchronous_reply_waits_out_the_networks_pacing_before_trying_again(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin
) -> None:
    """The network refuses a call that comes sooner than the pause it asked for (a Telegram chat)."""
    calls: list[float] = []

    def paced() -> None:
        calls.append(time.monotonic())
        if len(calls) == 1 or calls[-1] - calls[-2] < 0.2:
            raise RateLimited("one message a second", retry_after=0.2)

    testnet.connector.before_post = paced
    state = outbox.enqueue(rt, tenant[0], tenant[1], _reply("cb"), "zendesk_channelback")
    assert outbox.attempt(rt, state.id, "cb", wait_seconds=5.0).status == ReplyStatus.SENT
    assert len(calls) == 2  # refused once, then sent after the pause: the network was not hammered


def _handoff(key: str, text: str = "#handoff Check your DMs!\nYour order number?", **changes: object) -> Reply:
    return _reply(key, text, **{"recipient_id": "u1", "thread_id": "t1", **changes})


def test_a_handoff_sends_the_private_message_then_the_acknowledgement_each_under_its_own_key(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin
) -> None:
    private = _sent_privately(testnet)
    photo = Attachment(url="https://files.example/label.png", type="image")
    result = _send(rt, tenant, _handoff("h1", attachments=[photo]))
    assert result.status == ReplyStatus.SENT, result.error
    [dm] = private
    assert (dm.text, dm.visibility, dm.recipient_id) == ("Your order number?", Visibility.PRIVATE, "u1")
    ack = testnet.connector.posted[1]
    assert (ack.text, ack.visibility, ack.attachments) == ("Check your DMs!", Visibility.PUBLIC, [])
    dm_row = rt.store.outbox.by_key(handoff.child_key("h1", "private"))
    ack_row = rt.store.outbox.by_key(handoff.child_key("h1", "ack"))
    assert (dm_row.status, ack_row.status) == (ReplyStatus.SENT, ReplyStatus.SENT)
    row = rt.store.outbox.get(result.id)
    assert row.status == ReplyStatus.SENT and row.parts == (dm_row.external_id, ack_row.external_id)
    assert (result.external_id, result.url) == (dm_row.external_id, ack_row.url)
    # The customer's private answers belong to the public thread the handoff came from.
    since = utcnow() - timedelta(minutes=1)
    assert rt.store.outbox.handoff_thread_for(tenant[0], tenant[1], "testnet", "u1", since) == "t1"


def test_a_handoff_without_its_own_acknowledgement_posts_the_default_one(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin
) -> None:
    result = _send(rt, tenant, _handoff("h1", "#handoff\nYour order number?", thread_id=None))
    assert result.status == ReplyStatus.SENT, result.error
    texts = [r.text for r in testnet.connector.posted]
    assert texts[0] == "Your order number?" and texts[1] and texts[1] != texts[0]
    since = utcnow() - timedelta(minutes=1)  # no thread id: the post it answered is the thread
    assert rt.store.outbox.handoff_thread_for(tenant[0], tenant[1], "testnet", "u1", since) == "1"


def test_a_handoff_whose_private_message_fails_posts_nothing_publicly(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin
) -> None:
    testnet.connector.fail_next.append(FatalError("the customer does not accept messages"))
    result = _send(rt, tenant, _handoff("h1"))
    assert result.status == ReplyStatus.FAILED and result.error
    assert result.error.startswith("handoff: the private message was not sent, nothing was posted publicly")
    assert "does not accept messages" in result.error
    row = rt.store.outbox.get(result.id)
    assert row.status == ReplyStatus.FAILED and row.last_error == result.error
    assert testnet.connector.posted == []


def test_a_handoff_whose_acknowledgement_must_wait_is_retried_without_resending_the_private_message(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin
) -> None:
    def ack_waits() -> None:
        if testnet.connector.posted:  # the private message is out; the network asks the ack to wait
            testnet.connector.before_post = None
            testnet.connector.fail_next.append(RetriableError("503 unavailable", retry_after=40))

    testnet.connector.before_post = ack_waits
    first = _send(rt, tenant, _handoff("h1"))  # a worker: no time to wait
    assert (first.status, first.retry_after) == (ReplyStatus.PENDING, 40)
    assert first.error and first.error.startswith("handoff: the private message was sent; the public acknowledgement")
    assert rt.store.outbox.get(first.id).status == ReplyStatus.PENDING
    assert 35 <= _next_attempt_in(rt, first.id) <= 45

    with rt.db.begin() as conn:
        conn.execute(update(t.replies).values(next_attempt_at=utcnow()))
    assert outbox.drain(rt, "w") == 2  # the agent's row and its acknowledgement's
    assert [r.text for r in testnet.connector.posted] == ["Your order number?", "Check your DMs!"]
    assert rt.store.outbox.get(first.id).status == ReplyStatus.SENT


def test_a_worker_never_sleeps_on_a_handoffs_pacing(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin
) -> None:
    testnet.connector.fail_next.append(RateLimited("one message a second", retry_after=0.5, code="client_pacing"))
    result = _send(rt, tenant, _handoff("h1"))
    assert result.status == ReplyStatus.PENDING and result.retry_after == 0.5
    assert testnet.connector.posted == []


def test_a_handoff_whose_private_message_another_worker_is_sending_is_looked_at_again_in_seconds(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin
) -> None:
    dm = _handoff("h1").model_copy(
        update={"text": "Your order number?", "visibility": Visibility.PRIVATE,
                "idempotency_key": handoff.child_key("h1", "private")}
    )  # fmt: skip
    taken = outbox.enqueue(rt, tenant[0], tenant[1], dm, "salesforce")
    assert rt.store.outbox.take(taken.id, "other", lease_seconds=60)
    result = _send(rt, tenant, _handoff("h1"))
    assert result.status == ReplyStatus.PENDING and result.retry_after is not None and 0 < result.retry_after <= 5
    assert result.error and "sending" in result.error
    assert rt.store.outbox.get(result.id).status == ReplyStatus.PENDING
    assert 0 < _next_attempt_in(rt, result.id) <= 60
    assert testnet.connector.posted == []


def test_a_public_reply_with_personal_data_is_failed_and_a_private_one_is_sent(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin
) -> None:
    text = "Write to me at dana.ruiz@example.org"
    refused = _send(rt, tenant, _reply("k1", text))
    assert refused.status == ReplyStatus.FAILED and refused.error and "private message" in refused.error
    row = rt.store.outbox.get(refused.id)
    assert row.status == ReplyStatus.FAILED and row.last_error == refused.error
    dm = _reply("k2", text, recipient_id="u1", visibility=Visibility.PRIVATE)
    assert _send(rt, tenant, dm).status == ReplyStatus.SENT
    assert [r.text for r in testnet.connector.posted] == [text]


def test_drain_first_reports_a_reply_left_sending_by_a_dead_process_uncertain(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin
) -> None:
    state = outbox.enqueue(rt, tenant[0], tenant[1], _reply("k1"), "salesforce")
    assert rt.store.outbox.take(state.id, "dead", lease_seconds=60)
    with rt.db.begin() as conn:  # the process died mid-call; its lease ran out
        conn.execute(update(t.replies).values(lease_until=utcnow() - timedelta(seconds=1)))
    assert outbox.drain(rt, "w") == 0
    assert rt.store.outbox.get(state.id).status == ReplyStatus.UNCERTAIN and testnet.connector.posted == []


@pytest.mark.settings(backoff_base_seconds=60.0, backoff_cap_seconds=3600.0)
def test_a_rate_limited_reply_waits_the_first_backoff_step_however_often_it_failed_before(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin
) -> None:
    """Being asked to slow down is not a failure: the wait does not grow with the reply's attempts."""
    state = outbox.enqueue(rt, tenant[0], tenant[1], _reply("k1"), "salesforce")
    with rt.db.begin() as conn:
        conn.execute(update(t.replies).values(attempts=5))  # five failures: the backoff is at 16 minutes
    testnet.connector.fail_next.append(RateLimited("429 slow down"))  # no Retry-After
    result = outbox.attempt(rt, state.id, "w")
    assert result.status == ReplyStatus.PENDING
    assert 0 < _next_attempt_in(rt, state.id) <= 60  # the first step (30-60 s), not the sixth
    assert rt.store.outbox.get(state.id).attempts == 5  # and it was not counted
