"""Which Case a mention joins, and who the Case and persona belong to (issue 12: each test was
written for surviving mutants of ``salesforce.inbound``).

The rules (plugin/salesforce/inbound.py): a reply to our outbound post or to the author's own post
joins that post's Case; otherwise the author's latest inbound post to the same Recipient gives it;
a Case closed within ``reopen_days`` (default 5) is reopened, an older one gives a new Case.
"""

from __future__ import annotations

from typing import Any

from plugin.models import Author, Match, Mention
from plugin.salesforce.sink import SalesforceSink
from plugin.sink import DeliveryOutcome
from tests.support.netplugin import make_mention

from .conftest import SfEnv, connection, item


def _on(network: str, mention: Mention) -> Mention:
    author = Author(external_id=mention.author.external_id, handle=f"h{mention.author.external_id}")
    return mention.model_copy(update={"network": network, "author": author})


def _post(env: SfEnv, outcome: DeliveryOutcome) -> dict[str, Any]:
    assert outcome.status == "delivered", outcome.error
    return next(p for p in env.records("SocialPost") if p["Id"] == outcome.remote_id)


def _case_of(env: SfEnv, outcome: DeliveryOutcome) -> str:
    return str(_post(env, outcome)["ParentId"])


def _deliver(sink: SalesforceSink, env: SfEnv, *mentions: Mention) -> list[DeliveryOutcome]:
    """One batch; the outcomes in the order the mentions were given."""
    items = [item(m) for m in mentions]
    by_id = {o.delivery_id: o for o in sink.deliver(connection(env), items)}
    return [by_id[i.delivery_id] for i in items]


def test_a_case_closed_five_and_a_half_days_ago_is_not_reopened_by_default(sink: SalesforceSink, sfenv: SfEnv) -> None:
    [first] = _deliver(sink, sfenv, make_mention("m1", author="u1"))
    old_case = _case_of(sfenv, first)
    sfenv.close_case(old_case, days_ago=5.5)
    [second] = _deliver(sink, sfenv, make_mention("m2", author="u1"))
    assert _case_of(sfenv, second) != old_case and len(sfenv.records("Case")) == 2


def _delivered_with_parent(sink: SalesforceSink, sfenv: SfEnv, record_id: str, record_type: str) -> dict[str, Any]:
    """One mention whose author identity resolution matched ``record_id``: that record is the persona's
    parent and the post's WhoId, no Contact is made. Returns the Case."""
    match = Match(sink="salesforce", record_id=record_id, record_type=record_type, confidence=0.9)
    [out] = sink.deliver(connection(sfenv), [item(make_mention("m1", author="u9"), match=match)])
    [persona] = sfenv.records("SocialPersona")
    [case] = sfenv.records("Case")
    assert persona["ParentId"] == record_id and sfenv.records("Contact") == []
    assert _post(sfenv, out)["WhoId"] == record_id
    return case


def test_an_identity_match_to_a_lead_makes_the_lead_the_parent(sink: SalesforceSink, sfenv: SfEnv) -> None:
    lead = sfenv.admin().Lead.create({"LastName": "Known", "Company": "Acme"})["id"]
    case = _delivered_with_parent(sink, sfenv, lead, "Lead")
    # A Case has no Lead field: neither ContactId nor AccountId names the lead.
    assert case.get("ContactId") is None and case.get("AccountId") is None


def test_an_identity_match_to_an_account_puts_the_account_on_the_case(sink: SalesforceSink, sfenv: SfEnv) -> None:
    account = sfenv.admin().Account.create({"Name": "Known Customer Ltd"})["id"]
    case = _delivered_with_parent(sink, sfenv, account, "account")
    assert case["AccountId"] == account and case.get("ContactId") is None


def test_two_authors_in_one_batch_get_a_case_each(sink: SalesforceSink, sfenv: SfEnv) -> None:
    # u1, u2, u1: u1's second post joins u1's Case, not the Case opened last.
    a1, b, a2 = _deliver(
        sink, sfenv, make_mention("m1", author="u1"), make_mention("m2", author="u2"), make_mention("m3", author="u1")
    )
    assert _case_of(sfenv, a1) == _case_of(sfenv, a2) != _case_of(sfenv, b)
    cases = {c["Id"]: c for c in sfenv.records("Case")}
    contacts = {c["Id"]: c["LastName"] for c in sfenv.records("Contact")}
    assert len(cases) == 2
    assert contacts[cases[_case_of(sfenv, a1)]["ContactId"]] == "u1"
    assert contacts[cases[_case_of(sfenv, b)]["ContactId"]] == "u2"


def test_one_author_writing_to_two_brand_accounts_gets_a_case_per_account(sink: SalesforceSink, sfenv: SfEnv) -> None:
    support, shop = _deliver(
        sink, sfenv, make_mention("m1", author="u1", account="support"), make_mention("m2", author="u1", account="shop")
    )
    assert _case_of(sfenv, support) != _case_of(sfenv, shop)
    # Later posts find their account's Case again, in one batch and in the next.
    shop2, support2 = _deliver(
        sink, sfenv, make_mention("m3", author="u1", account="shop"), make_mention("m4", author="u1", account="support")
    )
    assert _case_of(sfenv, shop2) == _case_of(sfenv, shop) and _case_of(sfenv, support2) == _case_of(sfenv, support)
    assert len(sfenv.records("Case")) == 2


def test_a_reply_to_the_authors_own_earlier_post_joins_that_posts_case(sink: SalesforceSink, sfenv: SfEnv) -> None:
    [to_support] = _deliver(sink, sfenv, make_mention("m1", author="u1", account="support"))
    [to_shop] = _deliver(sink, sfenv, make_mention("m2", author="u1", account="shop"))
    # The reply is addressed to "shop" (whose Case is the latest), but it answers m1.
    reply = make_mention("m3", author="u1", account="shop", parent="m1", kind="reply")
    [out] = _deliver(sink, sfenv, reply)
    assert _case_of(sfenv, out) == _case_of(sfenv, to_support) != _case_of(sfenv, to_shop)


def test_a_reply_to_another_customers_post_does_not_join_their_case(sink: SalesforceSink, sfenv: SfEnv) -> None:
    [theirs] = _deliver(sink, sfenv, make_mention("m1", author="u1"))
    [out] = _deliver(sink, sfenv, make_mention("m2", author="u2", parent="m1", kind="reply"))
    assert _case_of(sfenv, out) != _case_of(sfenv, theirs) and len(sfenv.records("Case")) == 2


def test_replies_to_our_post_on_an_other_network_join_its_case_only_from_that_network(
    sink: SalesforceSink, sfenv: SfEnv
) -> None:
    # Our published reply on Mastodon carries only Mastodon's raw id ("ours1"); the post it answers
    # names the network (R6PostId "mastodon:5"). A Bluesky post answering a Bluesky "ours1" is
    # another conversation.
    admin = sfenv.admin()
    case_a = admin.Case.create({"Subject": "on mastodon"})["id"]
    question = admin.SocialPost.create({"Name": "q", "Provider": "Other", "ExternalPostId": "5",
                                        "R6PostId": "mastodon:5", "ParentId": case_a})["id"]  # fmt: skip
    admin.SocialPost.create({"Name": "our answer", "IsOutbound": True, "Provider": "Other", "ExternalPostId": "ours1",
                             "ReplyToId": question, "ParentId": case_a, "Status": "Sent"})  # fmt: skip
    on_mastodon = _on("mastodon", make_mention("r1", author="7", parent="ours1", kind="reply"))
    on_bluesky = _on("bluesky", make_mention("r2", author="8", parent="ours1", kind="reply"))
    mastodon_out, bluesky_out = _deliver(sink, sfenv, on_mastodon, on_bluesky)
    assert _case_of(sfenv, mastodon_out) == case_a
    assert _case_of(sfenv, bluesky_out) != case_a
