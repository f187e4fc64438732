"""parse_payload against documented payload shapes, plus a fuzz that only BadInput ever escapes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors import mastodon as mastodon_module
from connectors.mastodon import MastodonConnector, html_to_text
from plugin.errors import BadInput
from plugin.models import Kind, Visibility

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "mastodon"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def test_notifications_page_keeps_mentions_only() -> None:
    mentions = MastodonConnector().parse_payload(load("notifications_mentions.json"), account="14715")
    assert len(mentions) == 1
    m = mentions[0]
    assert m.external_id == "103186126728896492"
    assert m.parent_id == "103186038209478945"
    assert m.thread_id == "103186038209478945"  # best guess without a /context lookup
    assert m.kind is Kind.REPLY and m.visibility is Visibility.PUBLIC
    assert m.author.external_id == "971724"
    assert m.author.handle == "zsc@mastodon.social"  # local acct qualified with the instance
    assert m.text == "@trwnh sup!"
    assert m.created_at.isoformat() == "2019-11-23T07:49:01.940000+00:00"
    assert m.url == "https://mastodon.social/@zsc/103186126728896492"
    assert m.account == "14715"
    assert m.extra["notification_id"] == "34975861"


def test_direct_status_is_private_with_plain_text() -> None:
    (m,) = MastodonConnector().parse_payload(load("status_direct_remote.json"), account="14715")
    assert m.visibility is Visibility.PRIVATE and m.kind is Kind.DIRECT
    assert m.thread_id == m.external_id and m.parent_id is None
    assert m.author.handle == "haskal@cybre.space"
    assert m.text == "@trwnh my order #42 never arrived & support is silent\ncan you help?\n\nthanks"
    assert m.attachments[0].type == "image"
    assert m.normal_form()["visibility"] == "private"


def test_streaming_status_update_is_an_edit() -> None:
    (m,) = MastodonConnector().parse_payload(load("stream_status_update.json"), account="1")
    assert m.event == "edited"
    assert m.text == "@brand edited text"


def test_html_to_text_unescapes_and_keeps_breaks() -> None:
    assert html_to_text("<p>a &amp; b<br>c</p><p>d</p>") == "a & b\nc\n\nd"


def test_junk_is_bad_input() -> None:
    connector = MastodonConnector()
    for junk in (None, 3, "text", {"hello": 1}, [1, 2], [{"id": "1"}], {"id": "1", "content": "<p>x</p>"}):
        try:
            connector.parse_payload(junk)
        except BadInput:
            continue
        raise AssertionError(f"accepted junk {junk!r}")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)
notification_like = st.fixed_dictionaries(
    {"id": st.text(max_size=5), "type": st.sampled_from(["mention", "update", "follow", "x"])},
    optional={
        "account": json_values,
        "status": st.fixed_dictionaries(
            {},
            optional={
                "id": st.text(max_size=5),
                "content": st.text(max_size=30) | st.integers(),
                "created_at": st.sampled_from(["2024-01-01T00:00:00Z", "junk", ""]) | st.integers(),
                "account": st.fixed_dictionaries({}, optional={"id": st.text(max_size=3), "acct": json_values}),
                "visibility": json_values,
                "in_reply_to_id": json_values,
                "media_attachments": json_values,
            },
        ),
    },
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.one_of(json_values, st.lists(notification_like, max_size=3), notification_like))
def test_fuzz_parse_payload_only_raises_bad_input(payload: Any) -> None:
    try:
        mentions = mastodon_module.parse_mastodon_payload(payload, "brand")
    except BadInput:
        return
    for m in mentions:
        assert m.network == "mastodon" and m.external_id


def test_conversations_response_parses_to_direct_messages_and_explains_the_empty_one() -> None:
    result = MastodonConnector().explain_payload(load("conversations.json"), "1")
    [dm] = result.mentions
    assert dm.visibility == "private" and dm.external_id == "103254962155278888"
    assert dm.extra["conversation_id"] == "418450"
    assert result.skipped[0].where == "conversation 418451" and "no last_status" in result.skipped[0].reason


def test_notifications_explain_what_carries_no_status() -> None:
    result = MastodonConnector().explain_payload(load("notifications_mentions.json"))
    assert len(result.mentions) == 1 and "'favourite'" in result.skipped[0].reason
