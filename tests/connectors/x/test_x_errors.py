"""The error taxonomy: 429/Retry-After, remaining=0, 401/403/400, 5xx, timeouts, connection failures."""

from __future__ import annotations

import socket

import pytest

from connectors.x import XConnector
from plugin.connector import AccountContext
from plugin.errors import AuthError, FatalError, OutcomeUnknown, RateLimited, RetriableError
from plugin.models import Reply

MENTIONS = "GET /2/users/:id/mentions"


def reply(text: str, **kw) -> Reply:
    return Reply(network="x", account="acme", text=text, idempotency_key="k", **kw)


def test_injected_429_uses_retry_after(sandbox, connector):
    sandbox.plan.configure(scripted=[429], retry_after=7)
    with pytest.raises(RateLimited) as err:
        connector.poll(sandbox.account(), None)
    assert err.value.retry_after == 7


def test_exhausted_window_answers_documented_429(sandbox, connector):
    sandbox.state.set_limit(MENTIONS, 1)
    account = sandbox.account(settings={"backfill": True, "poll_dms": False})
    connector.poll(account, None)  # uses the only request; the answer says remaining=0
    fresh = XConnector()  # no local memory of the headers: it reaches the fake and gets the 429
    with pytest.raises(RateLimited) as err:
        fresh.poll(account, None)
    assert err.value.retry_after is not None and 0 < err.value.retry_after <= 900
    assert "Rate limit exceeded" in str(err.value)


def test_remaining_zero_blocks_the_next_call_locally(sandbox, connector):
    sandbox.state.set_limit(MENTIONS, 2)
    account = sandbox.account(settings={"backfill": True, "poll_dms": False})
    connector.poll(account, None)
    connector.poll(account, None)  # answered with x-rate-limit-remaining: 0
    assert sandbox.state.requests[MENTIONS] == 2
    with pytest.raises(RateLimited) as err:
        connector.poll(account, None)
    assert err.value.code == "local" and 0 < (err.value.retry_after or 0) <= 900
    assert sandbox.state.requests[MENTIONS] == 2  # refused before calling X


def test_rate_limit_state_is_per_token(sandbox, connector):
    sandbox.state.set_limit(MENTIONS, 1)
    app_only = sandbox.account(settings={"backfill": True, "poll_dms": False})
    connector.poll(app_only, None)
    with pytest.raises(RateLimited):
        connector.poll(app_only, None)
    user_only = sandbox.account(
        credentials={"user_access_token": "brand-user-token"}, settings={"backfill": True, "poll_dms": False}
    )
    connector.poll(user_only, None)  # its own bucket


def test_remaining_zero_clears_after_reset():
    now = [1000.0]
    from connectors.x.ratelimit import RateLimitState

    state = RateLimitState(clock=lambda: now[0])
    state.record("t", "e", {"x-rate-limit-remaining": "0", "x-rate-limit-reset": "1060"})
    with pytest.raises(RateLimited) as err:
        state.check("t", "e")
    assert err.value.retry_after == 60
    state.check("t", "other")  # other endpoints unaffected
    now[0] = 1060.0
    state.check("t", "e")


def test_unknown_token_is_auth_error(sandbox, connector):
    account = sandbox.account(credentials={"bearer_token": "nope"})
    with pytest.raises(AuthError, match=r"401.*Unauthorized"):
        connector.poll(account, None)


def test_app_only_cannot_post(sandbox, connector):
    account = sandbox.account(credentials={"bearer_token": "app-only-bearer"})
    mention = sandbox.state.inject_mention("alice", "hi", to_user="acme")
    with pytest.raises(AuthError, match="Unsupported Authentication") as err:
        connector.post_reply(account, reply("hello", in_reply_to=mention["id"]))
    assert "unsupported-authentication" in (err.value.code or "")


def test_reply_to_missing_post_is_fatal_not_auth(sandbox, connector):
    with pytest.raises(FatalError) as err:
        connector.post_reply(sandbox.account(), reply("hello", in_reply_to="1234"))
    assert not isinstance(err.value, AuthError)
    assert "deleted or not visible" in str(err.value)


def test_duplicate_post_is_fatal(sandbox, connector):
    mention = sandbox.state.inject_mention("alice", "hi", to_user="acme")
    connector.post_reply(sandbox.account(), reply("same words", in_reply_to=mention["id"]))
    with pytest.raises(FatalError, match="duplicate"):
        connector.post_reply(sandbox.account(), reply("same words", in_reply_to=mention["id"]))


def test_400_invalid_request_is_fatal_with_detail(sandbox, connector):
    account = sandbox.account(credentials={"user_access_token": "brand-user-token"})
    with pytest.raises(FatalError) as err:
        connector.send_private(account, reply("hi", recipient_id="424242"))
    assert "400" in str(err.value) and "invalid-request" in (err.value.code or "")


def test_5xx_is_retriable(sandbox, connector):
    sandbox.plan.configure(scripted=[503])
    with pytest.raises(RetriableError) as err:
        connector.poll(sandbox.account(), None)
    assert not isinstance(err.value, RateLimited)
    assert err.value.code == "http_503"
    connector.poll(sandbox.account(), None)  # next call goes through


def test_5xx_on_post_is_retriable(sandbox, connector):
    mention = sandbox.state.inject_mention("alice", "hi", to_user="acme")
    sandbox.plan.configure(scripted=[502], paths=("/2/tweets",))
    with pytest.raises(RetriableError):
        connector.post_reply(sandbox.account(), reply("hello", in_reply_to=mention["id"]))


def test_read_timeout_on_post_is_outcome_unknown(sandbox, connector):
    mention = sandbox.state.inject_mention("alice", "hi", to_user="acme")
    sandbox.plan.configure(scripted=["timeout"], timeout_seconds=1.0, paths=("/2/tweets",))
    account = sandbox.account(settings={"read_timeout": 0.2})
    with pytest.raises(OutcomeUnknown):
        connector.post_reply(account, reply("hello", in_reply_to=mention["id"]))


def test_read_timeout_on_get_is_retriable(sandbox, connector):
    sandbox.plan.configure(scripted=["timeout"], timeout_seconds=1.0)
    account = sandbox.account(settings={"read_timeout": 0.2})
    with pytest.raises(RetriableError) as err:
        connector.poll(account, None)
    assert err.value.code == "read_timeout"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_connection_refused_before_sending_is_retriable_even_for_posts(connector):
    account = AccountContext(
        network="x",
        external_id="1",
        credentials={"user_access_token": "t"},
        api_base=f"http://127.0.0.1:{_closed_port()}",
    )
    with pytest.raises(RetriableError):
        connector.post_reply(account, reply("hello", in_reply_to="5"))
    with pytest.raises(RetriableError):
        connector.poll(account, None)


def test_missing_credentials(connector):
    account = AccountContext(network="x", external_id="1", api_base="http://127.0.0.1:9")
    with pytest.raises(AuthError, match="credentials"):
        connector.poll(account, None)


def test_unknown_brand_user_is_fatal(sandbox, connector):
    from dataclasses import replace

    account = replace(sandbox.account(settings={"backfill": "yes", "poll_dms": "false"}), external_id="404404")
    with pytest.raises(FatalError, match="Could not find user"):
        connector.poll(account, None)
