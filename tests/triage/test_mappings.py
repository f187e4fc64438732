"""Triage's labels reach the CRM fields through mappings/zendesk.yaml and mappings/salesforce.yaml."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from plugin.models import Author, Labels, Mention
from plugin.salesforce import records
from plugin.triage.basic import TriagePlugin
from plugin.zendesk.resources import external_resource


def _mention(text: str, lang: str | None = None, visibility: str = "public") -> Mention:
    return Mention(
        network="x",
        external_id="1",
        author=Author(external_id="9", handle="pat"),
        text=text,
        lang=lang,
        visibility=visibility,  # type: ignore[arg-type]
        created_at=datetime.now(UTC),
        account="brand",
    )


def _labelled(mention: Mention) -> Labels:
    return TriagePlugin().horseshoe_triage(mention)


@pytest.mark.parametrize(
    ("text", "lang", "locale"),
    [
        ("meine Bestellung ist immer noch nicht da, bitte helfen", "und", "de"),
        ("🔥🔥🔥", "qme", None),
        ("ok", "zxx", None),
        ("注文がまだ届きません、どうなっていますか", "ja", None),  # not among the tenant's languages
        ("thanks!", "en", "en-US"),  # too short to detect: the network's tag, when it is a real language
    ],
)
def test_requester_locale_only_when_it_is_a_zendesk_locale(text: str, lang: str, locale: str | None) -> None:
    mention = _mention(text, lang)
    resource = external_resource(mention, _labelled(mention), use_parent=False)
    assert resource["author"].get("locale") == locale


def test_public_personal_data_reaches_agents_redacted_private_messages_unchanged() -> None:
    text = "my card 4111 1111 1111 1111 was charged twice, mail me at jane.doe at example dot com"
    public = _mention(text)
    labels = _labelled(public)
    resource = external_resource(public, labels, use_parent=False)
    assert "4111" not in resource["message"] and "[card_number]" in resource["message"]
    assert "4111" not in records.post_fields(public, labels)["Content"]
    assert "4111" not in records.case_fields(public, labels, {})["Description"]
    tags = next(f["value"] for f in resource["fields"] if f["id"] == "tags")
    assert "pii" in tags and resource["display_info"][0]["data"]["pii"] == ["card_number", "email"]
    private = _mention(text, visibility="private")
    assert "4111" in external_resource(private, _labelled(private), use_parent=False)["message"]


def test_sentiment_priority_and_intent_become_fields_and_tags() -> None:
    mention = _mention("@acme my order #88213 still hasn't arrived after two weeks, this is ridiculous")
    labels = _labelled(mention)
    assert labels.intent == "complaint" and labels.sentiment == "negative"
    resource = external_resource(mention, labels, use_parent=False)
    tags = next(f["value"] for f in resource["fields"] if f["id"] == "tags")
    assert {"intent_complaint", "sentiment_negative", "lang_en", f"priority_{labels.priority}"} <= set(tags)
    assert records.post_fields(mention, labels)["Sentiment"] == "Negative"
    assert records.case_fields(mention, labels, {})["Priority"] in ("Medium", "High")
