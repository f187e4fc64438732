"""Payloads are read through pydantic models of Mastodon's entities: a wrong value is BadInput naming it."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.mastodon import MastodonConnector
from plugin.errors import BadInput
from plugin.models import Mention

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "mastodon"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def _parse(payload: Any) -> list[Mention]:
    return MastodonConnector().parse_payload(payload, account="14715")


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
        ("notifications_mentions.json", (0, "status", "account", "id"), ["1"], "notifications[0].status.account.id"),
        ("notifications_mentions.json", (0, "status", "content"), 42, "notifications[0].status.content"),
        ("notifications_mentions.json", (0, "status", "created_at"), 1717171717, "notifications[0].status.created_at"),
        (
            "notifications_mentions.json",
            (0, "status", "media_attachments"),
            [7],
            "notifications[0].status.media_attachments[0]",
        ),
        ("notifications_mentions.json", (0, "type"), None, "notifications[0].type"),
        (
            "conversations.json",
            (0, "last_status", "in_reply_to_id"),
            {"id": "1"},
            "conversations[0].last_status.in_reply_to_id",
        ),
        ("status_direct_remote.json", ("account", "url"), True, "status.account.url"),
        ("status_direct_remote.json", ("id",), "", "status.id"),
    ],
)
def test_a_wrong_type_deep_inside_is_bad_input_naming_the_field(
    fixture: str, path: tuple[str | int, ...], value: Any, named: str
) -> None:
    with pytest.raises(BadInput) as caught:
        _parse(_set(load(fixture), path, value))
    assert str(caught.value).startswith(f"mastodon: {named}: ")


def test_a_stream_event_payload_is_read_as_a_status() -> None:
    event = load("stream_status_update.json")
    status = _set(json.loads(event["payload"]), ("account", "id"), 1.5)
    with pytest.raises(BadInput, match=r"^mastodon: status\.account\.id: must be a string, got float"):
        _parse({**event, "payload": json.dumps(status)})


def test_ids_as_ints_and_datetimes_from_mastodon_py_are_read() -> None:
    from datetime import UTC, datetime

    status = load("status_direct_remote.json")
    status["id"], status["account"]["id"] = 108914398911648589, 1
    status["created_at"] = datetime(2022, 9, 1, 20, 21, 6, tzinfo=UTC)
    [m] = _parse(status)
    assert m.external_id == "108914398911648589" and m.author.external_id == "1"


def test_a_skipped_notification_type_does_not_need_a_readable_status() -> None:
    favourite = _set(load("notifications_mentions.json")[1], ("status", "account"), "not an account")
    result = MastodonConnector().explain_payload([favourite], account="14715")
    assert result.mentions == [] and "favourite" in result.skipped[0].reason


# -- property: any JSON in the documented places -> mentions or BadInput ------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
STATUS_FIELDS = [
    "id",
    "account",
    "content",
    "created_at",
    "in_reply_to_id",
    "in_reply_to_account_id",
    "visibility",
    "quote",
    "media_attachments",
    "url",
    "uri",
    "language",
]
ACCOUNT_FIELDS = ["id", "acct", "username", "display_name", "avatar", "url"]


@st.composite
def payloads(draw: st.DrawFn) -> Any:
    # (fixture, where its Status sits)
    name, where = draw(
        st.sampled_from(
            [
                ("notifications_mentions.json", (0, "status")),
                ("conversations.json", (0, "last_status")),
                ("status_direct_remote.json", ()),
                ("stream_status_update.json", None),
            ]
        )
    )
    doc = load(name)
    if where is None:  # the status is a JSON text inside the stream event
        status = json.loads(doc["payload"])
        doc["payload"] = json.dumps(_mutate(draw, status, ()))
        if draw(st.booleans()):
            return doc
        return _set(doc, (draw(st.sampled_from(["event", "payload"])),), draw(json_values))
    if where and draw(st.integers(0, 4)) == 0:  # the Notification / Conversation fields themselves
        field = draw(st.sampled_from(["id", "type", "status", "last_status", "accounts"]))
        return _set(doc, (0, field), draw(json_values))
    return _mutate(draw, doc, where)


def _mutate(draw: st.DrawFn, doc: Any, where: tuple[str | int, ...]) -> Any:
    if draw(st.booleans()):
        return _set(doc, (*where, "account", draw(st.sampled_from(ACCOUNT_FIELDS))), draw(json_values))
    field = draw(st.sampled_from(STATUS_FIELDS))
    if field == "media_attachments" and draw(st.booleans()):
        item = {"type": draw(json_values), "url": draw(json_values), "remote_url": draw(json_values)}
        return _set(doc, (*where, field), [item])
    return _set(doc, (*where, field), draw(json_values))


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(payloads(), json_values))
def test_any_json_in_documented_fields_gives_mentions_or_bad_input(payload: Any) -> None:
    try:
        found = _parse(payload)
    except BadInput as exc:
        assert str(exc).startswith("mastodon: ")
    else:
        assert isinstance(found, list) and all(isinstance(m, Mention) for m in found)
