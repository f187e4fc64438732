"""A busy Telegram group never fails an agent's reply, and never gets one twice (issue 12).

Telegram takes about 20 messages a minute in a group, one a second in a chat and 30 a second per
bot, and answers more with 429 and ``parameters.retry_after``; the fake enforces all three. Serve
(channelbacks) and each worker have their own pacer, so the group's minute can be used up by
another process: then Telegram's retry_after holds the chat in this process too, and the replies
wait for it without spending their attempts (``max_attempts`` would otherwise fail them).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from connectors.telegram import TelegramConnector, hookimpl
from plugin.connector import Connector
from plugin.models import Reply
from plugin.outbox import replies as outbox
from plugin.plugins import get_plugin_manager
from plugin.runtime import Runtime, build_runtime
from plugin.store.statuses import ReplyStatus
from sandbox.server import RunningServer
from sandbox.telegram import TelegramSandbox
from tests.conftest import fast_settings
from tests.support.fakes import ManualClock

from .conftest import BOT_ID, BOT_TOKEN

GROUP = -1001234567890
REPLIES = 30  # more than the group takes in a minute, and more than max_attempts rounds


class ClockedTelegram:
    """The built-in connector with the test's clock (the host's runtime otherwise uses the real one)."""

    def __init__(self, connector: TelegramConnector) -> None:
        self.connector = connector

    @hookimpl
    def horseshoe_register_connectors(self) -> list[Connector]:
        return [self.connector]


@contextmanager
def _host(tmp_path: Any, clock: Callable[[], float]) -> Iterator[tuple[Runtime, TelegramConnector]]:
    connector = TelegramConnector(clock=clock)
    pm = get_plugin_manager(load_entry_points=False)
    pm.unregister(name="telegram")
    pm.register(ClockedTelegram(connector), name="telegram")
    runtime = build_runtime(fast_settings(str(tmp_path), max_attempts=3), pm=pm)
    try:
        yield runtime, connector
    finally:
        runtime.db.dispose()


@pytest.fixture
def host(tmp_path: Any, clock: ManualClock) -> Iterator[tuple[Runtime, TelegramConnector]]:
    with _host(tmp_path, clock) as found:
        yield found


def _connect(rt: Runtime, server: RunningServer) -> tuple[int, int]:
    tenant_id = rt.store.ensure_tenant("acme")
    account_id = rt.store.upsert_account(
        tenant_id,
        "telegram",
        BOT_ID,
        {"bot_token": BOT_TOKEN},
        handle="horseshoe_bot",
        settings={"bot_username": "horseshoe_bot", "poll_timeout": 0},
        api_base=server.url,
    )
    return tenant_id, account_id


def _reply(n: int, message: str) -> Reply:
    return Reply(network="telegram", account=BOT_ID, text=f"answer {n}", in_reply_to=message, idempotency_key=f"sf:{n}")


def test_a_group_busy_for_minutes_delays_replies_but_fails_none(
    sandbox: tuple[TelegramSandbox, RunningServer], clock: ManualClock, host: tuple[Runtime, TelegramConnector]
) -> None:
    app, server = sandbox
    rt, _connector = host
    app.state.add_user(1002, "Bob")
    app.state.add_group(GROUP, "Acme Customers", username="acme_customers")
    update = app.state.user_writes_group(GROUP, 1002, "@horseshoe_bot hi")
    target = f"{GROUP}:{update['message']['message_id']}"
    tenant_id, account_id = _connect(rt, server)

    # Another process (serve, answering channelbacks) has just used up the group's minute.
    other = TelegramConnector(clock=clock)
    other_account = rt.store.account(account_id)[1]  # type: ignore[index]
    for n in range(20):
        other.post_reply(other_account, _reply(1000 + n, target))
        clock.advance(1.0)

    ids = [outbox.enqueue(rt, tenant_id, account_id, _reply(n, target), "salesforce").id for n in range(REPLIES)]
    refused_by_telegram = 0
    rounds = 0
    # Telegram's retry_after also holds the account's rate budget, which counts real seconds, while
    # this test moves the fake's clock: past 400 rounds, keep going (slowly) until that hold has ended.
    patience = time.monotonic() + 120.0
    while (rounds < 400 or time.monotonic() < patience) and any(
        rt.store.outbox.get(i).status == ReplyStatus.PENDING for i in ids
    ):
        if rounds >= 400:
            time.sleep(0.5)
        for reply_id in ids:  # the worker's drain, each reply in turn (due times are the worker's business)
            if rt.store.outbox.get(reply_id).status == ReplyStatus.PENDING:
                state = outbox.attempt(rt, reply_id, "worker")
                refused_by_telegram += "Too Many Requests" in (state.error or "")
        clock.advance(1.0)
        rounds += 1

    rows = [rt.store.outbox.get(i) for i in ids]
    assert [r.status for r in rows] == [ReplyStatus.SENT] * REPLIES, {r.status for r in rows}
    assert max(r.attempts for r in rows) == 1, "waiting for the network spent attempts"
    texts = sorted(str(m.get("text")) for m in app.state.sent)
    expected = [f"answer {n}" for n in range(REPLIES)] + [f"answer {1000 + n}" for n in range(20)]
    assert texts == sorted(expected), "a reply was posted twice or not at all"
    # Telegram's 429 was met once, then its retry_after held the chat: no hammering of a busy group.
    assert refused_by_telegram == 1


def test_a_channelback_waits_out_a_short_pacing_instead_of_refusing(
    sandbox: tuple[TelegramSandbox, RunningServer], tmp_path: Any
) -> None:
    app, server = sandbox
    manual = app.state.clock
    # Real time for this one: the request thread really waits (about a second, the chat's pace).
    app.state.clock = time.monotonic
    try:
        with _host(tmp_path, time.monotonic) as (rt, _connector):
            _channelbacks(app, server, rt)
    finally:
        app.state.clock = manual


def _channelbacks(app: TelegramSandbox, server: RunningServer, rt: Runtime) -> None:
    app.state.add_user(1001, "Ann")
    app.state.user_writes_private(1001, "hi")
    tenant_id, account_id = _connect(rt, server)
    first = outbox.enqueue(rt, tenant_id, account_id, _reply(1, "1001:1"), outbox.CHANNELBACK)
    second = outbox.enqueue(rt, tenant_id, account_id, _reply(2, "1001:1"), outbox.CHANNELBACK)
    assert outbox.attempt(rt, first.id, "cb-1", wait_seconds=5.0).status == ReplyStatus.SENT
    assert outbox.attempt(rt, second.id, "cb-2", wait_seconds=5.0).status == ReplyStatus.SENT
    refused = outbox.enqueue(rt, tenant_id, account_id, _reply(3, "1001:1"), outbox.CHANNELBACK)
    state = outbox.attempt(rt, refused.id, "cb-3")  # no time to wait: "retry later", not failed
    assert state.status == ReplyStatus.PENDING and state.retry_after is not None
    assert rt.store.outbox.get(refused.id).attempts == 0
