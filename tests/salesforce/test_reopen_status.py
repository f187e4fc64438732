"""Salesforce reopens a case with the org's configured ``reopen_status`` (found as a surviving mutant)."""

from __future__ import annotations

from datetime import timedelta

from plugin.salesforce.sink import SalesforceSink
from sandbox.salesforce import casestatus
from tests.support.netplugin import make_mention

from .conftest import SfEnv, connection, item


def test_a_reopened_case_takes_the_configured_status(sink: SalesforceSink, sfenv: SfEnv) -> None:
    [first] = sink.deliver(connection(sfenv), [item(make_mention("m1", author="u1"))])
    case_id = next(p for p in sfenv.records("SocialPost") if p["Id"] == first.remote_id)["ParentId"]
    sfenv.close_case(case_id, days_ago=2)
    [second] = sink.deliver(connection(sfenv, reopen_status="Working"), [item(make_mention("m2", author="u1"))])
    assert second.status == "delivered", second.error
    [case] = sfenv.records("Case")
    assert case["Id"] == case_id and case["Status"] == "Working" and case["IsClosed"] is False


def test_without_a_configured_status_the_orgs_default_open_status_is_used(sink: SalesforceSink, sfenv: SfEnv) -> None:
    # An org whose admin renamed the statuses: "Open" is the default, "Done" closes.
    with sfenv.state.lock:
        casestatus.seed(sfenv.org, [("Open", True, False), ("Waiting", False, False), ("Done", False, True)])
    [first] = sink.deliver(connection(sfenv), [item(make_mention("m1", author="u1"))])
    case_id = next(p for p in sfenv.records("SocialPost") if p["Id"] == first.remote_id)["ParentId"]
    with sfenv.at(sfenv.state.clock() - timedelta(days=2)):
        sfenv.admin().Case.update(case_id, {"Status": "Done"})
    assert sfenv.records("Case")[0]["IsClosed"] is True
    [second] = sink.deliver(connection(sfenv), [item(make_mention("m2", author="u1"))])
    assert second.status == "delivered", second.error
    [case] = sfenv.records("Case")
    assert case["Id"] == case_id and case["Status"] == "Open" and case["IsClosed"] is False


def test_the_fake_serves_case_statuses_to_soql(sfenv: SfEnv) -> None:
    rows = sfenv.admin().query("SELECT MasterLabel FROM CaseStatus WHERE IsDefault = true")["records"]
    assert [r["MasterLabel"] for r in rows] == ["New"]
