"""The SOQL subset through sf.query / query_all / query_more."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from simple_salesforce import SalesforceMalformedRequest

from .conftest import Client, Env, content


def _fixed(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


@pytest.fixture
def people(sf: Client, env: Env) -> dict[str, str]:
    base = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    made: dict[str, str] = {}
    for n, (first, last, email) in enumerate([
        ("Ada", "Lovelace", "ada@example.com"),
        ("Grace", "Hopper", "grace@example.com"),
        ("Alan", "Turing", None),
        ("Barbara", "Liskov", "barbara@example.org"),
    ]):  # fmt: skip
        env.state.clock = _fixed(base + timedelta(days=n))
        body = {"FirstName": first, "LastName": last}
        if email:
            body["Email"] = email
        made[last] = sf.Contact.create(body)["id"]
    env.state.clock = _fixed(base + timedelta(days=10))
    return made


def _last_names(result: Any) -> list[str]:
    return [r["LastName"] for r in result["records"]]


def test_where_in_order_limit(sf: Client, people: dict[str, str]) -> None:
    result = sf.query("SELECT Id, LastName FROM Contact WHERE LastName IN ('Hopper', 'Turing', 'Nobody') "
                      "ORDER BY LastName DESC LIMIT 5")  # fmt: skip
    assert _last_names(result) == ["Turing", "Hopper"]
    assert result["totalSize"] == 2 and result["done"] is True
    assert result["records"][0]["attributes"]["type"] == "Contact"
    assert list(result["records"][0]) == ["attributes", "Id", "LastName"]


def test_operators(sf: Client, people: dict[str, str]) -> None:
    q = "SELECT LastName FROM Contact WHERE "
    assert _last_names(sf.query(q + "Email = null")) == ["Turing"]
    assert len(sf.query(q + "Email != NULL")["records"]) == 3
    assert _last_names(sf.query(q + "Email LIKE '%.ORG'")) == ["Liskov"]  # case-insensitive
    assert _last_names(sf.query(q + "lastname = 'hopper'")) == ["Hopper"]
    assert set(_last_names(sf.query(q + "LastName NOT IN ('Hopper','Turing')"))) == {"Lovelace", "Liskov"}
    assert _last_names(sf.query(q + "(FirstName = 'Ada' OR FirstName = 'Alan') AND NOT Email = null")) == ["Lovelace"]
    assert _last_names(sf.query(q + "CreatedDate > 2024-05-03T12:00:00Z ORDER BY CreatedDate")) == ["Liskov"]
    assert _last_names(sf.query(q + "CreatedDate >= 2024-05-03T12:00:00.000+0000 ORDER BY CreatedDate ASC")) == [
        "Turing", "Liskov"
    ]  # fmt: skip
    assert len(sf.query(q + "CreatedDate = LAST_N_DAYS:30")["records"]) == 4
    assert sf.query(q + "CreatedDate = TODAY")["records"] == []
    assert _last_names(sf.query(q + "Id = '" + people["Hopper"][:15] + "'")) == ["Hopper"]


def test_order_nulls_and_offset(sf: Client, people: dict[str, str]) -> None:
    q = "SELECT LastName FROM Contact ORDER BY Email "
    assert _last_names(sf.query(q + "ASC NULLS LAST"))[-1] == "Turing"
    assert _last_names(sf.query(q + "ASC"))[0] == "Turing"  # nulls first by default
    # grace, barbara, ada, then null last (DESC default)
    assert _last_names(sf.query(q + "DESC LIMIT 2 OFFSET 1")) == ["Liskov", "Lovelace"]


def test_count_and_relationships(sf: Client, people: dict[str, str]) -> None:
    assert sf.query("SELECT COUNT() FROM Contact WHERE Email != null") == {
        "totalSize": 3, "done": True, "records": []
    }  # fmt: skip
    agg = sf.query("SELECT COUNT(Email) n FROM Contact")["records"][0]
    assert agg == {"attributes": {"type": "AggregateResult"}, "n": 3}
    persona = sf.SocialPersona.create({"Name": "@ada", "ParentId": people["Lovelace"], "Provider": "Twitter"})["id"]
    sf.SocialPost.create({"Name": "hi", "PersonaId": persona, "Status": "Pending", "IsOutbound": True})
    sf.SocialPost.create({"Name": "orphan"})
    rows = sf.query("SELECT Name, Persona.ParentId, Persona.Parent.Name FROM SocialPost "
                    "WHERE Persona.ParentId != null")["records"]  # fmt: skip
    assert len(rows) == 1
    assert rows[0]["Persona"]["ParentId"] == people["Lovelace"]
    assert rows[0]["Persona"]["Parent"]["Name"] == "Ada Lovelace"
    orphan = sf.query("SELECT Persona.Name FROM SocialPost WHERE Name = 'orphan'")["records"][0]
    assert orphan["Persona"] is None
    pending = sf.query("SELECT Id FROM SocialPost WHERE IsOutbound = TRUE AND Status = 'Pending'")
    assert pending["totalSize"] == 1


def test_query_errors(sf: Client, people: dict[str, str]) -> None:
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query("SELECT Id, Shoe__c FROM Contact")
    err = content(info)[0]
    assert err["errorCode"] == "INVALID_FIELD"
    assert "ERROR at Row:1:Column:12\nNo such column 'Shoe__c' on entity 'Contact'." in err["message"]
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query("SELECT Id FROM Contact WHERE")
    assert content(info)[0]["errorCode"] == "MALFORMED_QUERY"
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query("SELECT Id FROM Shoe__c")
    assert content(info)[0]["errorCode"] == "INVALID_TYPE"
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query("SELECT Id FROM Contact WHERE CreatedDate > '2024-01-01'")
    assert content(info)[0]["errorCode"] == "INVALID_FIELD"


def test_pagination_and_batch_size(sf: Client, env: Env) -> None:
    for n in range(2300):
        env.state.insert(env.org, "Contact", {"LastName": f"P{n:04d}"}, env.user.id)
    first = sf.query("SELECT Id, LastName FROM Contact ORDER BY LastName")
    assert (first["totalSize"], len(first["records"]), first["done"]) == (2300, 2000, False)
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
    assert first["nextRecordsUrl"].endswith("-2000")
    rest = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert (len(rest["records"]), rest["done"]) == (300, True) and "nextRecordsUrl" not in rest
    everything = sf.query_all("SELECT LastName FROM Contact ORDER BY LastName")
    assert [r["LastName"] for r in everything["records"]] == [f"P{n:04d}" for n in range(2300)]
    small = sf.query("SELECT Id FROM Contact", headers={"Sforce-Query-Options": "batchSize=500"})
    assert len(small["records"]) == 500
    tiny = sf.query("SELECT Id FROM Contact", headers={"Sforce-Query-Options": "batchSize=10"})
    assert len(tiny["records"]) == 200  # documented minimum


def test_query_all_includes_deleted(sf: Client, people: dict[str, str]) -> None:
    sf.Contact.delete(people["Turing"])
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 3
    deleted = sf.query_all("SELECT LastName, IsDeleted FROM Contact WHERE IsDeleted = true", include_deleted=True)
    assert [(r["LastName"], r["IsDeleted"]) for r in deleted["records"]] == [("Turing", True)]


def test_in_lists_match_ids_in_either_form_and_text_in_any_case(sf: Client, people: dict[str, str]) -> None:
    """``IN`` over string literals is a set look-up in the fake (a query naming 200 ids against an org
    of 100,000 records was 20 million comparisons); it answers what one comparison per literal did."""
    q = "SELECT LastName FROM Contact WHERE "
    hopper15 = people["Hopper"][:15]
    assert set(_last_names(sf.query(q + f"Id IN ('{hopper15}', '{people['Turing']}')"))) == {"Hopper", "Turing"}
    assert set(_last_names(sf.query(q + f"Id NOT IN ('{hopper15}')"))) == {"Lovelace", "Turing", "Liskov"}
    assert _last_names(sf.query(q + "LastName IN ('hopper', 'LISKOV', 'nobody') ORDER BY LastName")) == [
        "Hopper", "Liskov"
    ]  # fmt: skip
    # A field left empty is in no list, so it is in every NOT IN.
    assert _last_names(sf.query(q + "Email IN ('ADA@example.com', 'turing@example.com')")) == ["Lovelace"]
    assert "Turing" in _last_names(sf.query(q + "Email NOT IN ('ada@example.com')"))
