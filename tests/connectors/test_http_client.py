"""plugin.http: the one client every connector uses (header hints, redaction, pacing, the sent rule)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from email.utils import formatdate

import pytest
import requests
from werkzeug.wrappers import Request, Response

from plugin.errors import AuthError, FatalError, OutcomeUnknown, RateLimited, RetriableError
from plugin.http import (
    HttpClient,
    Pacer,
    Rate,
    RedactingFilter,
    generic_rate_limit_reset,
    meta_regain_seconds,
    never_sent,
    parse_retry_after,
    redact,
    retry_after_from_headers,
    x_rate_limit_reset,
)
from sandbox.faults import FaultMiddleware, FaultPlan
from sandbox.server import RunningServer, serve_in_thread

NOW = 1_700_000_000.0


class Recorder:
    """A tiny WSGI service that counts the requests it handled and answers what it is told."""

    def __init__(self) -> None:
        self.handled = 0
        self.status = 200
        self.headers: dict[str, str] = {}
        self.body = '{"ok": true}'

    def __call__(self, environ: dict, start_response: object) -> object:
        Request(environ).get_data()
        self.handled += 1
        return Response(self.body, status=self.status, headers=self.headers, content_type="application/json")(
            environ, start_response
        )


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Recorder, FaultPlan, RunningServer]]:
    recorder, plan = Recorder(), FaultPlan()
    server = serve_in_thread(FaultMiddleware(recorder, plan))
    yield recorder, plan, server
    server.stop()


@pytest.fixture
def service(served: tuple[Recorder, FaultPlan, RunningServer]) -> tuple[Recorder, FaultPlan, RunningServer]:
    recorder, plan, _server = served
    recorder.handled, recorder.status, recorder.headers, recorder.body = 0, 200, {}, '{"ok": true}'
    plan.configure(scripted=[], methods=(), timeout_seconds=1.0)
    return served


# -- header hints ---------------------------------------------------------------------------------


def test_retry_after_seconds_and_http_date() -> None:
    assert parse_retry_after("30", NOW) == 30
    assert parse_retry_after(formatdate(NOW + 90, usegmt=True), NOW) == 90
    assert parse_retry_after("nan", NOW) is None and parse_retry_after("soon", NOW) is None
    assert parse_retry_after("99999999", NOW) == 86400  # capped: a server cannot park a worker for years


def test_network_rate_limit_headers() -> None:
    assert x_rate_limit_reset({"x-rate-limit-reset": str(int(NOW) + 60)}, NOW) == 60
    buc = '{"1":[{"type":"pages","call_count":100,"estimated_time_to_regain_access":3}]}'
    assert meta_regain_seconds({"X-Business-Use-Case-Usage": buc}) == 180
    assert meta_regain_seconds({"X-App-Usage": '{"call_count":100,"estimated_time_to_regain_access":2}'}) == 120
    assert generic_rate_limit_reset({"RateLimit-Reset": "12"}, NOW) == 12
    assert generic_rate_limit_reset({"X-RateLimit-Reset": str(int(NOW) + 5)}, NOW) == 5
    assert generic_rate_limit_reset({"X-RateLimit-Reset": "2023-11-14T22:14:20Z"}, NOW) == 60  # Mastodon: ISO time
    # Retry-After is the most direct answer; otherwise the largest documented estimate.
    both = {"Retry-After": "7", "x-rate-limit-reset": str(int(NOW) + 60)}
    assert retry_after_from_headers(both, NOW) == 7
    assert retry_after_from_headers({"x-rate-limit-reset": str(int(NOW) + 60), "RateLimit-Reset": "90"}, NOW) == 90
    assert retry_after_from_headers({"X-App-Usage": "garbage"}, NOW) is None


# -- redaction ------------------------------------------------------------------------------------


def test_redaction_of_every_secret_shape() -> None:
    text = (
        "GET https://api.telegram.org/bot123456:AAE-secret_x/getMe?access_token=tok123&appsecret_proof=abcd "
        "headers={'Authorization': 'Bearer sk-live-1'} body=access_token=vk-token&v=5.199 key=value"
    )
    clean = redact(text, secrets=["sk-live-1"])
    for secret in ("AAE-secret_x", "tok123", "abcd", "sk-live-1", "vk-token"):
        assert secret not in clean
    assert "v=5.199" in clean and "key=value" in clean  # only secrets go


def test_redaction_of_the_tokens_meta_takes_in_a_query_string() -> None:
    """Graph's debug_token inspects a Page token and the token exchange takes the short-lived one,
    both in the query string that urllib3 logs at DEBUG (a demo run's log held a Page token)."""
    line = '"GET /v21.0/debug_token?input_token=page-tok-1&appsecret_proof=p HTTP/1.1" 200 283'
    exchange = "GET /oauth/access_token?grant_type=fb_exchange_token&fb_exchange_token=user-tok-2&client_id=1"
    clean = redact(line) + redact(exchange)
    assert "page-tok-1" not in clean and "user-tok-2" not in clean
    assert "grant_type=fb_exchange_token" in clean and "client_id=1" in clean


def test_log_filter_redacts_request_lines() -> None:
    record = logging.LogRecord(
        "urllib3.connectionpool", logging.DEBUG, __file__, 1, '%s "%s %s"', ("x", "POST", "/bot1:AbC/send"), None
    )
    assert RedactingFilter().filter(record)
    assert "AbC" not in record.getMessage()
    assert any(isinstance(f, RedactingFilter) for f in logging.getLogger("urllib3.connectionpool").filters)


# -- pacer ----------------------------------------------------------------------------------------


def test_pacer_min_interval_and_windows_all_or_nothing() -> None:
    now = [0.0]
    pacer = Pacer(lambda: now[0], name="test pacing")
    pacer.reserve((("chat", 1), Rate.min_interval(1.0)))
    with pytest.raises(RateLimited) as err:
        pacer.reserve((("chat", 1), Rate.min_interval(1.0)), ("bot", Rate(30, 1.0)))
    assert err.value.code == "client_pacing" and err.value.retry_after == 1.0
    pacer.reserve((("chat", 2), Rate.min_interval(1.0)), ("bot", Rate(30, 1.0)))  # the refusal counted nowhere
    now[0] = 1.0
    pacer.reserve((("chat", 1), Rate.min_interval(1.0)))


def test_pacer_is_thread_safe() -> None:
    pacer = Pacer(lambda: 0.0)
    admitted: list[int] = []

    def hammer(i: int) -> None:
        try:
            pacer.reserve(("token", Rate.per_second(5)))
            admitted.append(i)
        except RateLimited:
            pass

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(admitted) == 5


# -- the client -----------------------------------------------------------------------------------


def test_sessions_are_cached_per_account() -> None:
    client = HttpClient("test")
    assert client.session("a") is client.session("a")
    assert client.session("a") is not client.session("b")


def test_status_mapping(service: tuple[Recorder, FaultPlan, RunningServer]) -> None:
    recorder, _, server = service
    client = HttpClient("test")
    expected = {429: RateLimited, 503: RetriableError, 401: AuthError, 403: AuthError, 400: FatalError}
    for status, kind in expected.items():
        recorder.status, recorder.headers = status, {"Retry-After": "4"}
        with pytest.raises(kind) as err:
            client.send("acct", "GET", server.url + "/x", what="test GET /x")
        assert type(err.value) is kind
        if kind is RateLimited:
            assert err.value.retry_after == 4  # type: ignore[attr-defined]


def test_gateway_timeout_on_a_write_is_outcome_unknown(service: tuple[Recorder, FaultPlan, RunningServer]) -> None:
    recorder, _, server = service
    recorder.status = 504
    with pytest.raises(OutcomeUnknown):
        HttpClient("test").send("acct", "POST", server.url + "/x", what="test POST", json={})
    with pytest.raises(RetriableError) as err:  # a read is simply retried
        HttpClient("test").send("acct", "GET", server.url + "/x", what="test GET")
    assert not isinstance(err.value, OutcomeUnknown)


def test_sessions_keep_no_cookies(service: tuple[Recorder, FaultPlan, RunningServer]) -> None:
    recorder, _, server = service
    recorder.headers = {"Set-Cookie": "sid=abc; Path=/"}
    client = HttpClient("test")
    client.send("acct", "GET", server.url + "/x", what="test GET")
    assert len(client.session("acct").cookies) == 0  # stateless, so one Session serves every thread


def test_error_hook_reads_network_bodies_first(service: tuple[Recorder, FaultPlan, RunningServer]) -> None:
    recorder, _, server = service
    recorder.body = '{"ok": false, "error_code": 6}'  # VK/Telegram style: an error inside HTTP 200

    def hook(response: requests.Response, what: str) -> RateLimited | None:
        return RateLimited(f"{what}: hook") if '"ok": false' in response.text else None

    client = HttpClient("test", error_hook=hook)
    with pytest.raises(RateLimited, match="hook"):
        client.send("acct", "GET", server.url + "/x", what="test")


def test_connection_refused_is_retriable_even_for_a_post() -> None:
    client = HttpClient("test")
    with pytest.raises(RetriableError) as err:
        client.send("acct", "POST", "http://127.0.0.1:9/bot1:SECRET/sendMessage", what="test POST", json={})
    assert not isinstance(err.value, OutcomeUnknown) and err.value.code == "connection"
    assert "SECRET" not in str(err.value)


def test_drop_after_sending_is_outcome_unknown_for_writes_only(
    service: tuple[Recorder, FaultPlan, RunningServer],
) -> None:
    recorder, plan, server = service
    client = HttpClient("test")
    plan.configure(scripted=["drop_after"])
    with pytest.raises(OutcomeUnknown) as err:
        client.send("acct", "POST", server.url + "/x?access_token=SECRET", what="test POST", json={"a": 1})
    assert recorder.handled == 1  # the service did the work; only the answer was lost
    assert "SECRET" not in str(err.value)
    plan.configure(scripted=["drop_after"])
    with pytest.raises(RetriableError) as read_err:  # reading twice changes nothing
        client.send("acct", "GET", server.url + "/x", what="test GET")
    assert not isinstance(read_err.value, OutcomeUnknown)


def test_read_timeout_after_sending_is_outcome_unknown(service: tuple[Recorder, FaultPlan, RunningServer]) -> None:
    _, plan, server = service
    plan.configure(scripted=["timeout"], timeout_seconds=0.6)
    with pytest.raises(OutcomeUnknown):
        HttpClient("test", timeout=(1.0, 0.2)).send("acct", "POST", server.url + "/x", what="test POST", json={})


def test_never_sent_recognises_connect_failures_only() -> None:
    assert never_sent(requests.ConnectTimeout("connect timed out"))
    assert not never_sent(requests.ReadTimeout("read timed out"))
    assert not never_sent(requests.ConnectionError("Connection aborted."))
