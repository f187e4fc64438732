"""Mastodon: a reply over the instance's configured limit becomes a numbered thread, each part addressed
to the customer, answering the previous part, with the original's visibility and its own Idempotency-Key."""

from __future__ import annotations

import pytest

from connectors.mastodon import MastodonConnector
from connectors.mastodon.parse import html_to_text
from plugin.errors import FatalError, OutcomeUnknown
from plugin.models import Reply, Visibility
from tests.support.media import PNG, ImageHost

from .conftest import Instance

TEXT = " ".join(f"detail{i}" for i in range(40))  # 309 characters


def _reply(text: str, in_reply_to: str, **kw: object) -> Reply:
    return Reply(network="mastodon", account="x", text=text, in_reply_to=in_reply_to, idempotency_key="k-t", **kw)


def test_over_the_instance_limit_becomes_a_thread(instance: Instance) -> None:
    instance.state.max_characters = 150  # the instance's own configuration, read from /api/v2/instance
    n = instance.state.inject_mention(instance.brand["id"], instance.customer["id"], "hello", visibility="unlisted")
    result = MastodonConnector().post_reply(instance.account(), _reply(TEXT, n["status"]["id"]))
    posted = instance.state.posted_by(instance.brand["id"])
    assert [s["id"] for s in posted] == result.parts and len(posted) == 3
    assert [s["in_reply_to_id"] for s in posted] == [n["status"]["id"], *result.parts[:-1]]
    assert all(s["visibility"] == "unlisted" for s in posted)
    texts = [html_to_text(s["content"]) for s in posted]
    assert all(t.startswith("@ann") for t in texts), texts
    assert [f"{i}/3 " in t for i, t in enumerate(texts, start=1)] == [True] * 3


def test_a_private_thread_stays_direct(instance: Instance) -> None:
    instance.state.max_characters = 150
    result = MastodonConnector().send_private(
        instance.account(),
        Reply(network="mastodon", account="x", text=TEXT, recipient_id=instance.customer["id"],
              visibility=Visibility.PRIVATE, idempotency_key="k-d"),
    )  # fmt: skip
    posted = instance.state.posted_by(instance.brand["id"])
    assert len(result.parts) == 3 and {s["visibility"] for s in posted} == {"direct"}


def test_a_retried_part_is_not_posted_twice(instance: Instance) -> None:
    instance.state.max_characters = 150
    n = instance.state.inject_mention(instance.brand["id"], instance.customer["id"], "hello")
    instance.plan.configure(methods=("POST",), scripted=["pass", 503])
    with pytest.raises(OutcomeUnknown, match="after part 1 of 3"):
        MastodonConnector().post_reply(instance.account(), _reply(TEXT, n["status"]["id"]))
    assert len(instance.state.posted_by(instance.brand["id"])) == 1


def test_too_long_for_ten_parts_is_refused_naming_the_instance_limit(instance: Instance) -> None:
    instance.state.max_characters = 150
    n = instance.state.inject_mention(instance.brand["id"], instance.customer["id"], "hello")
    with pytest.raises(FatalError, match="allows 150") as refused:
        MastodonConnector().post_reply(instance.account(), _reply("word " * 400, n["status"]["id"]))
    assert refused.value.code == "too_long"
    assert instance.state.posted_by(instance.brand["id"]) == []


def test_an_image_attachment_is_uploaded_and_attached(instance: Instance, image_host: ImageHost) -> None:
    n = instance.state.inject_mention(instance.brand["id"], instance.customer["id"], "hello")
    result = MastodonConnector().post_reply(
        instance.account(),
        _reply("Here is the label", n["status"]["id"], attachments=[{"url": image_host("photo.png")}]),
    )
    [status] = instance.state.posted_by(instance.brand["id"])
    [attached] = status["media_attachments"]
    stored = instance.state.media[attached["id"]]
    assert stored["bytes"] == PNG and stored["mime"] == "image/png" and stored["status"] == result.external_id


def test_a_threaded_reply_carries_the_image_on_its_first_part(instance: Instance, image_host: ImageHost) -> None:
    instance.state.max_characters = 150
    n = instance.state.inject_mention(instance.brand["id"], instance.customer["id"], "hello")
    MastodonConnector().post_reply(
        instance.account(), _reply(TEXT, n["status"]["id"], attachments=[{"url": image_host("photo.png")}])
    )
    posted = instance.state.posted_by(instance.brand["id"])
    assert [len(s["media_attachments"]) for s in posted] == [1, 0, 0]


def test_a_non_image_attachment_publishes_nothing(instance: Instance, image_host: ImageHost) -> None:
    n = instance.state.inject_mention(instance.brand["id"], instance.customer["id"], "hello")
    with pytest.raises(FatalError) as refused:
        MastodonConnector().post_reply(
            instance.account(), _reply("x", n["status"]["id"], attachments=[{"url": image_host("notes.pdf")}])
        )
    assert refused.value.code == "bad_attachment"
    assert instance.state.posted_by(instance.brand["id"]) == [] and instance.state.media == {}
