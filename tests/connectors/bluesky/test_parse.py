"""parse_payload against lexicon-shaped payloads, plus a fuzz that only BadInput ever escapes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.bluesky import BlueskyConnector, grapheme_count, mention_facet, parse_bluesky_payload
from plugin.errors import BadInput
from plugin.models import Kind, Visibility

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "bluesky"
BRAND = "did:plc:brandbrandbrandbrandbran"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def test_list_notifications_output() -> None:
    mentions = BlueskyConnector().parse_payload(load("list_notifications.json"), account=BRAND)
    assert [m.kind for m in mentions] == [Kind.REPLY, Kind.POST]  # the like is not a mention
    reply, mention = mentions
    assert reply.external_id == "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3lbcsjzhvbc2x"
    assert reply.thread_id == "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3lbcsgpe3xs2x"
    assert reply.parent_id == "at://did:plc:brandbrandbrandbrandbran/app.bsky.feed.post/3lbcsi2kfa22x"
    assert reply.extra["root"]["cid"].startswith("bafyrei") and reply.extra["parent"]["cid"]
    assert reply.author.external_id == "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
    assert reply.author.handle == "customer.bsky.social" and reply.author.name == "Customer Café"
    assert reply.url == "https://bsky.app/profile/customer.bsky.social/post/3lbcsjzhvbc2x"
    assert reply.visibility is Visibility.PUBLIC and reply.lang == "en"
    assert reply.text == "still no refund 😤 — order #1234"
    assert mention.thread_id == mention.external_id and mention.parent_id is None
    assert mention.created_at.isoformat() == "2024-11-20T10:12:40.007000+00:00"


def test_thread_view_quote() -> None:
    (m,) = parse_bluesky_payload(load("post_thread_quote.json"), BRAND)
    assert m.lang == "de" and m.text == "Guter Service!"


def test_junk_is_bad_input() -> None:
    for junk in (
        None,
        1,
        "x",
        {},
        {"notifications": 3},
        [{"reason": "mention"}],
        {"thread": {}},
        {"uri": "http://x", "record": {}},
        [{"reason": "reply", "uri": "at://a/b/c", "author": {"did": "d"}, "record": {"text": 3}}],
    ):
        try:
            parse_bluesky_payload(junk, BRAND)
        except BadInput:
            continue
        raise AssertionError(f"accepted junk {junk!r}")


def test_grapheme_count_and_byte_offsets() -> None:
    assert grapheme_count("abc") == 3
    assert grapheme_count("👍🏽") == 1
    assert grapheme_count("🇫🇷🇩🇪") == 2
    assert grapheme_count("e\u0301") == 1
    assert grapheme_count("👩‍👩‍👧") == 1
    facet = mention_facet("Grüße @ann.bsky.social !", "ann.bsky.social", "did:plc:x")
    assert facet is not None
    encoded = "Grüße @ann.bsky.social !".encode()
    assert encoded[facet["index"]["byteStart"] : facet["index"]["byteEnd"]] == b"@ann.bsky.social"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=16),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=20,
)
notification_like = st.fixed_dictionaries(
    {"reason": st.sampled_from(["mention", "reply", "quote", "like"]) | st.integers()},
    optional={
        "uri": st.sampled_from(["at://did:plc:a/app.bsky.feed.post/1", "junk", ""]) | st.integers(),
        "cid": json_values,
        "author": st.fixed_dictionaries(
            {}, optional={"did": st.text(max_size=5) | st.integers(), "handle": json_values}
        ),
        "record": st.fixed_dictionaries(
            {},
            optional={
                "text": st.text(max_size=20) | st.integers(),
                "createdAt": st.sampled_from(["2024-01-01T00:00:00Z", "junk"]) | st.integers(),
                "reply": json_values,
                "langs": json_values,
            },
        ),
        "indexedAt": json_values,
    },
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    st.one_of(
        json_values,
        st.lists(notification_like, max_size=3),
        notification_like,
        st.fixed_dictionaries({"notifications": st.lists(notification_like, max_size=3)}),
    )
)
def test_fuzz_parse_payload_only_raises_bad_input(payload: Any) -> None:
    try:
        mentions = parse_bluesky_payload(payload, BRAND)
    except BadInput:
        return
    for m in mentions:
        assert m.network == "bluesky" and m.external_id.startswith("at://")


def test_image_embeds_and_record_with_media_become_cdn_attachments() -> None:
    photo, quote = BlueskyConnector().parse_payload(load("notification_images.json"), account=BRAND)
    base = "https://cdn.bsky.app/img/feed_fullsize/plain/did:plc:ewvi7nxzyoun6zhxrhs64oiz"
    assert [(a.url, a.type) for a in photo.attachments] == [
        (f"{base}/bafkreibabalobzn6cd366ukcsjycp4yymjymgfxcv6xczmlgpemzkz3cfa@jpeg", "image")
    ]
    assert quote.kind == Kind.QUOTE
    media = f"{base}/bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy@jpeg"
    assert [a.url for a in quote.attachments] == [media]


def test_hydrated_post_view_images_use_the_app_views_fullsize_url() -> None:
    view = load("post_thread_quote.json")["thread"]["post"]
    full = "https://cdn.bsky.app/img/feed_fullsize/plain/did:plc:x/bafkreiabc@jpeg"
    view = {**view, "embed": {"$type": "app.bsky.embed.images#view", "images": [{"fullsize": full, "thumb": full}]}}
    [m] = BlueskyConnector().parse_payload(view, account=BRAND)
    assert [(a.url, a.type) for a in m.attachments] == [(full, "image")]
