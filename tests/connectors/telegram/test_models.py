"""Updates are read through pydantic models of the Bot API shapes: a wrong value anywhere is BadInput naming it."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.telegram import TelegramConnector
from plugin.connector import InboundRequest
from plugin.errors import BadInput
from plugin.models import Mention

from .conftest import BOT_ID, BOT_TOKEN, SECRET, load

SECRETS = {"bot_token": BOT_TOKEN, "webhook_secret": SECRET, "bot_username": "horseshoe_bot"}


def _parse(payload: Any) -> list[Mention]:
    return TelegramConnector().parse_payload(payload, BOT_ID, bot_username="horseshoe_bot")


@pytest.mark.parametrize(
    ("path", "value", "named"),
    [
        (("message", "chat", "id"), [1, 2], "update.message.chat.id"),
        (("message", "chat", "id"), "-100123", "update.message.chat.id"),  # documented Integer: no coercion
        (("message", "from", "id"), True, "update.message.from.id"),
        (("message", "reply_to_message", "message_id"), 4.5, "update.message.reply_to_message.message_id"),
        (("message", "entities"), {"type": "mention"}, "update.message.entities"),
        (("message", "date"), "yesterday", "update.message.date"),
        (("update_id",), None, "update.update_id"),
    ],
)
def test_a_wrong_type_deep_inside_is_bad_input_naming_the_field(path: tuple[str, ...], value: Any, named: str) -> None:
    update = load("group_reply_to_bot.json")
    target = update
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(BadInput) as caught:
        _parse(update)
    assert str(caught.value).startswith(f"telegram: {named}: ")


def test_a_bad_entity_offset_names_its_index() -> None:
    update = load("group_mention.json")
    update["message"]["entities"][0]["offset"] = "0"
    with pytest.raises(BadInput, match=r"update\.message\.entities\[0\]\.offset"):
        _parse(update)


def test_a_getupdates_answer_that_is_not_ok_is_bad_input() -> None:
    with pytest.raises(BadInput, match=r"telegram: getUpdates\.ok"):
        _parse({"ok": False, "result": []})


def test_fields_telegram_adds_later_are_ignored() -> None:
    update = load("private_message.json")
    update["message"]["some_future_field"] = {"nested": [1, 2]}
    update["message"]["chat"]["another"] = True
    [m] = _parse(update)
    assert m.external_id == "1001:17"


# -- property: any JSON in the documented places -> mentions or BadInput ------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
# Every field the models read, as a path into a documented Update.
FIELDS = [
    ("update_id",),
    ("message",),
    ("message", "message_id"),
    ("message", "date"),
    ("message", "chat"),
    ("message", "chat", "id"),
    ("message", "chat", "type"),
    ("message", "chat", "username"),
    ("message", "from"),
    ("message", "from", "id"),
    ("message", "from", "is_bot"),
    ("message", "from", "first_name"),
    ("message", "sender_chat"),
    ("message", "text"),
    ("message", "caption"),
    ("message", "entities"),
    ("message", "caption_entities"),
    ("message", "message_thread_id"),
    ("message", "reply_to_message"),
    ("message", "reply_to_message", "from"),
    ("message", "photo"),
    ("message", "document"),
    ("message", "voice"),
    ("message", "edit_date"),
]
BASES = ["group_reply_to_bot.json", "group_mention.json", "private_photo.json", "private_message.json"]


def _with(base: Any, path: tuple[str, ...], value: Any) -> Any:
    doc = copy.deepcopy(base)
    target = doc
    for key in path[:-1]:
        if not isinstance(target.get(key), dict):
            target[key] = {}
        target = target[key]
    target[path[-1]] = value
    return doc


updates = st.builds(
    _with,
    st.sampled_from([load(name) for name in BASES]),
    st.sampled_from(FIELDS),
    json_values,
)


def _only_mentions_or_bad_input(run: Any) -> None:
    try:
        found = run()
    except BadInput as exc:
        assert str(exc).startswith("telegram: ")
    else:
        assert isinstance(found, list) and all(isinstance(m, Mention) for m in found)


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(updates, st.lists(updates, max_size=3).map(lambda u: {"ok": True, "result": u}), json_values))
def test_any_json_in_documented_fields_gives_mentions_or_bad_input(payload: Any) -> None:
    _only_mentions_or_bad_input(lambda: _parse(payload))


@settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(updates)
def test_webhook_with_any_json_in_documented_fields_gives_mentions_or_bad_input(update: Any) -> None:
    request = InboundRequest(
        method="POST", path=f"/webhooks/telegram/{BOT_ID}", headers={}, body=json.dumps(update).encode()
    )
    _only_mentions_or_bad_input(lambda: TelegramConnector().parse_webhook(request, SECRETS).mentions)
