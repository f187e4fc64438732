"""The faults ``bench faults`` injects besides 429-with-Retry-After, 503 and timeouts: a 429 without
Retry-After, a connection dropped before the service sees the request, and a slow but correct answer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from sandbox.runner import RunningFake, start_fake


@pytest.fixture
def mastodon() -> Iterator[RunningFake]:
    fake = start_fake("mastodon")
    yield fake
    fake.stop()


def _get(fake: RunningFake) -> requests.Response:
    return requests.get(f"{fake.url}/api/v1/instance", timeout=5)


def test_a_bare_429_carries_no_retry_after(mastodon: RunningFake) -> None:
    mastodon.plan.configure(scripted=["429_bare"])
    answer = _get(mastodon)
    assert answer.status_code == 429 and "Retry-After" not in answer.headers
    mastodon.plan.configure(scripted=[429])
    assert _get(mastodon).headers.get("Retry-After") == "1"  # the plain kind keeps its header


def test_a_reset_connection_gets_no_answer_and_the_service_sees_nothing(mastodon: RunningFake) -> None:
    before = mastodon.state.summary()
    mastodon.plan.configure(scripted=["reset"])
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{mastodon.url}/api/v1/statuses", data={"status": "hi"}, timeout=5)
    assert mastodon.state.summary() == before
    assert mastodon.plan.injected["reset"] == 0  # scripted faults are not drawn, hence not counted


def test_drawn_faults_are_counted_by_kind(mastodon: RunningFake) -> None:
    mastodon.plan.configure(rate_slow=1.0, slow_seconds=0.01)
    assert _get(mastodon).status_code != 429  # slow, then answered by the service itself
    assert mastodon.plan.injected["slow"] == 1
    mastodon.plan.configure(rate_slow=0.0, rate_reset=1.0)
    with pytest.raises(requests.ConnectionError):
        _get(mastodon)
    mastodon.plan.configure(rate_reset=0.0, rate_429_bare=1.0)
    assert _get(mastodon).status_code == 429
    assert mastodon.plan.injected["reset"] == 1 and mastodon.plan.injected["429_bare"] == 1
