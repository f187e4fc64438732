"""The connector against the Bot API fake over real HTTP: polling, replies, errors, webhook delivery."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask, request

from connectors.telegram import TelegramConnector
from plugin.connector import AccountContext, InboundRequest
from plugin.errors import AuthError, FatalError, OriginalDeleted, OutcomeUnknown, RateLimited, RetriableError
from plugin.models import Mention, Reply, Visibility
from sandbox.faults import FaultPlan
from sandbox.server import RunningServer, serve_in_thread
from sandbox.telegram import TelegramSandbox
from tests.support.fakes import ManualClock

from .conftest import BOT_TOKEN, SECRET

GROUP = -1001234567890


def seed(app: TelegramSandbox) -> None:
    state = app.state
    state.add_user(1001, "Ann", "annlee", "Lee")
    state.add_user(1002, "Bob")
    state.add_group(GROUP, "Acme Customers", username="acme_customers")


def reply(text: str, in_reply_to: str | None, key: str, **kw: Any) -> Reply:
    return Reply(network="telegram", account="123456789", text=text, in_reply_to=in_reply_to, idempotency_key=key, **kw)


def test_poll_cursor_resume_no_loss_no_repeat(sandbox, account, connector) -> None:
    app, _ = sandbox
    seed(app)
    app.state.user_writes_private(1001, "one")
    app.state.user_writes_group(GROUP, 1002, "not for us")
    app.state.user_writes_group(GROUP, 1002, "@horseshoe_bot two")
    page = connector.poll(account, None)
    assert [m.text for m in page.mentions] == ["one", "@horseshoe_bot two"]
    assert page.cursor is not None and not page.more

    # A crash before the cursor was stored: polling again from the old cursor replays (no loss)...
    assert [m.text for m in connector.poll(account, None).mentions] == ["one", "@horseshoe_bot two"]
    app.state.user_writes_private(1001, "three")
    # ...and a restart with the stored cursor (a fresh connector instance) sees only what is new.
    fresh = TelegramConnector()
    page2 = fresh.poll(account, page.cursor)
    assert [m.text for m in page2.mentions] == ["three"]
    page3 = fresh.poll(account, page2.cursor)
    assert page3.mentions == [] and page3.cursor == page2.cursor
    # The offset confirmed (and Telegram forgot) everything before it.
    assert [u["update_id"] for u in app.state.updates] == []


def test_poll_pages_of_100(sandbox, account, connector) -> None:
    app, _ = sandbox
    seed(app)
    for i in range(120):
        app.state.user_writes_private(1001, f"m{i}")
    first = connector.poll(account, None)
    assert len(first.mentions) == 100 and first.more
    second = connector.poll(account, first.cursor)
    assert len(second.mentions) == 20 and not second.more


def test_edit_arrives_as_edited_event(sandbox, account, connector) -> None:
    app, _ = sandbox
    seed(app)
    upd = app.state.user_writes_private(1001, "typo")
    app.state.user_edits(1001, upd["message"]["message_id"], "fixed")
    created, edited = connector.poll(account, None).mentions
    assert created.external_id == edited.external_id and edited.event == "edited" and edited.text == "fixed"


def test_reply_threads_with_reply_parameters(sandbox, account, connector) -> None:
    app, _ = sandbox
    seed(app)
    app.state.user_writes_group(GROUP, 1002, "@horseshoe_bot my order is late")
    page = connector.poll(account, None)
    [m] = page.mentions
    result = connector.post_reply(account, reply("Sorry! Checking now.", m.external_id, "k1"))
    [sent] = app.state.sent
    assert sent["reply_to_message"]["message_id"] == m.extra["message_id"]
    assert result.external_id == f"{GROUP}:{sent['message_id']}"
    assert result.url == f"https://t.me/acme_customers/{sent['message_id']}"

    # The customer answers the bot: that is a mention of kind reply, threaded to the root.
    app.state.user_writes_group(GROUP, 1002, "thanks, still waiting", reply_to=sent["message_id"])
    [follow] = connector.poll(account, page.cursor).mentions
    assert follow.kind.value == "reply" and follow.parent_id == result.external_id
    assert follow.thread_id == m.external_id


def test_a_private_reply_quotes_the_customers_message_and_never_drops_the_quote_silently(
    sandbox, account, connector, clock: ManualClock
) -> None:
    """Quoted while the message is there; gone, Telegram's "message to be replied not found" is
    OriginalDeleted (the host notes the ticket and holds the reply), never a silent unquoted send."""
    app, _ = sandbox
    seed(app)
    app.state.user_writes_private(1001, "hello")
    message_id = max(app.state.messages[1001])
    private = dict(recipient_id="1001", visibility=Visibility.PRIVATE)
    connector.send_private(account, reply("Hi Ann", f"1001:{message_id}", "k1", **private))
    assert app.state.sent[-1]["reply_to_message"]["message_id"] == message_id
    clock.advance(5)  # Telegram takes one message a second per chat
    with pytest.raises(OriginalDeleted):
        connector.send_private(account, reply("Hi again", "1001:999", "k2", **private))
    clock.advance(5)
    with pytest.raises(OriginalDeleted):
        connector.post_reply(account, reply("Hi Ann", "1001:999", "k3"))
    assert len(app.state.sent) == 1
    clock.advance(5)
    # A message of another chat (a handoff answering a group post) is not quoted: it cannot be.
    connector.send_private(account, reply("Moved here", "-1001234567890:5", "k4", **private))
    assert "reply_to_message" not in app.state.sent[-1]


def test_send_private_to_user_who_never_started_the_bot(sandbox, account, connector) -> None:
    app, _ = sandbox
    seed(app)
    with pytest.raises(FatalError) as err:
        connector.send_private(account, reply("psst", None, "k3", recipient_id="1002", visibility=Visibility.PRIVATE))
    assert err.value.code == "not_started" and "Start" in str(err.value)
    with pytest.raises(FatalError) as err2:
        connector.send_private(account, reply("psst", None, "k4", recipient_id="4242"))
    assert err2.value.code == "not_started"  # unknown chat: never talked to the bot


def test_send_private_after_start_and_blocked(sandbox, account, connector, clock: ManualClock) -> None:
    app, _ = sandbox
    seed(app)
    app.state.user_writes_private(1002, "/start")
    ok = connector.send_private(account, reply("Please DM your order number", None, "k5", recipient_id="1002"))
    assert ok.external_id.startswith("1002:")
    app.state.user_blocks_bot(1002)
    clock.advance(5)
    with pytest.raises(FatalError) as err:
        connector.send_private(account, reply("again", None, "k6", recipient_id="1002"))
    assert err.value.code == "blocked"


def test_client_pacing_per_chat_and_per_group(sandbox, account, connector, clock: ManualClock) -> None:
    app, _ = sandbox
    seed(app)
    app.state.user_writes_group(GROUP, 1002, "@horseshoe_bot hi")
    [m] = connector.poll(account, None).mentions
    connector.post_reply(account, reply("one", m.external_id, "p1"))
    with pytest.raises(RateLimited) as err:
        connector.post_reply(account, reply("two", m.external_id, "p2"))
    assert err.value.code == "client_pacing" and 0 < (err.value.retry_after or 0) <= 1.0
    for i in range(19):
        clock.advance(1.0)
        connector.post_reply(account, reply(f"n{i}", m.external_id, f"q{i}"))
    clock.advance(1.0)
    with pytest.raises(RateLimited) as err2:  # 20 per minute per group
        connector.post_reply(account, reply("21st", m.external_id, "q21"))
    assert 1.0 < (err2.value.retry_after or 0) <= 60.0
    assert len(app.state.sent) == 20


def test_server_429_retry_after(sandbox, account, connector, plan: FaultPlan) -> None:
    app, _ = sandbox
    seed(app)
    app.state.user_writes_private(1001, "hi")
    plan.configure(scripted=[429], retry_after=7)
    with pytest.raises(RateLimited) as err:
        connector.post_reply(account, reply("x", "1001:1", "r1"))
    assert err.value.retry_after == 7


def test_server_flood_limit_without_client_pacing(sandbox, account, clock) -> None:
    app, _ = sandbox
    seed(app)
    app.state.user_writes_private(1001, "hi")
    unpaced = AccountContext(**{**account.__dict__, "settings": {**account.settings, "pace": False}})
    conn = TelegramConnector(clock=clock)
    conn.post_reply(unpaced, reply("1", "1001:1", "f1"))
    with pytest.raises(RateLimited) as err:  # the fake's own 1 msg/s per chat limit
        conn.post_reply(unpaced, reply("2", "1001:1", "f2"))
    assert err.value.code == "429" and err.value.retry_after == 1


def test_error_taxonomy(sandbox, account, connector, plan: FaultPlan) -> None:
    app, _ = sandbox
    seed(app)
    plan.configure(scripted=[503])
    with pytest.raises(RetriableError):
        connector.poll(account, None)
    bad = AccountContext(**{**account.__dict__, "credentials": {"bot_token": "1:wrong"}})
    with pytest.raises(AuthError) as err:
        connector.poll(bad, None)
    assert "wrong" not in str(err.value)
    app.state.user_writes_private(1001, "hi")
    with pytest.raises(FatalError) as err2:
        connector.post_reply(account, reply("x" * 4097, "1001:1", "t1"))
    assert err2.value.code == "too_long"


def test_read_timeout_on_send_is_outcome_unknown(sandbox, account, connector, plan: FaultPlan) -> None:
    app, _ = sandbox
    seed(app)
    app.state.user_writes_private(1001, "hi")
    plan.configure(scripted=[], rate_timeout=1.0, timeout_seconds=0.6, paths=("/bot",))
    impatient = AccountContext(**{**account.__dict__, "settings": {**account.settings, "http_timeout": 0.3}})
    with pytest.raises(OutcomeUnknown) as err:
        connector.post_reply(impatient, reply("x", "1001:1", "u1"))
    assert BOT_TOKEN not in str(err.value)


def test_fetch_profile(sandbox, account, connector) -> None:
    app, _ = sandbox
    seed(app)
    assert connector.fetch_profile(account, "1001") is None  # never talked to the bot
    app.state.user_writes_private(1001, "hi")
    profile = connector.fetch_profile(account, "1001")
    assert profile is not None and profile.handle == "annlee" and profile.name == "Ann Lee"


# -- webhook: the fake sends, a real HTTP receiver verifies and parses ------------------------------


def _receiver(conn: TelegramConnector, secrets: dict[str, str], got: list[Mention], fail: list[int]) -> Flask:
    web = Flask("receiver")

    @web.post("/webhooks/telegram/123456789")
    def hook() -> tuple[str, int]:
        inbound = InboundRequest(
            method="POST", path=request.path, headers=dict(request.headers), body=request.get_data()
        )
        if not conn.verify_request(inbound, secrets):
            return "", 401
        if fail:
            fail.pop()
            return "", 500
        got.extend(conn.parse_webhook(inbound, secrets).mentions)
        return "", 200

    return web


def test_webhook_sender_end_to_end(sandbox, account, connector) -> None:
    app, _ = sandbox
    seed(app)
    got: list[Mention] = []
    fail = [1]  # the first delivery fails once and is retried later, in order
    secrets = {**account.credentials, "bot_username": "horseshoe_bot"}
    receiver: RunningServer = serve_in_thread(_receiver(connector, secrets, got, fail))
    try:
        connector.set_webhook(account, f"{receiver.url}/webhooks/telegram/123456789")
        app.state.user_writes_private(1001, "via webhook")
        app.state.user_writes_group(GROUP, 1002, "@horseshoe_bot also via webhook")
        # getUpdates is off while a webhook is set (409): the poll finds nothing, and is no failure.
        quiet = connector.poll(account, None)
        assert (quiet.mentions, quiet.cursor) == ([], None)
        assert app.state.deliver_webhook() == 0
        assert app.state.deliver_webhook() == 2
        assert [m.text for m in got] == ["via webhook", "@horseshoe_bot also via webhook"]
        assert app.state.webhook_info()["pending_update_count"] == 0

        # A sender with the wrong secret is refused.
        app.state.webhook["secret_token"] = "forged"
        app.state.user_writes_private(1001, "spoof")
        assert app.state.deliver_webhook() == 0
        assert app.state.webhook_deliveries[-1]["status"] == 401
    finally:
        receiver.stop()


def test_sandbox_http_control_surface(sandbox) -> None:
    import requests

    app, server = sandbox
    requests.post(f"{server.url}/_sandbox/users", json={"id": 7, "first_name": "Zed"}, timeout=5)
    upd = requests.post(f"{server.url}/_sandbox/private", json={"user_id": 7, "text": "yo"}, timeout=5).json()
    assert upd["message"]["text"] == "yo"
    got = requests.get(f"{server.url}/bot{BOT_TOKEN}/getUpdates", timeout=5).json()
    assert got["ok"] and got["result"][0]["update_id"] == upd["update_id"]
    sent = requests.post(
        f"{server.url}/bot{BOT_TOKEN}/sendMessage",
        data={"chat_id": 7, "text": "hey", "reply_parameters": json.dumps({"message_id": 1})},
        timeout=5,
    ).json()
    assert sent["result"]["reply_to_message"]["text"] == "yo"
    assert requests.get(f"{server.url}/_sandbox/sent", timeout=5).json()[0]["text"] == "hey"
    assert requests.get(f"{server.url}/botBAD/getMe", timeout=5).json()["error_code"] == 401
    assert requests.post(f"{server.url}/_sandbox/reset", timeout=5).ok and app.state.sent == []
    _ = SECRET


def test_token_never_reaches_urllib3_debug_log(sandbox, account, connector, caplog) -> None:
    import logging

    with caplog.at_level(logging.DEBUG, logger="urllib3.connectionpool"):
        connector.get_me(account)
    lines = [r.getMessage() for r in caplog.records if r.name == "urllib3.connectionpool"]
    assert any("/bot<token>/getMe" in line for line in lines)
    assert not any(BOT_TOKEN in line for line in lines)


def test_registers_through_pluggy() -> None:
    import pluggy

    import connectors.telegram
    from plugin import hookspecs

    pm = pluggy.PluginManager("horseshoe")
    pm.add_hookspecs(hookspecs)
    pm.register(connectors.telegram)
    [[conn]] = pm.hook.horseshoe_register_connectors()
    assert conn.name == "telegram" and conn.limits().max_text_length == 4096
