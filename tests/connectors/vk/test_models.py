"""Events are read through pydantic models of VK's shapes: a wrong value anywhere is BadInput naming it."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.vk import VKConnector
from plugin.connector import InboundRequest
from plugin.errors import BadInput
from plugin.models import Mention

from .conftest import CONFIRMATION, GROUP_ID, SECRET, load

SECRETS = {"access_token": "t", "secret": SECRET, "confirmation_code": CONFIRMATION, "group_id": str(GROUP_ID)}
ACCOUNT = str(GROUP_ID)


def _parse(payload: Any) -> list[Mention]:
    return VKConnector().parse_payload(payload, ACCOUNT)


def _set(doc: Any, path: tuple[str | int, ...], value: Any) -> Any:
    doc = copy.deepcopy(doc)
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return doc


@pytest.mark.parametrize(
    ("fixture", "path", "value", "named"),
    [
        ("message_new.json", ("object", "message", "from_id"), "abc", "object.message.from_id"),
        ("message_new.json", ("object", "message", "peer_id"), "501", "object.message.peer_id"),  # no coercion
        ("message_new.json", ("object", "message", "reply_message"), [1], "object.message.reply_message"),
        ("message_edit.json", ("object", "conversation_message_id"), 7.5, "object.conversation_message_id"),
        ("wall_reply_new_reply.json", ("object", "parents_stack"), ["13"], "object.parents_stack[0]"),
        ("wall_reply_new_reply.json", ("object", "reply_to_comment"), True, "object.reply_to_comment"),
        ("wall_reply_delete.json", ("object", "deleter_id"), {"id": 1}, "object.deleter_id"),
        (
            "wall_post_new_visitor.json",
            ("object", "attachments", 0, "photo", "sizes", 1, "width"),
            "604",
            "object.attachments[0].photo.sizes[1].width",
        ),
        ("wall_post_new_visitor.json", ("event_id",), 17, "event.event_id"),
        ("wall_post_new_visitor.json", ("group_id",), "club1", "event.group_id"),
    ],
)
def test_a_wrong_type_deep_inside_is_bad_input_naming_the_field(
    fixture: str, path: tuple[str | int, ...], value: Any, named: str
) -> None:
    with pytest.raises(BadInput) as caught:
        _parse(_set(load(fixture), path, value))
    assert str(caught.value).startswith(f"vk: {named}: ")


def test_the_webhook_answers_the_same_reason() -> None:
    body = _set(load("message_new.json"), ("object", "message", "from_id"), "abc")
    request = InboundRequest(method="POST", path=f"/webhooks/vk/{GROUP_ID}", headers={}, body=json.dumps(body).encode())
    with pytest.raises(BadInput, match=r"^vk: object\.message\.from_id: "):
        VKConnector().parse_webhook(request, SECRETS)


def test_a_long_poll_answer_whose_updates_are_not_a_list_is_bad_input() -> None:
    with pytest.raises(BadInput, match=r"vk: long poll answer\.updates"):
        _parse({"ts": "8", "updates": {"type": "message_new"}})


def test_fields_vk_adds_later_are_ignored() -> None:
    doc = _set(load("message_new.json"), ("object", "message", "some_future_field"), {"x": [1]})
    [m] = _parse(_set(doc, ("object", "new_wrapper_field"), 3))
    assert m.external_id == "501_7"


def test_unknown_attachment_types_are_ignored() -> None:
    doc = _set(load("wall_post_new_visitor.json"), ("object", "attachments"), [{"type": "poll", "poll": {"id": 1}}])
    [m] = _parse(doc)
    assert m.attachments == []


# -- property: any JSON in the documented places -> mentions or BadInput ------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
# (fixture, the object's path in it); every field the models read is a key of that object.
DOCS = [
    ("message_new.json", ("object", "message")),
    ("message_edit.json", ("object",)),
    ("message_new_chat_mention.json", ("object", "message")),
    ("wall_reply_new_reply.json", ("object",)),
    ("wall_reply_delete.json", ("object",)),
    ("wall_post_new_visitor.json", ("object",)),
]
OBJECT_FIELDS = [
    "id",
    "from_id",
    "peer_id",
    "conversation_message_id",
    "date",
    "out",
    "text",
    "payload",
    "reply_message",
    "attachments",
    "owner_id",
    "post_owner_id",
    "post_id",
    "reply_to_comment",
    "parents_stack",
    "deleter_id",
    "user_id",
    "post_type",
]
EVENT_FIELDS = ["type", "group_id", "event_id", "object"]
TYPES = ["wall_reply_new", "wall_reply_edit", "wall_reply_delete", "wall_post_new", "message_new", "message_edit"]


@st.composite
def events(draw: st.DrawFn) -> Any:
    name, where = draw(st.sampled_from(DOCS))
    doc = load(name)
    if draw(st.booleans()):
        doc["type"] = draw(st.sampled_from(TYPES))  # an object under another event's type
    if draw(st.booleans()):
        return _set(doc, (draw(st.sampled_from(EVENT_FIELDS)),), draw(json_values))
    field = draw(st.sampled_from(OBJECT_FIELDS))
    if field == "attachments" and draw(st.booleans()):  # reach into the attachment bodies too
        kind = draw(st.sampled_from(["photo", "doc", "link", "audio_message"]))
        body = {"sizes": [{"url": draw(json_values), "width": draw(json_values), "height": 1}]}
        if kind != "photo":
            body = {"url": draw(json_values), "link_mp3": draw(json_values)}
        return _set(doc, (*where, field), [{"type": kind, kind: body}])
    return _set(doc, (*where, field), draw(json_values))


def _only_mentions_or_bad_input(run: Any) -> None:
    try:
        found = run()
    except BadInput as exc:
        assert str(exc).startswith("vk: ")
    else:
        assert isinstance(found, list) and all(isinstance(m, Mention) for m in found)


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(events(), st.lists(events(), max_size=3).map(lambda u: {"ts": "9", "updates": u}), json_values))
def test_any_json_in_documented_fields_gives_mentions_or_bad_input(payload: Any) -> None:
    _only_mentions_or_bad_input(lambda: _parse(payload))


@settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(events())
def test_webhook_with_any_json_in_documented_fields_gives_mentions_or_bad_input(event: Any) -> None:
    body = json.dumps(event).encode()
    request = InboundRequest(method="POST", path=f"/webhooks/vk/{GROUP_ID}", headers={}, body=body)
    _only_mentions_or_bad_input(lambda: VKConnector().parse_webhook(request, SECRETS).mentions)
