"""sObject Collections via sf.restful("composite/sobjects", ...): partial success, allOrNone, limits."""

from __future__ import annotations

from typing import Any

import pytest
from simple_salesforce import SalesforceMalformedRequest

from sandbox.salesforce import FieldDef

from .conftest import Client, Env, content

ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",
    "fields": [],
}


def _contacts(*last_names: str | None) -> list[dict[str, Any]]:
    return [{"attributes": {"type": "Contact"}, **({"LastName": n} if n else {})} for n in last_names]


def test_create_partial_success(sf: Client, env: Env) -> None:
    results = sf.restful("composite/sobjects", method="POST",
                         json={"allOrNone": False, "records": _contacts("A", None, "C")})  # fmt: skip
    assert results[0]["success"] is True and results[0]["id"].startswith("003")
    assert results[1] == {"success": False, "errors": [{
        "statusCode": "REQUIRED_FIELD_MISSING", "message": "Required fields are missing: [LastName]",
        "fields": ["LastName"],
    }]}  # fmt: skip
    assert results[2]["success"] is True
    assert sorted(r["LastName"] for r in env.state.records("Contact")) == ["A", "C"]


def test_create_all_or_none_rolls_back(sf: Client, env: Env) -> None:
    results = sf.restful("composite/sobjects", method="POST",
                         json={"allOrNone": True, "records": _contacts("A", None, "C")})  # fmt: skip
    assert results[0] == {"success": False, "errors": [ROLLED_BACK]}
    assert results[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert results[2] == {"success": False, "errors": [ROLLED_BACK]}
    assert env.state.records("Contact") == []
    ok = sf.restful("composite/sobjects", method="POST", json={"allOrNone": True, "records": _contacts("A")})
    assert ok[0]["success"] is True
    assert [r["Id"] for r in env.state.records("Contact")] == [ok[0]["id"]]


def test_mixed_types_in_one_request(sf: Client) -> None:
    contact = sf.Contact.create({"LastName": "Owner"})["id"]
    records = [
        {"attributes": {"type": "SocialPersona"}, "Name": "@o", "ParentId": contact, "Provider": "Twitter"},
        {"attributes": {"type": "Case"}, "Subject": "Help", "Origin": "Web", "ContactId": contact},
    ]
    results = sf.restful("composite/sobjects", method="POST", json={"records": records})
    assert [r["id"][:3] for r in results] == ["0SP", "500"]


def test_more_than_200_records(sf: Client) -> None:
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.restful("composite/sobjects", method="POST", json={"records": _contacts(*["x"] * 201)})
    assert content(info) == [{
        "message": "record limit reached. cannot submit more than 200 records into this call",
        "errorCode": "EXCEEDED_ID_LIMIT",
    }]  # fmt: skip


def test_missing_type_is_rejected(sf: Client) -> None:
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.restful("composite/sobjects", method="POST", json={"records": [{"LastName": "x"}]})
    assert content(info)[0]["errorCode"] == "INVALID_TYPE"


def test_update_delete_and_retrieve(sf: Client, env: Env) -> None:
    made = sf.restful("composite/sobjects", method="POST", json={"records": _contacts("A", "B")})
    ids = [r["id"] for r in made]
    updates = [
        {"attributes": {"type": "Contact"}, "Id": ids[0], "Title": "CEO"},
        {"attributes": {"type": "Contact"}, "Id": ids[1], "LastName": None},
    ]
    results = sf.restful("composite/sobjects", method="PATCH", json={"allOrNone": False, "records": updates})
    assert results[0] == {"id": ids[0], "success": True, "errors": []}
    assert results[1]["success"] is False and results[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    got = sf.restful("composite/sobjects/Contact", params={"ids": ",".join(ids), "fields": "Title,LastName"})
    assert [(g["Title"], g["LastName"]) for g in got] == [("CEO", "A"), (None, "B")]
    deleted = sf.restful("composite/sobjects", method="DELETE", params={"ids": ",".join(ids), "allOrNone": "false"})
    assert [d["success"] for d in deleted] == [True, True]
    again = sf.restful("composite/sobjects", method="DELETE", params={"ids": ids[0]})
    assert again[0]["errors"][0]["statusCode"] == "ENTITY_IS_DELETED"


def test_upsert_collection(sf: Client, env: Env) -> None:
    env.state.add_field("Contact", FieldDef("Social_Key__c", "string", length=100, external_id=True))
    records = [
        {"attributes": {"type": "Contact"}, "Social_Key__c": "tw:1", "LastName": "One"},
        {"attributes": {"type": "Contact"}, "Social_Key__c": "tw:2", "LastName": "Two"},
    ]
    first = sf.restful("composite/sobjects/Contact/Social_Key__c", method="PATCH", json={"records": records})
    assert [r["created"] for r in first] == [True, True]
    records[1]["LastName"] = "Deux"
    second = sf.restful("composite/sobjects/Contact/Social_Key__c", method="PATCH", json={"records": records})
    assert [r["created"] for r in second] == [False, False]
    assert [r["id"] for r in second] == [r["id"] for r in first]
    assert sorted(r["LastName"] for r in env.state.records("Contact")) == ["Deux", "One"]


def test_duplicates_in_collections(sf: Client, env: Env, contact_dupe_rule: object) -> None:
    records = [{"attributes": {"type": "Contact"}, "LastName": n, "Email": "dup@example.com"} for n in ("A", "B")]
    results = sf.restful("composite/sobjects", method="POST", json={"records": records})
    assert results[0]["success"] is True
    assert results[1]["errors"][0]["statusCode"] == "DUPLICATES_DETECTED"
    allowed = sf.restful("composite/sobjects", method="POST", json={"records": records[1:]},
                         headers={"Sforce-Duplicate-Rule-Header": "allowSave=true"})  # fmt: skip
    assert allowed[0]["success"] is True


def test_a_locked_row_fails_the_records_that_write_or_name_it(sf: Client, env: Env) -> None:
    held = sf.Account.create({"Name": "Busy"})["id"]
    free = sf.Account.create({"Name": "Free"})["id"]
    env.state.lock_rows([held])
    records = [
        {"attributes": {"type": "Contact"}, "LastName": "A", "AccountId": held},
        {"attributes": {"type": "Contact"}, "LastName": "B", "AccountId": free},
    ]
    results = sf.restful("composite/sobjects", method="POST", json={"allOrNone": False, "records": records})
    assert [r["success"] for r in results] == [False, True]
    [error] = results[0]["errors"]
    assert error["statusCode"] == "UNABLE_TO_LOCK_ROW" and held in error["message"]
    update = [{"attributes": {"type": "Account"}, "Id": held, "Name": "Renamed"}]
    [refused] = sf.restful("composite/sobjects", method="PATCH", json={"allOrNone": False, "records": update})
    assert refused["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW"
    env.state.unlock_rows()
    [saved] = sf.restful("composite/sobjects", method="PATCH", json={"allOrNone": False, "records": update})
    assert saved["success"] is True
