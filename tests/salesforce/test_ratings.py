"""Satisfaction answers on the Salesforce Case (SalesforceSink.record_rating), against the fake through
simple-salesforce: an internal CaseComment, the optional CSAT field, a closed Case reopened when the
answer is negative, and clear failures when there is nowhere to write."""

from __future__ import annotations

import pytest

from plugin.errors import FatalError
from plugin.salesforce.sink import SalesforceSink
from plugin.sink import Rating
from sandbox.salesforce.schema import FieldDef
from tests.support.netplugin import make_mention

from .conftest import SfEnv, connection, item


def _post_on_case(sink: SalesforceSink, sfenv: SfEnv, key: str) -> tuple[str, str]:
    [outcome] = sink.deliver(connection(sfenv), [item(make_mention(key, author=f"author-{key}"))])
    assert outcome.status == "delivered"
    post = outcome.remote_id or ""
    [case_id] = [p["ParentId"] for p in sfenv.records("SocialPost") if p["Id"] == post]
    return post, case_id


def _case(sfenv: SfEnv, case_id: str) -> dict[str, object]:
    return next(c for c in sfenv.records("Case") if c["Id"] == case_id)


def _comments(sfenv: SfEnv, case_id: str) -> list[dict[str, object]]:
    return [c for c in sfenv.records("CaseComment") if c["ParentId"] == case_id]


def test_negative_rating_on_a_closed_case_reopens_it_with_an_internal_comment(
    sink: SalesforceSink, sfenv: SfEnv
) -> None:
    post, case_id = _post_on_case(sink, sfenv, "r1")
    sfenv.close_case(case_id, days_ago=0.1)
    note = "Customer satisfaction: 2/5 (answered on testnet). Negative rating: please follow up with the customer."
    result = sink.record_rating(connection(sfenv), Rating(post, 2, "testnet", note))
    case = _case(sfenv, case_id)
    assert case["IsClosed"] is False and case["Status"] == "New"  # the org's default open CaseStatus
    [comment] = _comments(sfenv, case_id)
    assert comment["IsPublished"] is False and comment["CommentBody"] == note
    assert result is not None and "reopened (Status New)" in result and "internal comment" in result


def test_positive_rating_leaves_the_case_closed_and_fills_the_csat_field(sink: SalesforceSink, sfenv: SfEnv) -> None:
    sfenv.state.add_field("Case", FieldDef("CSAT__c", "double", label="CSAT"), org_id=sfenv.org.id)
    post, case_id = _post_on_case(sink, sfenv, "r2")
    sfenv.close_case(case_id, days_ago=0.1)
    result = sink.record_rating(connection(sfenv, csat_field="CSAT__c"), Rating(post, 5, "testnet", "5/5"))
    case = _case(sfenv, case_id)
    assert case["IsClosed"] is True and case["CSAT__c"] == 5
    assert [c["CommentBody"] for c in _comments(sfenv, case_id)] == ["5/5"]
    assert result is not None and "CSAT__c = 5" in result and "reopened" not in result


def test_a_negative_rating_on_an_open_case_stays_with_its_owner(sink: SalesforceSink, sfenv: SfEnv) -> None:
    post, case_id = _post_on_case(sink, sfenv, "r3")
    before = _case(sfenv, case_id)["Status"]
    sink.record_rating(connection(sfenv), Rating(post, 1, "testnet", "1/5, please follow up"))
    assert _case(sfenv, case_id)["Status"] == before and len(_comments(sfenv, case_id)) == 1


def test_nowhere_to_write_is_a_fatal_error_with_the_reason(sink: SalesforceSink, sfenv: SfEnv) -> None:
    with pytest.raises(FatalError, match="gone or has no Case"):
        sink.record_rating(connection(sfenv), Rating("0ST000000000000AAA", 4, "testnet", "4/5"))
    post, _ = _post_on_case(sink, sfenv, "r4")
    with pytest.raises(FatalError, match="not a custom field API name"):
        sink.record_rating(connection(sfenv, csat_field="Status; DROP"), Rating(post, 4, "testnet", "4/5"))
    with pytest.raises(FatalError):  # a custom field the org does not have: Salesforce refuses the update
        sink.record_rating(connection(sfenv, csat_field="Missing__c"), Rating(post, 4, "testnet", "4/5"))
