"""Issue 14, replies, for every built-in network against its sandbox: a too-long public reply becomes a
numbered thread where the network has reply threads (X, Mastodon, Bluesky) and is refused with the
network's limit named elsewhere; a reply with an image arrives with the image where the network's reply
path carries media, and is refused with the reason where it does not (never silently dropped)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from plugin.errors import FatalError
from plugin.models import Attachment, Mention
from plugin.testing.harness import Harness
from plugin.testing.suite import baseline, drain, one, reply_to
from sandbox.networks import BUILTIN
from tests.support.media import PNG, ImageHost

THREADS = {"x", "mastodon", "bluesky"}
LIMITS = {"facebook": "8000", "instagram": "2200", "messenger": "2000", "telegram": "4096", "vk": "4096"}


def _x(h: Any) -> bool:
    last = h.app.state.posted_by(h.brand_id)[-1]
    return [h.app.state.uploads[i]["bytes"] for i in last["media_ids"]] == [PNG]


def _mastodon(h: Any) -> bool:
    return [m["bytes"] for m in h.app.state.media.values() if m["status"]] == [PNG]


def _bluesky(h: Any) -> bool:
    records = h.app.state.records.values()
    posts = [p for p in records if p["collection"] == "app.bsky.feed.post" and "embed" in p["value"]]
    return len(posts) == 1 and [b["bytes"] for b in h.app.state.blobs.values()] == [PNG]


def _telegram(h: Any) -> bool:
    return list(h.app.state.photos.values()) == [PNG]


def _meta(key: str) -> Callable[[Any], bool]:
    return lambda h: any(p.get(key) for p in h.app.state.posted)


# network -> how its fake shows the image arrived, or None where the reply path cannot carry one.
MEDIA: dict[str, Callable[[Any], bool] | None] = {
    "x": _x, "mastodon": _mastodon, "bluesky": _bluesky, "telegram": _telegram,
    "facebook": _meta("attachment_url"), "messenger": _meta("attachment"),
    "instagram": None,  # Instagram comments carry text only
    "vk": lambda h: [p["bytes"] for p in h.app.state.photos.values()] == [PNG]
    and any(c.get("attachments") for c in h.app.state.sent_comments + h.app.state.sent_messages),
}  # fmt: skip


@pytest.fixture(scope="module", params=sorted(BUILTIN))
def running(request: pytest.FixtureRequest) -> Iterator[Harness]:
    harness = BUILTIN[request.param]()
    harness.start()
    try:
        yield harness
    finally:
        harness.stop()


@pytest.fixture
def harness(running: Harness) -> Harness:
    running.reset()
    return running


def _mention(harness: Harness) -> Mention:
    connector, account = harness.connector(), harness.account()
    cursor = baseline(harness, connector)
    if "public" in harness.skips:
        injected = harness.inject_private("my order is late")
        assert injected is not None
    else:
        injected = harness.inject_public("my order is late")
    found, _ = drain(connector, account, cursor)
    return one(found, injected)


def _send(harness: Harness, mention: Mention, text: str, attachments: list[Attachment] | None = None) -> Any:
    answer = reply_to(mention, text).model_copy(update={"attachments": attachments or []})
    connector, account = harness.connector(), harness.account()
    if mention.visibility.value == "private":
        return connector.send_private(account, answer)
    return connector.post_reply(account, answer)


def test_a_too_long_reply_is_a_thread_or_refused_naming_the_limit(harness: Harness) -> None:
    mention = _mention(harness)
    limit = harness.connector().limits().max_text_length
    text = " ".join(f"w{i}" for i in range(limit // 3 + 40))  # over the limit, under ten parts
    if harness.network in THREADS:
        result = _send(harness, mention, text)
        posted = harness.posted()
        assert len(result.parts) >= 2 and len(posted) == len(result.parts)
        assert posted[0].in_reply_to == mention.external_id
        assert [p.in_reply_to for p in posted[1:]] == result.parts[:-1]
        assert all(f"/{len(result.parts)}" in p.text for p in posted)
    else:
        with pytest.raises(FatalError) as refused:
            _send(harness, mention, "x" * (int(LIMITS[harness.network]) + 1))
        assert refused.value.code == "too_long" and LIMITS[harness.network] in str(refused.value)
        assert harness.posted() == []


def test_a_reply_with_an_image_arrives_with_it_or_is_refused_with_the_reason(
    harness: Harness, image_host: ImageHost
) -> None:
    mention = _mention(harness)
    photo = [Attachment(url=image_host("photo.png"), type="image")]
    arrived = MEDIA[harness.network]
    if arrived is None:
        with pytest.raises(FatalError) as refused:
            _send(harness, mention, "Here is the label", photo)
        assert refused.value.code == "unsupported" and harness.posted() == []
        return
    _send(harness, mention, "Here is the label", photo)
    assert any("Here is the label" in p.text for p in harness.posted())
    assert arrived(harness)
