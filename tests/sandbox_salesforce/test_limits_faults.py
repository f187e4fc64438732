"""API usage header and /limits, the daily limit, and injected faults (FaultPlan)."""

from __future__ import annotations

import pytest
from simple_salesforce import SalesforceGeneralError, SalesforceRefusedRequest

from .conftest import Client, Env, content


def test_limit_info_header_and_limits_resource(sf: Client, env: Env) -> None:
    env.state.set_api_limit(100, used=10)
    sf.query("SELECT COUNT() FROM Contact")
    usage = sf.api_usage["api-usage"]
    assert (usage.used, usage.total) == (11, 100)
    assert sf.limits()["DailyApiRequests"] == {"Max": 100, "Remaining": 88}
    resp = env.session().get(f"{env.base}/services/data/v59.0/sobjects",
                             headers={"Authorization": f"Bearer {sf.session_id}"})  # fmt: skip
    assert resp.headers["Sforce-Limit-Info"] == "api-usage=13/100"


def test_request_limit_exceeded(sf: Client, env: Env) -> None:
    env.state.set_api_limit(5, used=5)
    with pytest.raises(SalesforceRefusedRequest) as info:
        sf.Contact.create({"LastName": "Late"})
    assert info.value.status == 403
    assert content(info) == [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    assert env.state.records("Contact") == []


def test_versions_and_call_counts(sf: Client, env: Env) -> None:
    versions = env.session().get(f"{env.base}/services/data/").json()
    assert {"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"} in versions
    sf.Contact.create({"LastName": "Counted"})
    sf.Contact.create({"LastName": "Counted"})
    assert env.state.calls["POST /services/data/v<version>/sobjects/<sobject>"] == 2


def test_injected_503_and_429(sf: Client, env: Env) -> None:
    env.plan.configure(scripted=[503, 429])
    with pytest.raises(SalesforceGeneralError) as info:
        sf.query("SELECT COUNT() FROM Contact")
    assert info.value.status == 503
    assert content(info) == [{"message": "Service Unavailable", "errorCode": "SERVER_UNAVAILABLE"}]
    resp = env.session().get(f"{env.base}/services/data/v59.0/limits",
                             headers={"Authorization": f"Bearer {sf.session_id}"})  # fmt: skip
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "1"
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 0


def test_seeded_random_faults_over_http(sf: Client, env: Env) -> None:
    http = env.session()
    assert http.post(f"{env.base}/_sandbox/faults", json={"rate_5xx": 1.0, "seed": 7}).status_code == 200
    with pytest.raises(SalesforceGeneralError):
        sf.Contact.create({"LastName": "Nope"})
    assert env.plan.injected["5xx"] == 1
    # Control endpoints are never faulted.
    assert http.post(f"{env.base}/_sandbox/limits", json={"api_limit": 50}).json()["api_limit"] == 50
