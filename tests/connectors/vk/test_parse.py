"""Parsing of documented Callback API shapes, request verification, handshakes and fuzzing."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.vk import VKConnector, random_id_for
from plugin.connector import InboundRequest
from plugin.errors import BadInput
from plugin.models import Kind, Visibility

from .conftest import CONFIRMATION, GROUP_ID, SECRET, load

SECRETS = {"access_token": "t", "secret": SECRET, "confirmation_code": CONFIRMATION, "group_id": str(GROUP_ID)}
ACCOUNT = str(GROUP_ID)
OWNER = -GROUP_ID


def parse(name: str):
    return VKConnector().parse_payload(load(name), ACCOUNT)


def req(body: object) -> InboundRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return InboundRequest(method="POST", path=f"/webhooks/vk/{GROUP_ID}", headers={}, body=raw)


def test_wall_comment() -> None:
    [m] = parse("wall_reply_new.json")
    assert m.network == "vk" and m.external_id == f"{OWNER}_13"
    assert m.thread_id == f"{OWNER}_11" and m.parent_id == f"{OWNER}_11"
    assert m.kind is Kind.COMMENT and m.visibility is Visibility.PUBLIC
    assert m.author.external_id == "501" and m.author.profile_url == "https://vk.com/id501"
    assert m.url == f"https://vk.com/wall{OWNER}_11?reply=13"
    assert m.account == ACCOUNT and m.extra["event_id"] == "9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b"
    assert m.normal_form()["created_at"] == "2024-05-31T18:28:20Z"


def test_reply_to_a_comment() -> None:
    [m] = parse("wall_reply_new_reply.json")
    assert m.kind is Kind.REPLY and m.parent_id == f"{OWNER}_14" and m.thread_id == f"{OWNER}_11"
    assert m.url == f"https://vk.com/wall{OWNER}_11?reply=15&thread=13"


def test_edit_and_delete_events() -> None:
    [edited] = parse("wall_reply_edit.json")
    assert edited.event == "edited" and edited.external_id == f"{OWNER}_13" and "Monday" in edited.text
    [deleted] = parse("wall_reply_delete.json")
    assert deleted.event == "deleted" and deleted.external_id == f"{OWNER}_13"
    assert deleted.author.external_id == "501"


def test_visitor_post_with_photo() -> None:
    [m] = parse("wall_post_new_visitor.json")
    assert m.kind is Kind.POST and m.external_id == f"{OWNER}_12" and m.thread_id == m.external_id
    assert m.url == f"https://vk.com/wall{OWNER}_12"
    assert [(a.type, a.url) for a in m.attachments] == [("image", "https://sun9-1.userapi.com/x.jpg")]


@pytest.mark.parametrize(
    "name",
    [
        "wall_post_new_own.json",
        "wall_reply_new_echo.json",
        "message_reply.json",
        "message_new_chat_unaddressed.json",
        "confirmation.json",
    ],
)
def test_not_mentions(name: str) -> None:
    assert parse(name) == []


def test_direct_message_and_edit() -> None:
    [m] = parse("message_new.json")
    assert m.external_id == "501_7" and m.thread_id == "501"
    assert m.kind is Kind.DIRECT and m.visibility is Visibility.PRIVATE
    [e] = parse("message_edit.json")
    assert e.external_id == "501_7" and e.event == "edited"


def test_chat_message_mentioning_the_community() -> None:
    [m] = parse("message_new_chat_mention.json")
    assert m.external_id == "2000000003_41" and m.kind is Kind.COMMENT


def test_long_poll_answer() -> None:
    assert [m.external_id for m in parse("long_poll_response.json")] == [f"{OWNER}_13"]


def test_redelivered_event_keeps_external_id() -> None:
    # VK resends an event with the same event_id when we did not answer "ok": same external_id,
    # so the inbox's uniqueness drops the duplicate.
    assert parse("wall_reply_new.json") == parse("wall_reply_new.json")


# -- verification and handshakes -------------------------------------------------------------------


def test_verify_good_forged_missing() -> None:
    conn = VKConnector()
    good = load("wall_reply_new.json")
    assert conn.verify_request(req(good), SECRETS)
    assert not conn.verify_request(req({**good, "secret": "forged"}), SECRETS)
    assert not conn.verify_request(req({k: v for k, v in good.items() if k != "secret"}), SECRETS)
    assert not conn.verify_request(req({**good, "group_id": 1}), SECRETS)
    assert not conn.verify_request(req(b"not json"), SECRETS)
    assert not conn.verify_request(req(good), {"group_id": str(GROUP_ID)})  # no secret configured


def test_group_id_configured_as_an_owner_id_verifies() -> None:
    # VK writes a community as the owner id -GROUP_ID (wall-123_11); an admin who pastes that into
    # the account's group id still has callbacks for GROUP_ID verified, and no other group's.
    conn = VKConnector()
    good = load("wall_reply_new.json")
    as_owner = {**SECRETS, "group_id": str(OWNER)}
    assert conn.verify_request(req(good), as_owner)
    assert not conn.verify_request(req({**good, "group_id": 1}), as_owner)


def test_confirmation_handshake() -> None:
    conn = VKConnector()
    body = load("confirmation.json")  # VK may send it without "secret"
    assert conn.verify_request(req(body), SECRETS)
    assert not conn.verify_request(req({**body, "group_id": 42}), SECRETS)
    assert not conn.verify_request(req(body), {k: v for k, v in SECRETS.items() if k != "group_id"})
    assert conn.verify_request(req({**body, "secret": SECRET}), SECRETS)
    assert not conn.verify_request(req({**body, "secret": "x"}), SECRETS)
    result = conn.parse_webhook(req(body), SECRETS)
    assert result.mentions == [] and result.handshake == (200, "text/plain", CONFIRMATION)


def test_events_are_answered_ok_with_mentions() -> None:
    result = VKConnector().parse_webhook(req(load("wall_reply_new.json")), SECRETS)
    assert result.handshake == (200, "text/plain", "ok") and len(result.mentions) == 1
    echo = VKConnector().parse_webhook(req(load("wall_reply_new_echo.json")), SECRETS)
    assert echo.handshake == (200, "text/plain", "ok") and echo.mentions == []


def test_random_id_is_stable_31_bit() -> None:
    values = {random_id_for(f"key-{i}") for i in range(500)}
    assert all(0 < v < 2**31 for v in values) and len(values) == 500
    assert random_id_for("abc") == random_id_for("abc")


# -- fuzz ------------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=25,
)
TYPES = ["wall_reply_new", "wall_reply_edit", "wall_reply_delete", "wall_post_new", "message_new", "message_edit"]


def _mutations() -> st.SearchStrategy[object]:
    docs = {
        "wall_reply_new": load("wall_reply_new_reply.json"),
        "wall_post_new": load("wall_post_new_visitor.json"),
        "message_new": load("message_new.json"),
        "wall_reply_delete": load("wall_reply_delete.json"),
    }

    def mutate(data: tuple[str, str, str, object]) -> object:
        which, ev_type, key, value = data
        doc = json.loads(json.dumps(docs[which]))
        doc["type"] = ev_type
        obj = doc["object"]["message"] if which == "message_new" else doc["object"]
        if key in ("group_id", "object"):
            doc[key] = value
        else:
            obj[key] = value
        return doc

    keys = [
        "id",
        "from_id",
        "post_id",
        "owner_id",
        "post_owner_id",
        "date",
        "text",
        "peer_id",
        "conversation_message_id",
        "reply_to_comment",
        "parents_stack",
        "attachments",
        "reply_message",
        "group_id",
        "object",
    ]
    return st.tuples(st.sampled_from(sorted(docs)), st.sampled_from(TYPES), st.sampled_from(keys), json_values).map(
        mutate
    )


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(json_values, _mutations()))
def test_fuzz_parse_payload_only_raises_bad_input(payload: object) -> None:
    try:
        VKConnector().parse_payload(payload, ACCOUNT)
    except BadInput:
        pass


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    st.binary(max_size=200)
    | json_values.map(lambda v: json.dumps(v).encode())
    | _mutations().map(lambda d: json.dumps(d).encode())
)
def test_fuzz_parse_webhook_only_raises_bad_input(body: bytes) -> None:
    conn = VKConnector()
    request = req(body)
    conn.verify_request(request, SECRETS)  # must never raise
    try:
        conn.parse_webhook(request, SECRETS)
    except BadInput:
        pass


# -- group_messages: addressed (default) or all -----------------------------------------------------


def test_unaddressed_chat_message_is_skipped_with_a_reason() -> None:
    result = VKConnector().explain_payload(load("message_new_chat_unaddressed.json"), ACCOUNT)
    assert result.mentions == []
    [skip] = result.skipped
    assert skip.where.startswith("message_new") and "group_messages=addressed" in skip.reason


def test_group_messages_all_keeps_every_chat_message() -> None:
    result = VKConnector().explain_payload(load("message_new_chat_unaddressed.json"), ACCOUNT, group_messages="all")
    [m] = result.mentions
    assert m.extra["addressed"] is False and m.kind is Kind.COMMENT
    assert result.skipped == []


def test_webhook_counts_what_the_setting_skipped_and_honours_all() -> None:
    conn = VKConnector()
    body = {**load("message_new_chat_unaddressed.json"), "secret": SECRET}
    assert conn.parse_webhook(req(body), SECRETS).mentions == []
    assert sum(conn.skip_counts.values()) == 1
    assert len(conn.parse_webhook(req(body), {**SECRETS, "group_messages": "all"}).mentions) == 1


def test_explain_names_why_an_echo_is_skipped() -> None:
    result = VKConnector().explain_payload(load("wall_reply_new_echo.json"), ACCOUNT)
    assert result.mentions == [] and "our own comment" in result.skipped[0].reason
