"""Scenario + contract tests: the sink's inbound calls, real simple-salesforce against the fake."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from plugin.models import Labels, Match
from plugin.salesforce.sink import SalesforceSink
from plugin.sink import SinkConnection
from tests.support.netplugin import make_mention

from .conftest import SfEnv, connection, item


def _one(sink: SalesforceSink, env: SfEnv, mention, **kw):
    outcomes = sink.deliver(connection(env), [item(mention, **kw)])
    assert len(outcomes) == 1
    return outcomes[0]


def _post(env: SfEnv, post_id: str) -> dict:
    return next(p for p in env.records("SocialPost") if p["Id"] == post_id)


def test_new_author_gets_persona_contact_and_case(sink: SalesforceSink, sfenv: SfEnv) -> None:
    mention = make_mention("m1", author="u1", text="my order is late @brand")
    out = _one(sink, sfenv, mention, labels=Labels(sentiment="negative", language="en"))
    assert out.status == "delivered", out.error
    post = _post(sfenv, out.remote_id or "")
    [persona] = sfenv.records("SocialPersona")
    [contact] = sfenv.records("Contact")
    [case] = sfenv.records("Case")
    assert persona["Provider"] == "Other" and persona["ExternalId"] == "u1" and persona["ParentId"] == contact["Id"]
    assert (contact["FirstName"], contact["LastName"]) == ("Name", "u1")
    assert case["ContactId"] == contact["Id"] and case["Origin"] == "Other" and "order is late" in case["Subject"]
    assert post["PersonaId"] == persona["Id"] and post["WhoId"] == contact["Id"] and post["ParentId"] == case["Id"]
    assert post["ExternalPostId"] == "m1" and post["R6PostId"] == "testnet:m1" and post["Recipient"] == "brand"
    assert post["Sentiment"] == "Negative" and post["Language"] == "en" and post["MessageType"] == "Post"
    assert post["IsOutbound"] is False and post["PostUrl"] == "https://testnet.example/m1"


def test_same_author_open_case_is_reused(sink: SalesforceSink, sfenv: SfEnv) -> None:
    first = _one(sink, sfenv, make_mention("m1", author="u1"))
    second = _one(sink, sfenv, make_mention("m2", author="u1", text="any news?"))
    assert first.status == second.status == "delivered"
    assert len(sfenv.records("Case")) == 1 and len(sfenv.records("SocialPersona")) == 1
    assert _post(sfenv, first.remote_id or "")["ParentId"] == _post(sfenv, second.remote_id or "")["ParentId"]


def test_case_closed_3_days_ago_is_reopened(sink: SalesforceSink, sfenv: SfEnv) -> None:
    first = _one(sink, sfenv, make_mention("m1", author="u1"))
    case_id = _post(sfenv, first.remote_id or "")["ParentId"]
    sfenv.close_case(case_id, days_ago=3)
    second = _one(sink, sfenv, make_mention("m2", author="u1"))
    [case] = sfenv.records("Case")
    assert _post(sfenv, second.remote_id or "")["ParentId"] == case_id
    assert case["Status"] == "New" and case["IsClosed"] is False


def test_case_closed_10_days_ago_gives_a_new_case(sink: SalesforceSink, sfenv: SfEnv) -> None:
    first = _one(sink, sfenv, make_mention("m1", author="u1"))
    old_case = _post(sfenv, first.remote_id or "")["ParentId"]
    sfenv.close_case(old_case, days_ago=10)
    second = _one(sink, sfenv, make_mention("m2", author="u1"))
    new_case = _post(sfenv, second.remote_id or "")["ParentId"]
    assert new_case != old_case and len(sfenv.records("Case")) == 2
    assert next(c for c in sfenv.records("Case") if c["Id"] == old_case)["IsClosed"] is True


def test_reopen_days_is_configurable(sink: SalesforceSink, sfenv: SfEnv) -> None:
    first = _one(sink, sfenv, make_mention("m1", author="u1"))
    case_id = _post(sfenv, first.remote_id or "")["ParentId"]
    sfenv.close_case(case_id, days_ago=10)
    [out] = sink.deliver(connection(sfenv, reopen_days=14), [item(make_mention("m2", author="u1"))])
    assert _post(sfenv, out.remote_id or "")["ParentId"] == case_id


def test_reply_to_our_outbound_post_joins_that_posts_case(sink: SalesforceSink, sfenv: SfEnv) -> None:
    admin = sfenv.admin()
    account = admin.Account.create({"Name": "Brand"})["id"]
    contact = admin.Contact.create({"LastName": "Other", "AccountId": account})["id"]
    case_a = admin.Case.create({"Subject": "campaign", "ContactId": contact})["id"]
    admin.SocialPost.create({"Name": "our post", "IsOutbound": True, "Provider": "Other",
                             "ExternalPostId": "ours1", "ParentId": case_a, "Status": "Sent"})  # fmt: skip
    # The author already has an unrelated open Case: the reply must still go to case_a.
    earlier = _one(sink, sfenv, make_mention("m0", author="u1"))
    reply = _one(sink, sfenv, make_mention("m1", author="u1", parent="ours1", kind="reply"))
    assert _post(sfenv, earlier.remote_id or "")["ParentId"] != case_a
    assert _post(sfenv, reply.remote_id or "")["ParentId"] == case_a
    assert _post(sfenv, reply.remote_id or "")["MessageType"] == "Reply"


def test_reply_to_own_earlier_post_in_same_batch(sink: SalesforceSink, sfenv: SfEnv) -> None:
    root = make_mention("m1", author="u1")
    child = make_mention("m2", author="u1", parent="m1", kind="reply")
    outcomes = sink.deliver(connection(sfenv), [item(child, parent_state="pending"), item(root)])
    assert {o.status for o in outcomes} == {"delivered"}
    assert len(sfenv.records("Case")) == 1 and len(sfenv.records("Contact")) == 1


def test_duplicate_delivery_updates_instead_of_second_post(sink: SalesforceSink, sfenv: SfEnv) -> None:
    first = _one(sink, sfenv, make_mention("m1", author="u1", text="v1"))
    again = _one(sink, sfenv, make_mention("m1", author="u1", text="v2 edited"))
    both = sink.deliver(connection(sfenv), [item(make_mention("m1")), item(make_mention("m1"))])
    assert again.remote_id == first.remote_id and {o.remote_id for o in both} == {first.remote_id}
    [post] = sfenv.records("SocialPost")
    assert post["Content"] == "hello @brand" and len(sfenv.records("Case")) == 1


def test_identity_match_uses_existing_contact(sink: SalesforceSink, sfenv: SfEnv) -> None:
    contact = sfenv.admin().Contact.create({"FirstName": "Known", "LastName": "Customer"})["id"]
    match = Match(sink="salesforce", record_id=contact, record_type="Contact", confidence=0.9)
    out = _one(sink, sfenv, make_mention("m1", author="u9"), match=match)
    [persona] = sfenv.records("SocialPersona")
    assert persona["ParentId"] == contact and len(sfenv.records("Contact")) == 1
    assert _post(sfenv, out.remote_id or "")["WhoId"] == contact
    assert sfenv.records("Case")[0]["ContactId"] == contact


def test_default_account_and_long_names(sink: SalesforceSink, sfenv: SfEnv) -> None:
    account = sfenv.admin().Account.create({"Name": "Social customers"})["id"]
    mention = make_mention("m1", author="u1").model_copy(
        update={"author": make_mention("x").author.model_copy(update={"name": "A" * 60 + " " + "B" * 100})}
    )
    [out] = sink.deliver(connection(sfenv, default_account_id=account), [item(mention)])
    assert out.status == "delivered", out.error
    [contact] = sfenv.records("Contact")
    assert contact["AccountId"] == account and len(contact["FirstName"]) == 40 and len(contact["LastName"]) == 80


def test_bad_record_fails_alone_with_salesforce_code(sink: SalesforceSink, sfenv: SfEnv) -> None:
    _one(sink, sfenv, make_mention("m1", author="u1"))  # u1 now has an open Case
    # An Origin the org's restricted picklist lacks: every new Case is refused, per record.
    mixed = [item(make_mention("m5", author="u1")), item(make_mention("m6", author="u6"))]
    by_author = {i.mention.author.external_id: i.delivery_id for i in mixed}
    res = {o.delivery_id: o for o in sink.deliver(connection(sfenv, case_origin="Carrier pigeon"), mixed)}
    assert res[by_author["u1"]].status == "delivered"  # joins its open Case, unaffected
    failed = res[by_author["u6"]]
    assert failed.status == "failed" and "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" in (failed.error or "")
    assert "Case" in (failed.error or "")


def test_wait_parent_when_parent_still_pending(sink: SalesforceSink, sfenv: SfEnv) -> None:
    out = _one(sink, sfenv, make_mention("m2", parent="m1", kind="reply"), parent_state="pending")
    assert out.status == "wait_parent" and not sfenv.records("SocialPost")


def test_session_auth_delivers(sink: SalesforceSink, sfenv: SfEnv) -> None:
    token = sfenv.state.open_session(sfenv.user).token
    cfg = {"auth": "session", "instance_url": sfenv.base, "session_id": token, "ca_bundle": sfenv.cert}
    [out] = sink.deliver(SinkConnection(2, "other", "salesforce", cfg), [item(make_mention("s1"))])
    assert out.status == "delivered", out.error


def test_jwt_auth_delivers(sink: SalesforceSink, sfenv: SfEnv) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    sfenv.state.register_app("3MVG9-horseshoe", public_key_pem=public, org_id=sfenv.org.id)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    cfg = sfenv.config(auth="jwt", consumer_key="3MVG9-horseshoe", private_key=pem.decode(), password=None)
    [out] = sink.deliver(SinkConnection(3, "jwt", "salesforce", cfg), [item(make_mention("j1"))])
    assert out.status == "delivered", out.error
