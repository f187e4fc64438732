"""Salesforce fidelity: networks sharing Provider "Other" kept apart (MediaProvider, R6PostId,
R6SourceId), and Salesforce's real field lengths (the fake answers STRING_TOO_LONG like an org; the
sink drops a too-long URL with a note instead of failing the record, and never cuts an id)."""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from plugin.models import Author, Mention
from plugin.salesforce.sink import SalesforceSink
from tests.support.netplugin import make_mention

from .conftest import SfEnv, connection, item


def _on(network: str, mention: Mention, **author: str) -> Mention:
    fields = {"external_id": mention.author.external_id, "handle": "someone", **author}
    return mention.model_copy(update={"network": network, "author": Author(**fields)})


def test_mastodon_and_bluesky_with_the_same_raw_ids_never_collide(sink: SalesforceSink, sfenv: SfEnv) -> None:
    # The same raw post id and author id on two networks that both map to Provider "Other".
    on_mastodon = _on("mastodon", make_mention("109", author="42"))
    on_bluesky = _on("bluesky", make_mention("109", author="42"))
    first = sink.deliver(connection(sfenv), [item(on_mastodon)])
    second = sink.deliver(connection(sfenv), [item(on_bluesky)])
    assert [o.status for o in first + second] == ["delivered", "delivered"], first + second
    posts = sfenv.records("SocialPost")
    assert len(posts) == 2 and len({p["Id"] for p in posts}) == 2
    assert sorted((p["Provider"], p["MediaProvider"], p["R6PostId"]) for p in posts) == [
        ("Other", "Bluesky", "bluesky:109"), ("Other", "Mastodon", "mastodon:109"),
    ]  # fmt: skip
    personas = sfenv.records("SocialPersona")
    assert sorted((p["MediaProvider"], p["R6SourceId"], p["ExternalId"]) for p in personas) == [
        ("Bluesky", "bluesky:42", "42"), ("Mastodon", "mastodon:42", "42"),
    ]  # fmt: skip
    assert len({p["ParentId"] for p in posts}) == 2  # two customers, two Cases


def test_an_other_network_post_delivered_again_updates_its_own_record(sink: SalesforceSink, sfenv: SfEnv) -> None:
    mention = _on("bluesky", make_mention("at://did:plc:a/app.bsky.feed.post/1", author="did:plc:a"))
    sink.deliver(connection(sfenv), [item(mention)])
    sink.deliver(connection(sfenv), [item(mention.model_copy(update={"text": "edited"}))])
    [post] = sfenv.records("SocialPost")
    assert post["Content"] == "edited" and len(sfenv.records("SocialPersona")) == 1


def test_twitter_personas_are_unchanged(sink: SalesforceSink, sfenv: SfEnv) -> None:
    sink.deliver(connection(sfenv), [item(_on("x", make_mention("1", author="7")))])
    [persona] = sfenv.records("SocialPersona")
    assert persona["Provider"] == "Twitter" and persona.get("MediaProvider") is None
    assert persona.get("R6SourceId") is None


def test_the_fake_refuses_a_profile_url_over_255_like_salesforce(sfenv: SfEnv) -> None:
    admin = sfenv.admin()
    contact = admin.Contact.create({"LastName": "X"})["id"]
    with pytest.raises(SalesforceMalformedRequest) as refused:
        admin.SocialPersona.create({
            "Name": "n", "ParentId": contact, "Provider": "Twitter", "ProfileUrl": "https://e.example/" + "a" * 250,
        })  # fmt: skip
    assert refused.value.content[0]["errorCode"] == "STRING_TOO_LONG"
    assert "ProfileUrl" in refused.value.content[0]["fields"]


def test_long_urls_are_left_out_with_a_note_and_long_names_cut(sink: SalesforceSink, sfenv: SfEnv) -> None:
    long_profile = "https://social.example/@" + "p" * 300
    long_avatar = "https://cdn.example/" + "a" * 300
    long_post = "https://social.example/post/" + "x" * 1100
    mention = _on(
        "mastodon", make_mention("5", author="9"),
        handle="h" * 400, profile_url=long_profile, avatar_url=long_avatar,
    ).model_copy(update={"url": long_post})  # fmt: skip
    [outcome] = sink.deliver(connection(sfenv), [item(mention)])
    assert outcome.status == "delivered", outcome.error
    [persona] = sfenv.records("SocialPersona")
    assert persona.get("ProfileUrl") is None and persona.get("ExternalPictureURL") is None
    assert long_profile in persona["Bio"] and "ProfileUrl left out" in persona["Bio"]
    assert len(persona["Name"]) == 255 and persona["Name"].endswith("…")
    assert persona["ExternalId"] == "9"
    [post] = sfenv.records("SocialPost")
    assert post.get("PostUrl") is None and long_post in post["Content"]


def test_an_id_too_long_for_its_field_fails_the_record_instead_of_being_cut(sink: SalesforceSink, sfenv: SfEnv) -> None:
    [outcome] = sink.deliver(connection(sfenv), [item(make_mention("i" * 300))])
    assert outcome.status == "failed" and "STRING_TOO_LONG" in (outcome.error or "")
    assert sfenv.records("SocialPost") == []
