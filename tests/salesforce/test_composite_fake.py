"""Contract tests of the fake's Composite resource (``POST /services/data/vXX.X/composite``), driven
through simple-salesforce's ``restful`` as a client would: references between subrequests, allOrNone
rollback, the documented limits and errors, and one API call for the whole series."""

from __future__ import annotations

from typing import Any

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from .conftest import SfEnv


def _composite(sf: Any, subrequests: list[dict[str, Any]], **options: Any) -> list[dict[str, Any]]:
    answer = sf.restful("composite", method="POST", json={"compositeRequest": subrequests, **options})
    return list(answer["compositeResponse"])


def _base(sf: Any) -> str:
    return f"/services/data/v{sf.sf_version}"


def test_a_chain_of_creates_and_queries_runs_as_one_call(sfenv: SfEnv) -> None:
    sf = sfenv.admin()
    base = _base(sf)
    calls_before, used_before = sum(sfenv.state.calls.values()), sfenv.org.api_used
    results = _composite(sf, [
        {"method": "POST", "url": f"{base}/composite/sobjects", "referenceId": "contacts",
         "body": {"allOrNone": False, "records": [
             {"attributes": {"type": "Contact"}, "LastName": "Ada"},
             {"attributes": {"type": "Contact"}, "LastName": "Grace"}]}},
        {"method": "POST", "url": f"{base}/sobjects/Case", "referenceId": "case",
         "body": {"Subject": "help", "Origin": "Web", "ContactId": "@{contacts[1].id}"}},
        {"method": "GET", "url": f"{base}/query/?q=SELECT+Id,ContactId+FROM+Case", "referenceId": "cases"},
        {"method": "GET", "url": f"{base}/sobjects/Contact/@{{cases.records[0].ContactId}}?fields=LastName",
         "referenceId": "who"},
    ], allOrNone=True, collateSubrequests=False)  # fmt: skip
    assert [r["httpStatusCode"] for r in results] == [200, 201, 200, 200], results
    assert [r["referenceId"] for r in results] == ["contacts", "case", "cases", "who"]
    assert results[3]["body"]["LastName"] == "Grace"
    case_id = results[1]["body"]["id"]
    assert results[1]["httpHeaders"]["Location"] == f"{base}/sobjects/Case/{case_id}"
    assert sfenv.records("Case")[0]["ContactId"] == results[0]["body"][1]["id"]
    # One HTTP request: one call for the fake's counter and for the org's daily allowance.
    assert sum(sfenv.state.calls.values()) - calls_before == 1
    assert sfenv.org.api_used - used_before == 1


def test_all_or_none_rolls_everything_back_and_halts_the_rest(sfenv: SfEnv) -> None:
    sf = sfenv.admin()
    base = _base(sf)
    results = _composite(sf, [
        {"method": "POST", "url": f"{base}/sobjects/Contact", "referenceId": "ada", "body": {"LastName": "Ada"}},
        {"method": "POST", "url": f"{base}/sobjects/Contact", "referenceId": "nameless", "body": {"FirstName": "X"}},
        {"method": "POST", "url": f"{base}/sobjects/Contact", "referenceId": "grace", "body": {"LastName": "Grace"}},
    ], allOrNone=True)  # fmt: skip
    assert [r["httpStatusCode"] for r in results] == [400, 400, 400]
    assert results[1]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    for halted in (results[0], results[2]):
        assert halted["body"][0]["errorCode"] == "PROCESSING_HALTED"
        assert "rolled back" in halted["body"][0]["message"]
    assert sfenv.records("Contact") == []  # Ada's create was undone


def test_a_record_failing_in_a_collection_fails_the_all_or_none_composite(sfenv: SfEnv) -> None:
    sf = sfenv.admin()
    base = _base(sf)
    results = _composite(sf, [
        # The collection asks for allOrNone false; the composite's true overrides it.
        {"method": "POST", "url": f"{base}/composite/sobjects", "referenceId": "contacts",
         "body": {"allOrNone": False, "records": [{"attributes": {"type": "Contact"}, "LastName": "Ada"},
                                                   {"attributes": {"type": "Contact"}, "FirstName": "X"}]}},
        {"method": "POST", "url": f"{base}/sobjects/Case", "referenceId": "case",
         "body": {"Subject": "s", "Origin": "Web", "ContactId": "@{contacts[0].id}"}},
    ], allOrNone=True)  # fmt: skip
    assert [r["httpStatusCode"] for r in results] == [400, 400]
    assert [r["success"] for r in results[0]["body"]] == [False, False]
    assert results[1]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert sfenv.records("Contact") == [] and sfenv.records("Case") == []


def test_without_all_or_none_only_the_dependents_of_a_failure_are_skipped(sfenv: SfEnv) -> None:
    sf = sfenv.admin()
    base = _base(sf)
    results = _composite(sf, [
        {"method": "POST", "url": f"{base}/sobjects/Contact", "referenceId": "bad", "body": {"FirstName": "X"}},
        {"method": "POST", "url": f"{base}/sobjects/Case", "referenceId": "dependent",
         "body": {"Subject": "s", "Origin": "Web", "ContactId": "@{bad.id}"}},
        {"method": "POST", "url": f"{base}/sobjects/Contact", "referenceId": "ok", "body": {"LastName": "Ok"}},
        {"method": "GET", "url": f"{base}/query/?q=SELECT+Id+FROM+Contact+WHERE+LastName='Nobody'",
         "referenceId": "none"},
        {"method": "PATCH", "url": f"{base}/sobjects/Contact/@{{none.records[0].Id}}", "referenceId": "nothing",
         "body": {"LastName": "Somebody"}},
    ], allOrNone=False)  # fmt: skip
    assert [r["httpStatusCode"] for r in results] == [400, 400, 201, 200, 400]
    assert results[1]["body"][0] == {
        "errorCode": "PROCESSING_HALTED", "message": "Invalid reference specified. No value for bad.id found in bad",
    }  # fmt: skip
    assert results[4]["body"][0]["message"] == (
        "Invalid reference specified. No value for none.records[0].Id found in none"
    )
    assert [c["LastName"] for c in sfenv.records("Contact")] == ["Ok"] and sfenv.records("Case") == []


def test_the_documented_limits(sfenv: SfEnv) -> None:
    sf = sfenv.admin()
    base = _base(sf)
    query = f"{base}/query/?q=SELECT+Id+FROM+Contact"
    too_many = [{"method": "GET", "url": f"{base}/sobjects/Contact", "referenceId": f"r{i}"} for i in range(26)]
    results = _composite(sf, too_many)
    refused = {"errorCode": "LIMIT_EXCEEDED", "message": "The request can\u2019t contain more than 25 operations."}
    assert results == [{"body": [refused], "httpHeaders": {}, "httpStatusCode": 400, "referenceId": None}]
    six_queries = [{"method": "GET", "url": query, "referenceId": f"q{i}"} for i in range(6)]
    assert _composite(sf, six_queries)[0]["body"][0]["errorCode"] == "LIMIT_EXCEEDED"
    five = _composite(sf, six_queries[:5] + too_many[:20])  # 25 subrequests, 5 of them queries: allowed
    assert len(five) == 25 and {r["httpStatusCode"] for r in five} == {200}


def test_malformed_requests_fail_whole(sfenv: SfEnv) -> None:
    sf = sfenv.admin()
    base = _base(sf)
    bad = [
        [{"method": "GET", "url": f"{base}/sobjects/Contact", "referenceId": "a",
          "httpHeaders": {"Authorization": "Bearer x"}}],  # inherited from the top-level request only
        [{"method": "get", "url": f"{base}/sobjects/Contact", "referenceId": "a"}],  # methods are case-sensitive
        [{"method": "GET", "url": f"{base}/sobjects/Contact", "referenceId": "a-b"}],  # letters, digits, _
    ]  # fmt: skip
    for subrequests in bad:
        with pytest.raises(SalesforceMalformedRequest):
            _composite(sf, subrequests)
    # A resource the Composite API does not run, or none at all: that subrequest is NOT_FOUND.
    results = _composite(sf, [{"method": "GET", "url": f"{base}/limits", "referenceId": "limits"},
                              {"method": "GET", "url": f"{base}/sobjects/Nope__c", "referenceId": "nope"}])  # fmt: skip
    assert [(r["httpStatusCode"], r["body"][0]["errorCode"]) for r in results] == [(404, "NOT_FOUND")] * 2


def test_an_expired_session_is_refused_before_any_subrequest(sfenv: SfEnv) -> None:
    sf = sfenv.admin()
    sf.session_id = "not-a-session"
    sf.headers["Authorization"] = "Bearer not-a-session"
    composite = "POST /services/data/v<version>/composite"
    before = sfenv.state.calls[composite]
    # 401 INVALID_SESSION_ID for the whole request: simple-salesforce logs in again and sends it again.
    results = _composite(sf, [{"method": "POST", "url": f"{_base(sf)}/sobjects/Contact", "referenceId": "a",
                               "body": {"LastName": "A"}}])  # fmt: skip
    assert [r["httpStatusCode"] for r in results] == [201]
    assert sfenv.state.calls[composite] - before == 2
    assert len(sfenv.records("Contact")) == 1  # the refused request created nothing


def test_a_rolled_back_composite_publishes_no_change_event(sfenv: SfEnv) -> None:
    sf = sfenv.admin()
    base = _base(sf)
    sfenv.state.changes.select_entities(sfenv.org.id, ["Contact"])  # Setup > Change Data Capture
    ada = {"method": "POST", "url": f"{base}/sobjects/Contact", "referenceId": "ada", "body": {"LastName": "Ada"}}
    nameless = {"method": "POST", "url": f"{base}/sobjects/Contact", "referenceId": "bad", "body": {"FirstName": "X"}}
    _composite(sf, [ada, nameless], allOrNone=True)
    assert sfenv.state.changes.events.get(sfenv.org.id, []) == []  # Ada's create was never committed
    _composite(sf, [ada], allOrNone=True)
    [event] = sfenv.state.changes.events[sfenv.org.id]
    assert event.payload["ChangeEventHeader"]["changeType"] == "CREATE" and event.payload["LastName"] == "Ada"
