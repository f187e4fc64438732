"""Payloads are read through pydantic models of the lexicon shapes: a wrong value is BadInput naming it."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.bluesky import BlueskyConnector
from plugin.errors import BadInput
from plugin.models import Mention

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "bluesky"
BRAND = "did:plc:brandbrandbrandbrandbran"
CUSTOMER = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def _parse(payload: Any) -> list[Mention]:
    return BlueskyConnector().parse_payload(payload, account=BRAND)


def _set(doc: Any, path: tuple[str | int, ...], value: Any) -> Any:
    doc = copy.deepcopy(doc)
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return doc


def _convos() -> dict[str, Any]:
    """listConvos output with one conversation whose last message is the customer's."""
    member = {"did": CUSTOMER, "handle": "ann.bsky.social", "displayName": "Ann"}
    message = {
        "$type": "chat.bsky.convo.defs#messageView",
        "id": "3lmsg1",
        "rev": "3lrev1",
        "text": "where is my order?",
        "sender": {"did": CUSTOMER},
        "sentAt": "2024-06-01T10:00:00.000Z",
    }
    return {"convos": [{"id": "3lconvo", "rev": "3lrev1", "members": [member], "lastMessage": message}]}


N = "notifications"


@pytest.mark.parametrize(
    ("payload", "path", "value", "named"),
    [
        (
            "list_notifications.json",
            (N, 0, "record", "reply", "parent", "uri"),
            5,
            "notifications[0].record.reply.parent.uri",
        ),
        ("list_notifications.json", (N, 0, "author", "did"), ["did:plc:x"], "notifications[0].author.did"),
        (
            "list_notifications.json",
            (N, 0, "author", "displayName"),
            {"en": "Ann"},
            "notifications[0].author.displayName",
        ),
        ("list_notifications.json", (N, 1, "record", "langs"), "en", "notifications[1].record.langs"),
        ("list_notifications.json", (N, 0, "uri"), "https://bsky.app/x", "notifications[0].uri"),
        (
            "notification_images.json",
            (N, 0, "record", "embed", "images", 0, "image", "ref", "$link"),
            7,
            "notifications[0].record.embed.images[0].image.ref.$link",
        ),
        ("post_thread_quote.json", ("thread", "post", "record", "text"), None, "getPostThread.thread.post.record.text"),
        (
            "convos",
            ("convos", 0, "lastMessage", "sender", "did"),
            "alice",
            "listConvos.convos[0].lastMessage.sender.did",
        ),
        ("convos", ("convos", 0, "members", 0, "handle"), 1, "listConvos.convos[0].members[0].handle"),
    ],
)
def test_a_wrong_type_deep_inside_is_bad_input_naming_the_field(
    payload: str, path: tuple[str | int, ...], value: Any, named: str
) -> None:
    doc = _convos() if payload == "convos" else load(payload)
    with pytest.raises(BadInput) as caught:
        _parse(_set(doc, path, value))
    assert str(caught.value).startswith(f"bluesky: {named}: ")


def test_the_listconvos_output_parses() -> None:
    [m] = _parse(_convos())
    assert m.external_id == "3lconvo:3lmsg1" and m.author.handle == "ann.bsky.social"


def test_a_like_is_skipped_without_reading_its_post() -> None:
    like = _set(load("list_notifications.json")["notifications"][2], ("record",), "not a record")
    result = BlueskyConnector().explain_payload([like], account=BRAND)
    assert result.mentions == [] and "like" in result.skipped[0].reason


# -- property: any JSON in the documented places -> mentions or BadInput ------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
POST_PATHS = [
    ("uri",),
    ("cid",),
    ("reason",),
    ("indexedAt",),
    ("author",),
    ("author", "did"),
    ("author", "handle"),
    ("author", "displayName"),
    ("author", "avatar"),
    ("record",),
    ("record", "text"),
    ("record", "createdAt"),
    ("record", "langs"),
    ("record", "reply"),
    ("record", "embed"),
    ("embed",),
]
EMBEDS = [
    lambda v: {"$type": "app.bsky.embed.images", "images": [{"image": {"ref": {"$link": v}}}]},
    lambda v: {"$type": "app.bsky.embed.images", "images": [{"image": {"cid": v}}]},
    lambda v: {"$type": "app.bsky.embed.images#view", "images": [{"fullsize": v}]},
    lambda v: {"$type": "app.bsky.embed.recordWithMedia", "media": v},
    lambda v: {"$type": "app.bsky.embed.video#view", "playlist": v},
    lambda v: {"$type": v, "images": v},
]
CHAT_PATHS = [
    ("id",),
    ("members",),
    ("members", 0, "did"),
    ("members", 0, "handle"),
    ("lastMessage",),
    ("lastMessage", "$type"),
    ("lastMessage", "id"),
    ("lastMessage", "text"),
    ("lastMessage", "sender"),
    ("lastMessage", "sentAt"),
]


@st.composite
def payloads(draw: st.DrawFn) -> Any:
    choice = draw(st.integers(0, 3))
    value = draw(json_values)
    if choice == 3:
        return _set(_convos(), ("convos", 0, *draw(st.sampled_from(CHAT_PATHS))), value)
    if choice == 2:
        doc = load("post_thread_quote.json")
        return _set(doc, ("thread", "post", *draw(st.sampled_from(POST_PATHS))), value)
    doc = load(draw(st.sampled_from(["list_notifications.json", "notification_images.json"])))
    index = draw(st.integers(0, len(doc["notifications"]) - 1))
    if choice == 1:  # an embed whose leaves are random
        where = draw(st.sampled_from([("record", "embed"), ("embed",)]))
        return _set(doc, (N, index, *where), draw(st.sampled_from(EMBEDS))(value))
    return _set(doc, (N, index, *draw(st.sampled_from(POST_PATHS))), value)


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(payloads(), json_values))
def test_any_json_in_documented_fields_gives_mentions_or_bad_input(payload: Any) -> None:
    try:
        found = _parse(payload)
    except BadInput as exc:
        assert str(exc).startswith("bluesky: ")
    else:
        assert isinstance(found, list) and all(isinstance(m, Mention) for m in found)
