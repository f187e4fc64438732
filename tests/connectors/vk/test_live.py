"""The VK connector against the fake over real HTTP: Callback delivery, Long Poll, replies, errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from flask import Flask, request

from connectors.vk import VKConnector, random_id_for
from plugin.connector import AccountContext, InboundRequest
from plugin.errors import AuthError, FatalError, OutcomeUnknown, RateLimited, RetriableError
from plugin.models import Mention, Reply
from sandbox.faults import FaultPlan
from sandbox.server import serve_in_thread
from sandbox.vk import VKSandbox
from tests.support.fakes import ManualClock

from .conftest import GROUP_ID, TOKEN

OWNER = -GROUP_ID


def seed(app: VKSandbox) -> int:
    app.state.add_user(501, "Ivan", "Petrov", "ivan.petrov")
    app.state.add_user(502, "Olga", "Smirnova")
    return int(app.state.community_posts("New opening hours")["object"]["id"])


def reply(text: str, key: str, **kw: Any) -> Reply:
    return Reply(network="vk", account=str(GROUP_ID), text=text, idempotency_key=key, **kw)


def with_settings(account: AccountContext, **settings: Any) -> AccountContext:
    return AccountContext(**{**account.__dict__, "settings": {**account.settings, **settings}})


# -- Callback API ----------------------------------------------------------------------------------


def _receiver(conn: VKConnector, secrets: dict[str, str], got: list[Mention], fail: list[int]) -> Flask:
    """A minimal host endpoint: verify, parse, store, then answer the handshake body."""
    web = Flask("vk-receiver")

    @web.post("/webhooks/vk/<account>")
    def hook(account: str) -> tuple[str, int] | tuple[str, int, dict[str, str]]:
        inbound = InboundRequest(
            method="POST", path=request.path, headers=dict(request.headers), body=request.get_data()
        )
        if not conn.verify_request(inbound, secrets):
            return "", 401
        result = conn.parse_webhook(inbound, secrets)
        if fail and result.mentions:
            fail.pop()
            return "storage down", 500  # not "ok": VK must resend
        got.extend(result.mentions)
        status, ctype, body = result.handshake or (200, "text/plain", "ok")
        return body, status, {"Content-Type": ctype}

    return web


def test_callback_confirmation_delivery_and_resend(sandbox, account, connector) -> None:
    app, _ = sandbox
    post_id = seed(app)
    got: list[Mention] = []
    fail = [1]
    secrets = {**account.credentials, "group_id": str(GROUP_ID)}
    receiver = serve_in_thread(_receiver(connector, secrets, got, fail))
    try:
        app.state.set_callback_server(f"{receiver.url}/webhooks/vk/{GROUP_ID}")
        assert app.state.confirm_callback()
        app.state.user_comments(501, post_id, "Are you open on Sunday?")
        app.state.user_messages(502, "I need a refund")
        # Community's own post event is answered "ok" but is no mention.
        assert app.state.deliver_callbacks() == 2  # own post + message ok; the comment failed once
        assert app.state.deliver_callbacks() == 1  # resent with the same event_id
        assert sorted(m.external_id for m in got) == sorted([f"{OWNER}_{post_id + 1}", "502_1"])
        retried = [e for e in app.state.callback_log if e.get("ok") is False]
        assert len(retried) == 1 and app.state.callback_queue == []

        app.state.secret = "forged"
        app.state.user_messages(502, "spoof")
        assert app.state.deliver_callbacks() == 0
        assert app.state.callback_log[-1]["status"] == 401
    finally:
        receiver.stop()


def test_wrong_confirmation_code_fails(sandbox, account, connector) -> None:
    app, _ = sandbox
    secrets = {**account.credentials, "confirmation_code": "nope", "group_id": str(GROUP_ID)}
    receiver = serve_in_thread(_receiver(connector, secrets, [], []))
    try:
        app.state.set_callback_server(f"{receiver.url}/webhooks/vk/{GROUP_ID}")
        assert not app.state.confirm_callback()
        assert app.state.deliver_callbacks() == 0
    finally:
        receiver.stop()


# -- Bots Long Poll --------------------------------------------------------------------------------


def test_long_poll_cursor_resume_no_loss_no_repeat(sandbox, account, connector) -> None:
    app, _ = sandbox
    post_id = seed(app)
    first = connector.poll(account, None)  # starts "now": the community's own post is history
    assert first.mentions == [] and first.cursor
    app.state.user_comments(501, post_id, "one")
    app.state.user_messages(502, "two")
    page = connector.poll(account, first.cursor)
    assert [m.text for m in page.mentions] == ["one", "two"] and page.more
    # Crash before storing the new cursor: the old one replays the same events (deduplicated later).
    assert [m.text for m in VKConnector().poll(account, first.cursor).mentions] == ["one", "two"]
    app.state.user_messages(502, "three")
    restarted = VKConnector()
    page2 = restarted.poll(account, page.cursor)
    assert [m.text for m in page2.mentions] == ["three"]
    page3 = restarted.poll(account, page2.cursor)
    assert page3.mentions == [] and not page3.more


def test_long_poll_failed_codes(sandbox, account, connector) -> None:
    app, _ = sandbox
    post_id = seed(app)
    cursor = connector.poll(account, None).cursor
    assert cursor
    # failed=2: key expired -> new key, same ts: nothing is lost.
    app.state.user_comments(501, post_id, "before key expiry")
    app.state.expire_key()
    page = connector.poll(account, cursor)
    assert page.mentions == [] and page.more and json.loads(page.cursor)["ts"] == json.loads(cursor)["ts"]
    page = connector.poll(account, page.cursor)
    assert [m.text for m in page.mentions] == ["before key expiry"]
    # failed=1: ts out of range -> continue from the ts VK gives.
    state = json.loads(page.cursor)
    stale = json.dumps({**state, "ts": "99999"})
    page = connector.poll(account, stale)
    assert page.mentions == [] and json.loads(page.cursor)["ts"] == state["ts"]
    # failed=3: history lost -> new key and ts.
    app.state.lose_history()
    page = connector.poll(account, page.cursor)
    assert page.mentions == [] and json.loads(page.cursor)["key"] != state["key"]
    app.state.user_messages(502, "after loss")
    assert [m.text for m in connector.poll(account, page.cursor).mentions] == ["after loss"]


# -- replies ---------------------------------------------------------------------------------------


def test_comment_reply_threads_and_guid_dedup(sandbox, account, connector, clock: ManualClock) -> None:
    app, _ = sandbox
    post_id = seed(app)
    app.state.user_comments(501, post_id, "Open on Sunday?")
    [m] = connector.parse_payload(app.state.events[-1], str(GROUP_ID))
    out = reply("Yes, 10-16.", "agent-reply-1", in_reply_to=m.external_id, thread_id=m.thread_id)
    result = connector.post_reply(account, out)
    [sent] = app.state.sent_comments
    assert sent["reply_to_comment"] == m.extra["comment_id"] and sent["from_id"] == OWNER
    assert result.external_id == f"{OWNER}_{sent['id']}"
    assert result.url == f"https://vk.com/wall{OWNER}_{post_id}?reply={sent['id']}"
    clock.advance(1)
    assert connector.post_reply(account, out) == result  # retry: same guid, no second comment
    assert len(app.state.sent_comments) == 1
    # Our comment comes back as an event and is recognised as an echo.
    assert connector.parse_payload(app.state.events[-1], str(GROUP_ID)) == []
    # Top-level answer on the post itself (in_reply_to == thread) has no reply_to_comment.
    top = connector.post_reply(account, reply("Welcome!", "k-top", in_reply_to=m.thread_id, thread_id=m.thread_id))
    assert "reply_to_comment" not in app.state.sent_comments[-1] and top.external_id != result.external_id


def test_message_reply_random_id_makes_retry_idempotent(sandbox, account, connector) -> None:
    app, _ = sandbox
    seed(app)
    app.state.user_messages(501, "Where is my parcel?")
    [m] = connector.parse_payload(app.state.events[-1], str(GROUP_ID))
    out = reply("It ships today.", "agent-reply-2", in_reply_to=m.external_id, thread_id=m.thread_id)
    first = connector.post_reply(account, out)
    second = connector.post_reply(account, out)  # e.g. the worker retried after a lost answer
    assert first == second and first.external_id == "501_2"
    [sent] = app.state.sent_messages
    assert sent["random_id"] == random_id_for("agent-reply-2")
    assert sent["reply_message"]["conversation_message_id"] == 1
    assert connector.parse_payload(app.state.events[-1], str(GROUP_ID)) == []  # message_reply echo


def test_send_private_needs_permission(sandbox, account, connector) -> None:
    app, _ = sandbox
    seed(app)
    with pytest.raises(FatalError) as err:
        connector.send_private(account, reply("hello", "p1", recipient_id="502"))
    assert err.value.code == "not_allowed" and "901" in str(err.value)
    app.state.user_messages(502, "hi")
    assert connector.send_private(account, reply("hello", "p2", recipient_id="502")).external_id == "502_2"


# -- limits and errors -----------------------------------------------------------------------------


def test_client_pacing(sandbox, account, connector, clock: ManualClock) -> None:
    app, _ = sandbox
    seed(app)
    slow = with_settings(account, requests_per_second=2)
    connector.fetch_profile(slow, "501")
    connector.fetch_profile(slow, "502")
    with pytest.raises(RateLimited) as err:
        connector.fetch_profile(slow, "501")
    assert err.value.code == "client_pacing" and 0 < (err.value.retry_after or 0) <= 1
    clock.advance(1.0)
    assert connector.fetch_profile(slow, "501") is not None


def test_server_too_many_requests_is_rate_limited(sandbox, account, clock: ManualClock) -> None:
    app, _ = sandbox
    seed(app)
    app.state.rps_limit = 1
    conn = VKConnector(clock=clock)
    conn.fetch_profile(account, "501")
    with pytest.raises(RateLimited) as err:  # the fake's error 6, client pacing allows 20/s
        conn.fetch_profile(account, "502")
    assert err.value.code == "6"


@pytest.mark.parametrize(
    ("scripted", "error", "code"),
    [(429, RateLimited, "6"), (503, RetriableError, "10")],
)
def test_injected_faults(sandbox, account, connector, plan: FaultPlan, scripted, error, code) -> None:
    app, _ = sandbox
    seed(app)
    plan.configure(scripted=[scripted])
    with pytest.raises(error) as err:
        connector.fetch_profile(account, "501")
    assert err.value.code == code


def test_error_taxonomy(sandbox, account, connector) -> None:
    app, _ = sandbox
    post_id = seed(app)
    bad = AccountContext(**{**account.__dict__, "credentials": {"access_token": "wrong"}})
    with pytest.raises(AuthError) as err:
        connector.poll(bad, None)
    assert err.value.code == "5" and "wrong" not in str(err.value)
    with pytest.raises(FatalError) as err2:  # 100: bad parameter (no such post)
        connector.post_reply(account, reply("x", "e1", in_reply_to=f"{OWNER}_999", thread_id=f"{OWNER}_999"))
    assert err2.value.code == "100" and "post_id" in str(err2.value)
    with pytest.raises(FatalError) as err3:
        connector.post_reply(account, reply("x", "e2", in_reply_to=f"{OWNER}_{post_id}"))
    assert err3.value.code == "bad_target"
    with pytest.raises(FatalError) as err4:
        connector.post_reply(account, reply("x" * 4097, "e3", thread_id="501"))
    assert err4.value.code == "too_long"


def test_read_timeout_on_post_is_outcome_unknown(sandbox, account, connector, plan: FaultPlan) -> None:
    app, _ = sandbox
    seed(app)
    app.state.user_messages(501, "hi")
    plan.configure(rate_timeout=1.0, timeout_seconds=0.6, paths=("/method/messages.send",))
    with pytest.raises(OutcomeUnknown):
        connector.send_private(with_settings(account, http_timeout=0.3), reply("x", "to1", recipient_id="501"))
    plan.configure(paths=("/method/users.get",))
    with pytest.raises(RetriableError):  # a read that timed out is simply retried
        connector.fetch_profile(with_settings(account, http_timeout=0.3), "501")


def test_fetch_profile_user_and_group(sandbox, account, connector) -> None:
    app, _ = sandbox
    seed(app)
    user = connector.fetch_profile(account, "501")
    assert user is not None and user.name == "Ivan Petrov" and user.handle == "ivan.petrov"
    assert user.profile_url == "https://vk.com/ivan.petrov"
    group = connector.fetch_profile(account, str(OWNER))
    assert group is not None and group.name == "Horseshoe Support"
    with pytest.raises(FatalError):
        connector.fetch_profile(account, "777")  # VK: 113 invalid user id


def test_sandbox_http_control_surface(sandbox) -> None:
    _, server = sandbox
    requests.post(f"{server.url}/_sandbox/users", json={"id": 9, "first_name": "Zoya"}, timeout=5)
    ev = requests.post(f"{server.url}/_sandbox/message", json={"user_id": 9, "text": "hi"}, timeout=5).json()
    assert ev["type"] == "message_new" and ev["object"]["message"]["text"] == "hi"
    answer = requests.post(
        f"{server.url}/method/messages.send",
        data={"access_token": TOKEN, "v": "5.199", "peer_id": 9, "random_id": 42, "message": "hello"},
        timeout=5,
    ).json()
    assert isinstance(answer["response"], int)
    missing_v = requests.post(f"{server.url}/method/users.get", data={"access_token": TOKEN, "user_ids": 9}, timeout=5)
    assert missing_v.json()["error"]["error_code"] == 8
    assert requests.get(f"{server.url}/_sandbox/sent", timeout=5).json()["messages"][0]["text"] == "hello"
    assert all(p["key"] != "access_token" for p in missing_v.json()["error"]["request_params"])


def test_registers_through_pluggy() -> None:
    import pluggy

    import connectors.vk
    from plugin import hookspecs

    pm = pluggy.PluginManager("horseshoe")
    pm.add_hookspecs(hookspecs)
    pm.register(connectors.vk)
    [[conn]] = pm.hook.horseshoe_register_connectors()
    assert conn.name == "vk" and conn.limits().max_text_length == 4096
