"""Graph error objects -> horseshoe's error taxonomy, over real HTTP against the fake."""

from __future__ import annotations

import pytest
import requests

from connectors.facebook import FacebookConnector
from connectors.meta import raise_for_graph_error, retry_after_from_headers
from plugin.errors import AuthError, FatalError, OutcomeUnknown, RateLimited, RetriableError
from plugin.models import Reply
from sandbox.meta import DEFAULT_PAGE_ID, GraphError

from .conftest import Meta


def graph_reply(text: str, target: str) -> Reply:
    return Reply(network="facebook", account=DEFAULT_PAGE_ID, text=text, in_reply_to=target, idempotency_key=text)


def test_buc_throttle_gives_retry_after_from_usage_header(meta: Meta) -> None:
    post = meta.state.inject_post(DEFAULT_PAGE_ID, "1", "x")
    meta.state.set_throttle(minutes=7, code=80001)
    with pytest.raises(RateLimited) as info:
        FacebookConnector().post_reply(meta.account("facebook"), graph_reply("a", post))
    assert info.value.retry_after == 7 * 60 and info.value.code == "80001"
    assert meta.state.posted_by_page() == []


@pytest.mark.parametrize("code", [4, 17, 32, 613])
def test_rate_limit_codes(meta: Meta, code: int) -> None:
    meta.state.fail_next(GraphError(f"(#{code}) limit", code=code, status=400))
    with pytest.raises(RateLimited):
        FacebookConnector().poll(meta.account("facebook", backfill_hours=1), None)


def test_injected_429_uses_app_usage_header(meta: Meta) -> None:
    meta.plan.configure(scripted=[429], retry_after=120)
    with pytest.raises(RateLimited) as info:
        FacebookConnector().poll(meta.account("facebook", backfill_hours=1), None)
    assert info.value.retry_after == 120


@pytest.mark.parametrize(
    ("error", "expected", "code"),
    [
        (GraphError("Error validating access token: Session has expired", code=190, subcode=463), AuthError, "190"),
        (GraphError("session", code=102), AuthError, "102"),
        (GraphError("(#10) Requires pages_messaging permission", code=10, status=403), AuthError, "10"),
        (GraphError("(#200) Permissions error", code=200, status=403), AuthError, "200"),
        (GraphError("(#100) Invalid parameter", code=100), FatalError, "100"),
        (GraphError("(#506) Duplicate status message", code=506), FatalError, "duplicate"),
        (GraphError("An unknown error occurred", code=1, status=500, is_transient=True), RetriableError, "1"),
        (GraphError("Service temporarily unavailable", code=2, status=503), RetriableError, "2"),
        (GraphError("(#368) Temporarily blocked for policies violations", code=368), RetriableError, "368"),
    ],
)
def test_error_taxonomy(meta: Meta, error: GraphError, expected: type[Exception], code: str) -> None:
    post = meta.state.inject_post(DEFAULT_PAGE_ID, "1", "x")
    meta.state.fail_next(error)
    with pytest.raises(expected) as info:
        FacebookConnector().post_reply(meta.account("facebook"), graph_reply("b", post))
    assert getattr(info.value, "code", None) == code
    assert error.message in str(info.value)
    if expected is FatalError:
        assert not isinstance(info.value, AuthError)


def test_bad_token_is_auth_error(meta: Meta) -> None:
    account = meta.account("facebook")
    broken = type(account)(
        network="facebook",
        external_id=DEFAULT_PAGE_ID,
        credentials={**account.credentials, "page_access_token": "nope"},
        api_base=account.api_base,
    )
    with pytest.raises(AuthError):
        FacebookConnector().poll(broken, "eyJzaW5jZSI6MSwiaHciOjF9")  # {"since":1,"hw":1}


def test_wrong_appsecret_proof_is_refused(meta: Meta) -> None:
    account = meta.account("facebook")
    wrong = type(account)(
        network="facebook",
        external_id=DEFAULT_PAGE_ID,
        credentials={**account.credentials, "app_secret": "other"},
        api_base=account.api_base,
    )
    with pytest.raises(FatalError) as info:
        FacebookConnector().poll(wrong, "eyJzaW5jZSI6MSwiaHciOjF9")
    assert info.value.code == "100"


def test_server_error_retriable_and_post_timeout_outcome_unknown(meta: Meta) -> None:
    post = meta.state.inject_post(DEFAULT_PAGE_ID, "1", "x")
    account = meta.account("facebook")
    meta.plan.configure(scripted=[503])
    with pytest.raises(RetriableError):
        FacebookConnector().post_reply(account, graph_reply("c", post))
    meta.plan.configure(rate_timeout=1.0, timeout_seconds=1.5)
    with pytest.raises(OutcomeUnknown):
        FacebookConnector().post_reply(account, graph_reply("d", post))
    with pytest.raises(RetriableError):  # a GET that timed out is safe to retry
        FacebookConnector().poll(meta.account("facebook", backfill_hours=1), None)


def test_connection_refused_is_retriable(meta: Meta) -> None:
    account = meta.account("facebook")
    gone = type(account)(
        network="facebook", external_id=DEFAULT_PAGE_ID, credentials=account.credentials, api_base="http://127.0.0.1:9"
    )
    with pytest.raises(RetriableError):
        FacebookConnector().poll(gone, "eyJzaW5jZSI6MSwiaHciOjF9")


def test_usage_header_parsing() -> None:
    buc = (
        '{"1":[{"type":"pages","call_count":100,"total_cputime":2,"total_time":2,"estimated_time_to_regain_access":3}]}'
    )
    assert retry_after_from_headers({"X-Business-Use-Case-Usage": buc}) == 180
    assert retry_after_from_headers({"x-page-usage": '{"call_count":100,"estimated_time_to_regain_access":2}'}) == 120
    assert retry_after_from_headers({"X-App-Usage": '{"call_count":5}'}) is None
    assert retry_after_from_headers({"X-App-Usage": "garbage", "Retry-After": "30"}) == 30
    assert retry_after_from_headers({}) is None


def test_non_json_error_body() -> None:
    response = requests.Response()
    response.status_code = 502
    response._content = b"<html>bad gateway</html>"
    with pytest.raises(RetriableError):
        raise_for_graph_error(response)
