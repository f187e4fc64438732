"""Mentions found by listening are marked as such where a Salesforce agent looks: the SocialPost's
Classification and KeywordGroupName, and the front of the Case subject (mappings/salesforce.yaml)."""

from __future__ import annotations

from plugin.models import Labels
from plugin.salesforce.sink import SalesforceSink
from plugin.worker.listening import marked
from tests.support.netplugin import make_mention

from .conftest import SfEnv, connection, item


def test_a_listening_hit_is_classified_listening_and_says_so_in_the_case_subject(
    sink: SalesforceSink, sfenv: SfEnv
) -> None:
    heard = marked(make_mention("m1", author="u1", text="Acme's app lost my order again"))
    tagged = make_mention("m2", author="u2", text="@brand where is my order?")
    outcomes = sink.deliver(connection(sfenv), [
        item(heard, labels=Labels(tags=["listening"])), item(tagged, labels=Labels(tags=["billing"])),
    ])  # fmt: skip
    assert [o.status for o in outcomes] == ["delivered", "delivered"], [o.error for o in outcomes]
    # What an agent's list view or report reads, through the API like any Salesforce client.
    soql = "SELECT ExternalPostId, Classification, KeywordGroupName, Parent.Subject FROM SocialPost"
    rows = sfenv.admin().query(soql)["records"]
    by_id = {r["ExternalPostId"]: r for r in rows}
    assert (by_id["m1"]["Classification"], by_id["m1"]["KeywordGroupName"]) == ("Listening", "horseshoe listening")
    assert by_id["m1"]["Parent"]["Subject"].startswith("[Listening] ")
    assert "Acme's app lost my order" in by_id["m1"]["Parent"]["Subject"]
    assert by_id["m2"]["Classification"] is None and by_id["m2"]["KeywordGroupName"] is None
    assert not by_id["m2"]["Parent"]["Subject"].startswith("[Listening]")


def test_the_subject_prefix_is_configurable_per_connection(sink: SalesforceSink, sfenv: SfEnv) -> None:
    heard = marked(make_mention("m1", author="u1"))
    [outcome] = sink.deliver(connection(sfenv, listening_subject_prefix="(heard) "), [item(heard)])
    assert outcome.status == "delivered", outcome.error
    [case] = sfenv.records("Case")
    [post] = sfenv.records("SocialPost")
    assert case["Subject"].startswith("(heard) ") and post["Classification"] == "Listening"


def test_a_restricted_classification_without_the_value_is_reported_and_can_be_left_alone(
    sink: SalesforceSink, sfenv: SfEnv
) -> None:
    sfenv.state.set_picklist("SocialPost", "Classification", ["Inquiry", "Customer Case"], restricted=True,
                             org_id=sfenv.org.id)  # fmt: skip
    problems = sink.check(connection(sfenv))
    assert any("SocialPost.Classification is restricted and has no 'Listening' value" in p for p in problems)
    assert not any("Classification" in p for p in sink.check(connection(sfenv, listening_classification="")))
    # With the classification left alone the hit is still delivered, and still marked for the agent.
    heard = marked(make_mention("m1", author="u1"))
    [outcome] = sink.deliver(connection(sfenv, listening_classification=""), [item(heard)])
    assert outcome.status == "delivered", outcome.error
    [post] = sfenv.records("SocialPost")
    assert post.get("Classification") is None and post["KeywordGroupName"] == "horseshoe listening"
