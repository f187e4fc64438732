"""sObject rows, describe and validation errors through simple-salesforce's SFType API."""

from __future__ import annotations

from typing import Any

import pytest
from simple_salesforce import SalesforceMalformedRequest, SalesforceResourceNotFound

from sandbox.salesforce import DuplicateRule, FieldDef
from sandbox.salesforce.ids import case_safe_suffix

from .conftest import Client, Env, content


def test_create_get_update_delete_contact(sf: Client, env: Env) -> None:
    created = sf.Contact.create({"FirstName": "Ada", "LastName": "Lovelace", "Email": "ada@example.com"})
    assert created["success"] is True and created["errors"] == []
    cid = created["id"]
    assert cid.startswith("003") and len(cid) == 18 and cid[15:] == case_safe_suffix(cid[:15])
    got = sf.Contact.get(cid)
    assert got["attributes"] == {"type": "Contact", "url": f"/services/data/v59.0/sobjects/Contact/{cid}"}
    assert got["Name"] == "Ada Lovelace" and got["OwnerId"] == env.user.id
    assert got["CreatedDate"] == got["LastModifiedDate"] and got["CreatedDate"].endswith("+0000")
    assert sf.Contact.get(cid[:15])["Id"] == cid  # 15-char form accepted

    later = env.state.clock()
    from datetime import timedelta

    env.state.clock = lambda: later + timedelta(minutes=5)
    assert sf.Contact.update(cid, {"Phone": "+1 555 0100"}) == 204
    updated = sf.Contact.get(cid)
    assert updated["Phone"] == "+1 555 0100" and updated["LastModifiedDate"] > updated["CreatedDate"]
    assert updated["SystemModstamp"] == updated["LastModifiedDate"]

    assert sf.Contact.delete(cid) == 204
    with pytest.raises(SalesforceResourceNotFound) as info:
        sf.Contact.get(cid)
    assert content(info) == [{"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED", "fields": []}]


def test_key_prefixes(sf: Client) -> None:
    account = sf.Account.create({"Name": "Acme"})["id"]
    lead = sf.Lead.create({"LastName": "L", "Company": "Acme"})["id"]
    contact = sf.Contact.create({"LastName": "C", "AccountId": account})["id"]
    case = sf.Case.create({"Subject": "Broken", "Origin": "Web", "ContactId": contact})["id"]
    persona = sf.SocialPersona.create({"Name": "@ada", "ParentId": contact, "Provider": "Twitter"})["id"]
    post = sf.SocialPost.create({"Name": "Post from @ada", "PersonaId": persona, "ParentId": case,
                                 "Provider": "Twitter", "MessageType": "Tweet"})["id"]  # fmt: skip
    assert [i[:3] for i in (account, lead, contact, case, persona, post)] == ["001", "00Q", "003", "500", "0SP", "0ST"]
    got_case = sf.Case.get(case)
    assert (got_case["Status"], got_case["Priority"], got_case["IsClosed"]) == ("New", "Medium", False)
    assert got_case["CaseNumber"] == "00001001"
    assert sf.Lead.get(lead)["Status"] == "Open - Not Contacted"
    assert sf.SocialPost.get(post)["IsOutbound"] is False


def test_get_unknown_record_and_object(sf: Client) -> None:
    with pytest.raises(SalesforceResourceNotFound) as info:
        sf.Contact.get("003000000000000AAA")
    assert content(info) == [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]
    with pytest.raises(SalesforceResourceNotFound):
        sf.Nonexistent__c.describe()


def _error(excinfo: pytest.ExceptionInfo[Any]) -> dict[str, Any]:
    body = content(excinfo)
    assert isinstance(body, list) and len(body) == 1
    return dict(body[0])


def test_required_field_missing(sf: Client) -> None:
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.SocialPersona.create({"Name": "@x"})
    assert _error(info) == {
        "message": "Required fields are missing: [ParentId, Provider]",
        "errorCode": "REQUIRED_FIELD_MISSING",
        "fields": ["ParentId", "Provider"],
    }


def test_string_too_long(sf: Client) -> None:
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.Contact.create({"LastName": "x" * 81})
    err = _error(info)
    assert err["errorCode"] == "STRING_TOO_LONG" and err["fields"] == ["LastName"]
    assert str(err["message"]).endswith("(max length=80)")


def test_restricted_picklist(sf: Client, env: Env) -> None:
    contact = sf.Contact.create({"LastName": "P"})["id"]
    persona = sf.SocialPersona.create({"Name": "@p", "ParentId": contact, "Provider": "Twitter"})["id"]
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.SocialPost.create({"Name": "p", "PersonaId": persona, "AttachmentType": "GIF"})
    assert _error(info) == {
        "message": "Attachment Type: bad value for restricted picklist field: GIF",
        "errorCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        "fields": ["AttachmentType"],
    }
    # An admin can restrict a standard picklist; the fake then enforces it the same way.
    env.state.set_picklist("SocialPost", "Provider", ["Twitter", "Facebook"], restricted=True)
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.SocialPost.create({"Name": "p", "Provider": "Mastodon"})
    assert _error(info)["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"


def test_unknown_and_readonly_fields(sf: Client) -> None:
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.Contact.create({"LastName": "U", "Shoe_Size__c": 44})
    assert _error(info) == {
        "message": "No such column 'Shoe_Size__c' on sobject of type Contact",
        "errorCode": "INVALID_FIELD",
    }
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.Case.create({"CaseNumber": "1"})
    assert _error(info)["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"


def test_reference_errors(sf: Client) -> None:
    contact = sf.Contact.create({"LastName": "R"})["id"]
    sf.Contact.delete(contact)
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.Case.create({"ContactId": contact})
    assert _error(info) == {"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED", "fields": []}
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.Case.create({"ContactId": "not-an-id"})
    assert _error(info)["errorCode"] == "MALFORMED_ID"


def test_upsert_by_external_id(sf: Client, env: Env) -> None:
    env.state.add_field("SocialPost", FieldDef("Horseshoe_Key__c", "string", length=255, external_id=True,
                                               unique=True))  # fmt: skip
    assert sf.SocialPost.upsert("Horseshoe_Key__c/x:123", {"Name": "first"}) == 201
    assert sf.SocialPost.upsert("Horseshoe_Key__c/x:123", {"Name": "second"}) == 200
    rows = env.state.records("SocialPost")
    assert [(r["Name"], r["Horseshoe_Key__c"]) for r in rows] == [("second", "x:123")]
    assert sf.SocialPost.get_by_custom_id("Horseshoe_Key__c", "x:123")["Name"] == "second"
    with pytest.raises(SalesforceResourceNotFound) as info:
        sf.SocialPost.upsert("Content/abc", {"Name": "n"})
    assert _error(info)["message"] == "Provided external ID field does not exist or is not accessible: Content"


def test_describe_and_describe_global(sf: Client) -> None:
    names = {o["name"] for o in sf.describe()["sobjects"]}
    assert {"Account", "Contact", "Lead", "Case", "SocialPost", "SocialPersona"} <= names
    post = sf.SocialPost.describe()
    assert post["keyPrefix"] == "0ST"
    fields = {f["name"]: f for f in post["fields"]}
    assert [v["value"] for v in fields["MessageType"]["picklistValues"]] == [
        "Comment", "Direct", "Post", "PrivateMessage", "Reply", "Retweet", "Tweet"
    ]  # fmt: skip
    assert fields["Name"]["nillable"] is False and fields["Content"]["length"] == 32000
    assert fields["PersonaId"]["referenceTo"] == ["SocialPersona"]
    assert sf.SocialPost.metadata()["objectDescribe"]["name"] == "SocialPost"


def test_social_objects_can_be_switched_off(sf: Client, env: Env) -> None:
    env.state.set_social_enabled(False)
    assert "SocialPost" not in {o["name"] for o in sf.describe()["sobjects"]}
    with pytest.raises(SalesforceResourceNotFound) as info:
        sf.SocialPost.describe()
    assert content(info)[0]["errorCode"] == "NOT_FOUND"
    with pytest.raises(SalesforceMalformedRequest) as qinfo:
        sf.query("SELECT Id FROM SocialPost")
    assert content(qinfo)[0]["errorCode"] == "INVALID_TYPE"
    assert "sObject type 'SocialPost' is not supported." in content(qinfo)[0]["message"]


def test_duplicate_rule_blocks_unless_header_allows(sf: Client, env: Env,
                                                    contact_dupe_rule: DuplicateRule) -> None:  # fmt: skip
    first = sf.Contact.create({"LastName": "One", "Email": "same@example.com"})["id"]
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.Contact.create({"LastName": "Two", "Email": "SAME@example.com"})
    err = _error(info)
    assert err["errorCode"] == "DUPLICATES_DETECTED"
    dup = err["duplicateResult"]
    assert isinstance(dup, dict) and dup["duplicateRule"] == "Standard_Contact_Duplicate_Rule"
    assert dup["matchResults"][0]["matchRecords"][0]["record"]["Id"] == first
    header = {"Sforce-Duplicate-Rule-Header": "allowSave=true; includeRecordDetails=false; runAsCurrentUser=true"}
    second = sf.Contact.create({"LastName": "Two", "Email": "same@example.com"}, headers=header)
    assert second["success"] is True
    env.state.add_duplicate_rule(DuplicateRule("Lead", ["Email"], "Lead_Block", action="block"))
    sf.Lead.create({"LastName": "A", "Company": "C", "Email": "l@example.com"})
    with pytest.raises(SalesforceMalformedRequest):
        sf.Lead.create({"LastName": "B", "Company": "C", "Email": "l@example.com"}, headers=header)


def test_archive_keeps_the_newest_records_of_the_named_objects_only(sf: Client, env: Env) -> None:
    contacts = [sf.Contact.create({"LastName": f"Contact {n}"})["id"] for n in range(4)]
    cases = [sf.Case.create({"Subject": f"Case {n}"})["id"] for n in range(3)]

    dropped = env.state.archive(env.org.id, ("Contact",), keep=2)

    assert dropped == 2
    left = {r["Id"] for r in env.state.records("Contact", org_id=env.org.id)}
    assert left == set(contacts[2:])  # the two newest
    for archived in contacts[:2]:
        with pytest.raises(SalesforceResourceNotFound):
            sf.Contact.get(archived)
    assert {r["Id"] for r in env.state.records("Case", org_id=env.org.id)} == set(cases)  # not named: kept
    assert sf.query("SELECT Id FROM Contact")["totalSize"] == 2
    assert env.state.archive(env.org.id, ("Contact",), keep=2) == 0
