"""parse_payload on the documented shapes (fixtures) and on arbitrary JSON (only BadInput may escape)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.x import XConnector
from plugin.errors import BadInput
from plugin.models import Kind, Visibility

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "x"
XDEVELOPERS = "2244994945"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def x() -> XConnector:
    return XConnector()


def test_mentions_timeline_fixture(x):
    [m] = x.parse_payload(load("mentions_timeline.json"), account=XDEVELOPERS)
    assert m.network == "x"
    assert m.external_id == "1301573587187331074"
    assert m.author.external_id == "1234567890"  # numeric id, never the username
    assert m.author.handle == "developer"
    assert m.author.name == "Dev Person"
    assert m.author.profile_url == "https://x.com/developer"
    assert m.url == "https://x.com/developer/status/1301573587187331074"
    assert m.kind is Kind.POST and m.visibility is Visibility.PUBLIC
    assert m.created_at == datetime(2024, 1, 15, 10, 30, tzinfo=UTC)
    assert m.account == XDEVELOPERS
    assert m.normal_form()["created_at"] == "2024-01-15T10:30:00Z"


def test_reply_with_includes_fixture(x):
    [m] = x.parse_payload(load("tweet_reply_lookup.json"), account="783214")
    assert m.kind is Kind.REPLY
    assert m.parent_id == "1212092627178287104"
    assert m.lang == "en"
    assert m.author.external_id == XDEVELOPERS and m.author.handle is None  # users not expanded
    assert m.url == "https://x.com/i/web/status/1212092628029698048"
    assert m.attachments == []  # media keys present but media not expanded


def test_own_posts_are_not_mentions(x):
    assert x.parse_payload(load("tweet_reply_lookup.json"), account=XDEVELOPERS) == []


def test_dm_events_fixtures(x):
    [m] = x.parse_payload(load("dm_events.json"), account="1111")
    assert m.kind is Kind.DIRECT and m.visibility is Visibility.PRIVATE
    assert m.external_id == "1234567890"
    assert m.author.external_id == "9876543210"
    assert m.thread_id == "1111-9876543210"  # no dm_conversation_id requested: derived one-to-one id
    assert m.text == "Hello! How are you?"
    [m2] = x.parse_payload(load("dm_events_with_users.json"), account="1111")
    assert m2.author.handle == "example_user" and m2.author.avatar_url == "https://..."
    assert m2.created_at.tzinfo is not None  # derived from the snowflake id when created_at is absent


def test_dm_from_ourselves_is_skipped(x):
    assert x.parse_payload(load("dm_events.json"), account="9876543210") == []


def test_account_activity_dm_fixture(x):
    [m] = x.parse_payload(load("aaa_direct_message_events.json"))
    assert m.kind is Kind.DIRECT and m.visibility is Visibility.PRIVATE
    assert m.external_id == "954491830116155396"
    assert m.account == "4337869213"
    assert m.author.external_id == "3001969357" and m.author.handle == "furiouscamper"
    assert m.author.profile_url == "https://x.com/furiouscamper"
    assert m.thread_id == "3001969357-4337869213"
    assert m.text == "Hello World!"
    assert m.created_at == datetime.fromtimestamp(1516403560.557, tz=UTC)


def test_account_activity_tweet_fixture(x):
    [m] = x.parse_payload(load("aaa_tweet_create_events.json"))
    assert m.external_id == "1924465506158878979"  # id_str, not the float-mangled number
    assert m.account == "1603419180975409153"
    assert m.kind is Kind.POST
    assert m.text.endswith("@HistoryInPics")  # extended_tweet.full_text, not the truncated text
    assert m.created_at == datetime(2025, 5, 19, 14, 1, 46, tzinfo=UTC)
    assert m.url == "https://x.com/furiouscamper/status/1924465506158878979"


def _tweet(**extra: Any) -> dict[str, Any]:
    return {"id": "1500000000000000000", "text": "@acme hi", "author_id": "42", **extra}


@pytest.mark.parametrize(
    ("refs", "kind", "parent"),
    [
        ([{"type": "replied_to", "id": "9"}], Kind.REPLY, "9"),
        ([{"type": "quoted", "id": "8"}], Kind.QUOTE, None),
        ([{"type": "retweeted", "id": "7"}], Kind.REPOST, None),
        ([{"type": "quoted", "id": "8"}, {"type": "replied_to", "id": "9"}], Kind.REPLY, "9"),
        ([], Kind.POST, None),
    ],
)
def test_kinds(x, refs, kind, parent):
    payload = {
        "data": [_tweet(referenced_tweets=refs, conversation_id="77")],
        "includes": {"users": [{"id": "42", "username": "zed", "name": "Zed"}]},
    }
    [m] = x.parse_payload(payload, account="1")
    assert (m.kind, m.parent_id, m.thread_id) == (kind, parent, "77")


def test_media_and_long_text(x):
    payload = {
        "data": [_tweet(attachments={"media_keys": ["3_1", "3_2"]}, note_tweet={"text": "long " * 100})],
        "includes": {
            "media": [
                {"media_key": "3_1", "type": "photo", "url": "https://pbs.twimg.com/media/a.jpg"},
                {"media_key": "3_2", "type": "video", "preview_image_url": "https://pbs.twimg.com/p.jpg"},
            ]
        },
    }
    [m] = x.parse_payload(payload, account="1")
    assert [(a.url, a.type) for a in m.attachments] == [
        ("https://pbs.twimg.com/media/a.jpg", "photo"),
        ("https://pbs.twimg.com/p.jpg", "video"),
    ]
    assert len(m.text) == 500


def test_empty_page_is_no_mentions(x):
    assert x.parse_payload({"meta": {"result_count": 0}}, account="1") == []


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ([], "JSON object"),
        ({"data": [{"id": "1", "text": "no author"}]}, "author_id"),
        ({"data": "nope"}, "JSON array"),
        ({"data": [_tweet(created_at="yesterday")]}, "created_at"),
        ({"errors": [{"detail": "Could not find user"}]}, "Could not find user"),
        ({"for_user_id": "1", "tweet_create_events": [{"id_str": "5"}]}, "user"),
        ({"hello": "world"}, "neither"),
    ],
)
def test_bad_shapes_say_why(x, payload, reason):
    with pytest.raises(BadInput, match=reason):
        x.parse_payload(payload, account="1")


def test_v2_response_without_account_infers_the_mentioned_brand(x):
    # The documented quickstart response has no entities: the @handle every post names stands in.
    (mention,) = x.parse_payload(load("mentions_timeline.json"))
    assert mention.account == "@XDevelopers"
    assert mention.thread_id == mention.external_id  # a root post starts its own thread


def test_v2_response_needs_the_account_when_ambiguous(x):
    body = load("mentions_timeline.json")
    body["data"].append({**body["data"][0], "id": "1301573587187331075", "text": "hi @someone_else"})
    with pytest.raises(BadInput, match="account"):
        x.parse_payload(body)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=25,
)
keys = st.sampled_from(
    [
        "data",
        "includes",
        "meta",
        "users",
        "tweets",
        "media",
        "id",
        "id_str",
        "text",
        "author_id",
        "created_at",
        "referenced_tweets",
        "type",
        "attachments",
        "media_keys",
        "event_type",
        "sender_id",
        "for_user_id",
        "tweet_create_events",
        "direct_message_events",
        "user",
        "message_create",
        "message_data",
        "note_tweet",
        "extended_tweet",
        "created_timestamp",
        "username",
        "screen_name",
        "media_key",
        "url",
    ]
)
shaped = st.recursive(
    json_values,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=6),
    max_leaves=40,
)


@settings(max_examples=250, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(payload=st.one_of(json_values, shaped), account=st.sampled_from([None, "1", "42"]))
def test_fuzz_only_bad_input_escapes(payload, account):
    x = XConnector()
    try:
        mentions = x.parse_payload(payload, account=account)
    except BadInput:
        return
    for m in mentions:
        assert m.external_id and m.author.external_id and m.account


FIXTURE_NAMES = [
    "mentions_timeline.json",
    "tweet_reply_lookup.json",
    "dm_events.json",
    "dm_events_with_users.json",
    "aaa_direct_message_events.json",
    "aaa_tweet_create_events.json",
]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    copy = list(value)
    copy[head] = _replace(copy[head], rest, new)
    return copy


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzz_mutated_fixtures_only_bad_input_escapes(data):
    """Documented payloads with one value anywhere swapped for arbitrary JSON (1-3 times)."""
    payload = load(data.draw(st.sampled_from(FIXTURE_NAMES)))
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_paths(payload)))
        payload = _replace(payload, path, data.draw(json_values))
    try:
        mentions = XConnector().parse_payload(payload, account=data.draw(st.sampled_from([None, "1"])))
    except BadInput:
        return
    for m in mentions:
        assert m.external_id and m.author.external_id and m.account
        m.normal_form()
