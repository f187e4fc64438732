"""Parsing of documented Update shapes, webhook authentication, and fuzzing."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.telegram import TelegramConnector
from plugin.connector import InboundRequest
from plugin.errors import BadInput
from plugin.models import Kind, Visibility

from .conftest import BOT_ID, BOT_TOKEN, SECRET, load

SECRETS = {"bot_token": BOT_TOKEN, "webhook_secret": SECRET, "bot_username": "horseshoe_bot"}


def parse(name: str):
    return TelegramConnector().parse_payload(load(name), BOT_ID, bot_username="horseshoe_bot")


def webhook(body: bytes, headers: dict[str, str]) -> InboundRequest:
    return InboundRequest(method="POST", path="/webhooks/telegram/123456789", headers=headers, body=body)


def test_private_message_is_direct_private() -> None:
    [m] = parse("private_message.json")
    assert m.network == "telegram"
    assert m.external_id == "1001:17"
    assert m.thread_id == "1001"
    assert m.parent_id is None
    assert m.kind is Kind.DIRECT and m.visibility is Visibility.PRIVATE
    assert m.author.external_id == "1001" and m.author.handle == "annlee" and m.author.name == "Ann Lee"
    assert m.author.profile_url == "https://t.me/annlee"
    assert m.account == BOT_ID
    assert m.normal_form()["created_at"] == "2024-05-31T16:08:37Z"
    assert m.extra["update_id"] == 700000001


def test_group_mention_in_public_supergroup_has_url() -> None:
    [m] = parse("group_mention.json")
    assert m.external_id == "-1001234567890:4410"
    assert m.kind is Kind.POST and m.visibility is Visibility.PUBLIC
    assert m.thread_id == m.external_id
    assert m.url == "https://t.me/acme_customers/4410"
    assert m.author.external_id == "1002" and m.author.handle is None and m.author.name == "Bob"


def test_mention_offsets_are_utf16() -> None:
    [m] = parse("group_mention_after_emoji.json")
    assert m.external_id == "-1001234567890:4411"


def test_text_mention_of_the_bot_in_basic_group() -> None:
    [m] = parse("group_text_mention.json")
    assert m.external_id == "-4012345678:88"
    assert m.url is None  # basic groups have no public links


def test_reply_to_bot_is_kind_reply_threaded_to_root() -> None:
    [m] = parse("group_reply_to_bot.json")
    assert m.kind is Kind.REPLY
    assert m.parent_id == "-1001234567890:4412"
    assert m.thread_id == "-1001234567890:4410"  # message_thread_id = root of the reply chain


def test_command_addressed_to_bot() -> None:
    [m] = parse("group_bot_command.json")
    assert m.text == "/help@horseshoe_bot"


@pytest.mark.parametrize("name", ["group_unaddressed.json", "bot_echo.json", "channel_post.json"])
def test_ignored(name: str) -> None:
    assert parse(name) == []


def test_edited_message_keeps_external_id() -> None:
    [m] = parse("edited_message.json")
    assert m.external_id == "1001:17" and m.event == "edited"
    assert m.text.endswith("#5522 never arrived") and m.extra["edit_date"] == 1717171999


def test_photo_caption_and_file() -> None:
    [m] = parse("private_photo.json")
    assert m.text == "This is what I received"
    assert m.extra["files"] == [{"type": "image", "file_id": "AgACAgQAAxkBAAIBlarge"}]


def test_get_updates_envelope() -> None:
    mentions = parse("get_updates.json")
    assert [m.external_id for m in mentions] == ["1001:17"]  # the unaddressed group message is dropped


def test_group_mentions_need_the_username() -> None:
    assert TelegramConnector().parse_payload(load("group_mention.json"), BOT_ID) == []


# -- webhook authentication ------------------------------------------------------------------------


def test_webhook_good_secret() -> None:
    body = json.dumps(load("private_message.json")).encode()
    conn = TelegramConnector()
    req = webhook(body, {"x-telegram-bot-api-secret-token": SECRET})  # header names are case-insensitive
    assert conn.verify_request(req, SECRETS)
    result = conn.parse_webhook(req, SECRETS)
    assert [m.external_id for m in result.mentions] == ["1001:17"] and result.handshake is None
    assert result.mentions[0].account == BOT_ID  # bot id comes from the token


def test_webhook_group_mention_uses_username_from_secrets() -> None:
    body = json.dumps(load("group_mention.json")).encode()
    req = webhook(body, {"X-Telegram-Bot-Api-Secret-Token": SECRET})
    assert len(TelegramConnector().parse_webhook(req, SECRETS).mentions) == 1


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}, {"X-Telegram-Bot-Api-Secret-Token": ""}],
)
def test_webhook_forged_or_missing_secret(headers: dict[str, str]) -> None:
    body = json.dumps(load("private_message.json")).encode()
    assert not TelegramConnector().verify_request(webhook(body, headers), SECRETS)


def test_webhook_without_configured_secret_is_refused() -> None:
    req = webhook(b"{}", {"X-Telegram-Bot-Api-Secret-Token": ""})
    assert not TelegramConnector().verify_request(req, {"bot_token": BOT_TOKEN})


def test_webhook_bad_json_is_bad_input() -> None:
    with pytest.raises(BadInput):
        TelegramConnector().parse_webhook(webhook(b"\xff{", {}), SECRETS)


# -- fuzz ------------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=25,
)


def _mutations() -> st.SearchStrategy[object]:
    base = load("group_reply_to_bot.json")
    keys = ["update_id", "message", "chat", "id", "type", "from", "date", "text", "entities", "reply_to_message"]

    def mutate(data: tuple[str, object]) -> object:
        key, value = data
        doc = json.loads(json.dumps(base))
        target = doc["message"] if key not in ("update_id", "message") else doc
        if key in ("id", "type"):
            target = doc["message"]["chat"]
        target[key] = value
        return doc

    return st.tuples(st.sampled_from(keys), json_values).map(mutate)


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(json_values, _mutations()))
def test_fuzz_parse_payload_only_raises_bad_input(payload: object) -> None:
    try:
        TelegramConnector().parse_payload(payload, BOT_ID, bot_username="horseshoe_bot")
    except BadInput:
        pass


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()))
def test_fuzz_parse_webhook_only_raises_bad_input(body: bytes) -> None:
    try:
        TelegramConnector().parse_webhook(webhook(body, {}), SECRETS)
    except BadInput:
        pass


# -- group_messages: addressed (default) or all -----------------------------------------------------


def test_unaddressed_group_message_is_skipped_with_a_reason() -> None:
    result = TelegramConnector().explain_payload(load("group_unaddressed.json"), BOT_ID, bot_username="horseshoe_bot")
    assert result.mentions == []
    [skip] = result.skipped
    assert skip.where.startswith("update ") and "not addressed to the bot" in skip.reason
    assert "group_messages=addressed" in skip.reason


def test_group_messages_all_keeps_every_group_message() -> None:
    result = TelegramConnector().explain_payload(
        load("group_unaddressed.json"), BOT_ID, bot_username="horseshoe_bot", group_messages="all"
    )
    [m] = result.mentions
    assert m.visibility is Visibility.PUBLIC and m.extra["addressed"] is False
    assert result.skipped == []


def test_webhook_counts_what_the_setting_skipped() -> None:
    conn = TelegramConnector()
    body = json.dumps(load("group_unaddressed.json")).encode()
    req = webhook(body, {"X-Telegram-Bot-Api-Secret-Token": SECRET})
    assert conn.parse_webhook(req, SECRETS).mentions == []
    assert sum(conn.skip_counts.values()) == 1
    everything = {**SECRETS, "group_messages": "all"}
    assert len(conn.parse_webhook(req, everything).mentions) == 1


def test_settings_model_accepts_only_the_two_group_modes() -> None:
    from pydantic import ValidationError

    model = TelegramConnector.settings_model
    assert model.model_validate({"group_messages": "all"}).model_dump()["group_messages"] == "all"
    with pytest.raises(ValidationError):
        model.model_validate({"group_messages": "some"})


def test_explain_names_why_a_channel_post_is_skipped() -> None:
    result = TelegramConnector().explain_payload(load("channel_post.json"), BOT_ID)
    assert result.mentions == [] and "channel_post" in result.skipped[0].reason
