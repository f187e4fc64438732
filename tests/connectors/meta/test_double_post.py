"""Acceptance: a Meta reply whose connection drops after the request was sent is never posted twice.

The reply goes through the real outbox and the real Facebook/Messenger connectors over HTTP to the Meta
fake. The fake's ``drop_after`` fault lets the Graph API create the comment (or send the message) and
then closes the connection without answering, so the client has sent everything and gets no answer.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from plugin.models import Reply, Visibility
from plugin.outbox import replies as outbox
from plugin.runtime import Runtime, build_runtime
from sandbox.meta import DEFAULT_APP_SECRET, DEFAULT_PAGE_ID, DEFAULT_TOKEN
from tests.conftest import fast_settings

from .conftest import Meta


@pytest.fixture
def rt(tmp_path: object) -> Iterator[Runtime]:
    runtime = build_runtime(fast_settings(str(tmp_path)))
    yield runtime
    runtime.db.dispose()


def _account(rt: Runtime, meta: Meta, network: str) -> tuple[int, int]:
    tenant_id = rt.store.ensure_tenant("acme")
    account_id = rt.store.upsert_account(
        tenant_id,
        network,
        DEFAULT_PAGE_ID,
        {"page_access_token": DEFAULT_TOKEN, "app_secret": DEFAULT_APP_SECRET},
        settings={"timeout_seconds": 2.0},
        api_base=meta.server.url,
    )
    return tenant_id, account_id


def _assert_posted_once(rt: Runtime, meta: Meta, state_id: int) -> None:
    dropped = meta.plan.injected["drop_after"]
    result = outbox.attempt(rt, state_id, "worker-1")
    assert result.status == "uncertain", result
    assert "may have taken effect" in (result.error or "")
    assert meta.plan.injected["drop_after"] == dropped + 1
    assert len(meta.state.posted_by_page()) == 1  # the fake did post it: the answer was what got lost
    # Nothing retries an uncertain reply: draining again (twice) posts nothing more.
    assert outbox.drain(rt, "worker-2") == 0
    assert outbox.drain(rt, "worker-3") == 0
    assert outbox.attempt(rt, state_id, "worker-4").status == "uncertain"
    assert len(meta.state.posted_by_page()) == 1


def test_facebook_comment_dropped_after_sending_is_uncertain_and_posted_once(rt: Runtime, meta: Meta) -> None:
    post = meta.state.inject_post(DEFAULT_PAGE_ID, "2001", "where is my order?")
    tenant_id, account_id = _account(rt, meta, "facebook")
    reply = Reply(
        network="facebook", account=DEFAULT_PAGE_ID, text="We are on it!", in_reply_to=post, idempotency_key="fb-1"
    )
    state = outbox.enqueue(rt, tenant_id, account_id, reply, "salesforce")
    meta.plan.configure(scripted=["drop_after"], methods=("POST",))
    try:
        _assert_posted_once(rt, meta, state.id)
    finally:
        meta.plan.configure(methods=())


def test_messenger_message_dropped_after_sending_is_uncertain_and_sent_once(rt: Runtime, meta: Meta) -> None:
    meta.state.inject_message(DEFAULT_PAGE_ID, "3001", "hello?")
    tenant_id, account_id = _account(rt, meta, "messenger")
    reply = Reply(
        network="messenger",
        account=DEFAULT_PAGE_ID,
        text="Hi! How can we help?",
        visibility=Visibility.PRIVATE,
        recipient_id="3001",
        thread_id="3001",
        idempotency_key="ms-1",
    )
    state = outbox.enqueue(rt, tenant_id, account_id, reply, "salesforce")
    # Only the Send API POST is dropped; the window lookup (a GET) goes through.
    meta.plan.configure(scripted=["drop_after"], methods=("POST",))
    try:
        _assert_posted_once(rt, meta, state.id)
    finally:
        meta.plan.configure(methods=())
