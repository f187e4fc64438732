"""Bluesky: a reply over 300 graphemes becomes a numbered thread (each part a reply to the previous one,
all under the same root); parts are resumable, so a retry after a failed part posts nothing twice."""

from __future__ import annotations

import pytest

from connectors.bluesky import BlueskyConnector
from connectors.bluesky.text import grapheme_count
from plugin.errors import FatalError, RetriableError
from plugin.models import Attachment
from tests.support.media import PNG, ImageHost

from .conftest import Pds
from .test_connector import reply, strong

TEXT = " ".join(f"naïve{i} 👍🏽" for i in range(60))  # 596 graphemes, more code points


def test_over_300_graphemes_becomes_a_thread_under_one_root(pds: Pds) -> None:
    root = pds.state.inject_mention(pds.brand["did"], pds.customer["did"], "hello")
    result = BlueskyConnector().post_reply(pds.account(), reply(pds, root["uri"], TEXT))
    posts = pds.state.posts_by(pds.brand["did"])
    assert [p["uri"] for p in posts] == result.parts and len(posts) == 3
    expected_root = strong(root)
    parents = [root["uri"], *result.parts[:-1]]
    for post, parent in zip(posts, parents, strict=True):
        value = post["value"]
        assert strong(value["reply"]["root"]) == expected_root
        assert value["reply"]["parent"]["uri"] == parent
        assert grapheme_count(value["text"]) <= 300
        assert value["text"].startswith(f"@{pds.customer['handle']} ")
    assert [p["value"]["text"].split(" ")[1] for p in posts] == ["1/3", "2/3", "3/3"]


def test_a_failed_part_is_retried_without_reposting_the_earlier_ones(pds: Pds) -> None:
    root = pds.state.inject_mention(pds.brand["did"], pds.customer["did"], "hello")
    pds.plan.configure(paths=("/xrpc/com.atproto.repo.createRecord",), scripted=["pass", 503])
    with pytest.raises(RetriableError):
        BlueskyConnector().post_reply(pds.account(), reply(pds, root["uri"], TEXT))
    assert len(pds.state.posts_by(pds.brand["did"])) == 1
    # The outbox's retry: a new process, the same reply. Part 1 is found, not posted again.
    result = BlueskyConnector().post_reply(pds.account(), reply(pds, root["uri"], TEXT))
    posts = pds.state.posts_by(pds.brand["did"])
    assert len(posts) == 3 and [p["uri"] for p in posts] == result.parts


def test_too_long_for_a_thread_is_refused_naming_300(pds: Pds) -> None:
    root = pds.state.inject_mention(pds.brand["did"], pds.customer["did"], "hello")
    with pytest.raises(FatalError, match="300") as refused:
        BlueskyConnector().post_reply(pds.account(), reply(pds, root["uri"], "word " * 1000))
    assert refused.value.code == "too_long"


def test_an_image_attachment_is_uploaded_and_embedded(pds: Pds, image_host: ImageHost) -> None:
    root = pds.state.inject_mention(pds.brand["did"], pds.customer["did"], "hello")
    answer = reply(pds, root["uri"], "Here is the label").model_copy(
        update={"attachments": [Attachment(url=image_host("photo.png"))]}
    )
    BlueskyConnector().post_reply(pds.account(), answer)
    [post] = pds.state.posts_by(pds.brand["did"])
    embed = post["value"]["embed"]
    assert embed["$type"] == "app.bsky.embed.images"
    [image] = embed["images"]
    stored = pds.state.blobs[image["image"]["ref"]["$link"]]
    assert stored["bytes"] == PNG and stored["mimeType"] == "image/png"


def test_a_thread_embeds_the_image_in_its_first_part_only(pds: Pds, image_host: ImageHost) -> None:
    root = pds.state.inject_mention(pds.brand["did"], pds.customer["did"], "hello")
    answer = reply(pds, root["uri"], TEXT).model_copy(update={"attachments": [Attachment(url=image_host("photo.png"))]})
    BlueskyConnector().post_reply(pds.account(), answer)
    posts = pds.state.posts_by(pds.brand["did"])
    assert ["embed" in p["value"] for p in posts] == [True, False, False]


def test_an_image_over_bluesky_s_limit_publishes_nothing(pds: Pds, image_host: ImageHost) -> None:
    root = pds.state.inject_mention(pds.brand["did"], pds.customer["did"], "hello")
    answer = reply(pds, root["uri"], "x").model_copy(update={"attachments": [Attachment(url=image_host("big.png"))]})
    with pytest.raises(FatalError, match="1000000") as refused:
        BlueskyConnector().post_reply(pds.account(), answer)
    assert refused.value.code == "attachment_too_large"
    assert pds.state.posts_by(pds.brand["did"]) == []
