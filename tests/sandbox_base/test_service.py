"""The base every fake is served by: common /_sandbox controls, latency, request budget, faults.

Checked over HTTP on real fakes, each answering refusals in its own documented format."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests
from werkzeug.test import Client

from sandbox.base import FakeBackend, FakeService, RequestBudget, ServiceSettings
from sandbox.faults import FaultPlan
from sandbox.mastodon import MastodonApp, MastodonState
from sandbox.runner import FAKES, RunningFake
from sandbox.zendesk import ZendeskState
from tests.support.fakes import fake_service, quiet


@pytest.fixture(scope="module", params=FAKES)
def fake(request: pytest.FixtureRequest) -> Iterator[RunningFake]:
    with fake_service(request.param) as running:
        yield running


@pytest.fixture
def http(fake: RunningFake) -> requests.Session:
    quiet(fake)
    fake.app.set_latency(0.0)
    fake.app.set_rate_limit(None)
    session = requests.Session()
    session.verify = fake.cert or True
    session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify
    return session


def test_every_fake_is_a_fake_service_over_a_fake_backend(fake: RunningFake) -> None:
    assert isinstance(fake.app, FakeService)
    assert isinstance(fake.state, FakeBackend)


def test_state_summary_reset_and_fault_settings(fake: RunningFake, http: requests.Session) -> None:
    summary = http.get(f"{fake.url}/_sandbox/state", timeout=5)
    assert summary.status_code == 200 and isinstance(summary.json(), dict)
    assert http.post(f"{fake.url}/_sandbox/reset", timeout=5).json() == {}
    assert http.post(f"{fake.url}/_sandbox/faults", json={"rate_5xx": 0.5}, timeout=5).status_code == 200
    settings = http.get(f"{fake.url}/_sandbox/faults", timeout=5).json()
    assert settings["rate_5xx"] == 0.5 and "injected" in settings
    unknown = http.post(f"{fake.url}/_sandbox/reset", json={"no_such_option": 1}, timeout=5)
    assert unknown.status_code == 400


def test_request_budget_answers_429_with_retry_after_in_the_services_format(
    fake: RunningFake, http: requests.Session
) -> None:
    answer = http.post(f"{fake.url}/_sandbox/rate_limit", json={"requests": 2, "window": 60}, timeout=5)
    assert answer.json() == {"requests": 2, "window": 60.0}
    statuses = [http.get(f"{fake.url}/no-such-path", timeout=5) for _ in range(3)]
    assert all(400 <= r.status_code < 500 and r.status_code != 429 for r in statuses[:2])
    refused = statuses[2]
    if fake.name == "vk":
        # VK signals overload inside its envelope: HTTP 200, error 6 "Too many requests per second".
        assert refused.status_code == 200 and refused.json()["error"]["error_code"] == 6
    elif fake.name == "telegram":
        # The Bot API documents the wait in ResponseParameters, not in a header.
        assert refused.status_code == 429 and 1 <= refused.json()["parameters"]["retry_after"] <= 60
    else:
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # Control calls never count against the budget, and a reset refills it.
    assert http.get(f"{fake.url}/_sandbox/state", timeout=5).status_code == 200
    http.post(f"{fake.url}/_sandbox/reset", timeout=5)
    assert http.get(f"{fake.url}/no-such-path", timeout=5).status_code != 429


def test_latency_is_added_to_api_calls_only(fake: RunningFake, http: requests.Session) -> None:
    assert http.post(f"{fake.url}/_sandbox/latency", json={"seconds": 0.3}, timeout=5).json() == {"seconds": 0.3}
    started = time.monotonic()
    http.get(f"{fake.url}/no-such-path", timeout=5)
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    http.get(f"{fake.url}/_sandbox/latency", timeout=5)
    assert time.monotonic() - started < 0.3
    assert http.post(f"{fake.url}/_sandbox/latency", json={"seconds": -1}, timeout=5).status_code == 400


def test_settings_as_constructor_arguments() -> None:
    slept: list[float] = []
    settings = ServiceSettings(latency=0.25, rate_limit=1, rate_window=30)
    state = MastodonState()
    app = FakeService(MastodonApp(state), state, FaultPlan(), settings, sleep=slept.append)
    client = Client(app)
    assert client.get("/api/v1/instance").status_code == 200
    assert client.get("/api/v1/instance").status_code == 429
    assert slept == [0.25, 0.25]


def test_request_budget_windows() -> None:
    now = [1000.0]
    budget = RequestBudget(2, 10, clock=lambda: now[0])
    assert [budget.take("a").allowed for _ in range(3)] == [True, True, False]
    assert budget.take("b").allowed  # each key has its own window
    assert budget.take("a").retry_after == 10
    now[0] += 10
    assert budget.take("a").allowed
    assert RequestBudget(None).take().allowed


def test_snapshot_is_a_copy_and_summary_counts() -> None:
    state = ZendeskState()
    state.create_account("acme")
    before = state.snapshot()
    state.create_account("globex")
    assert sorted(before["accounts"]) == ["acme"] and sorted(state.accounts) == ["acme", "globex"]
    assert before["accounts"]["acme"] is not state.accounts["acme"]
    assert state.summary() == {"accounts": 2}
