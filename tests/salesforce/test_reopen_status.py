"""Salesforce reopens a case with the org's configured ``reopen_status`` (found as a surviving mutant)."""

from __future__ import annotations

from plugin.salesforce.sink import SalesforceSink
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
