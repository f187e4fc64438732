"""Bluesky direct messages read through the real atproto SDK against the fake chat service."""

from __future__ import annotations

import json

import pytest

from connectors.bluesky import BlueskyConnector
from plugin.errors import AuthError, BadInput
from plugin.models import Kind, Reply, Visibility

from .conftest import Pds


def test_direct_messages_are_read_as_private_mentions_with_a_durable_cursor(
    pds: Pds, connector: BlueskyConnector
) -> None:
    account = pds.account(chat_enabled=True, page_size=2)
    state, brand, customer = pds.state, pds.brand["did"], pds.customer["did"]
    state.inject_message(customer, brand, "before horseshoe was connected")
    first = connector.poll(account, None)
    assert first.mentions == [] and not first.more  # starts now, as notifications do
    mark = json.loads(first.cursor or "{}")["dm"]

    sent = [state.inject_message(customer, brand, f"where is order {i}?") for i in range(3)]
    other = state.add_actor("bob.bsky.sandbox", display_name="Bob")
    from_bob = state.inject_message(other["did"], brand, "hello from bob")
    page = connector.poll(account, first.cursor)
    convo = state.convo_for(sorted({customer, brand}))
    expected = [f"{convo['id']}:{m['id']}" for m in sent]
    assert [m.external_id for m in page.mentions if m.author.external_id == customer] == expected
    assert [m.text for m in page.mentions if m.author.external_id == other["did"]] == [from_bob["text"]]
    dm = page.mentions[0]
    assert dm.kind is Kind.DIRECT and dm.visibility is Visibility.PRIVATE
    assert dm.thread_id == convo["id"] and dm.author.handle == "ann.bsky.sandbox"
    assert json.loads(page.cursor or "{}")["dm"] > mark

    # A crash before the cursor was stored replays the same messages; a stored cursor reads nothing again.
    assert [m.external_id for m in connector.poll(account, first.cursor).mentions] == [
        m.external_id for m in page.mentions
    ]
    assert BlueskyConnector().poll(account, page.cursor).mentions == []


def test_our_own_answers_are_not_read_back_and_the_customer_reply_threads(
    pds: Pds, connector: BlueskyConnector
) -> None:
    account = pds.account(chat_enabled=True)
    brand, customer = pds.brand["did"], pds.customer["did"]
    cursor = connector.poll(account, None).cursor
    pds.state.inject_message(customer, brand, "my card was charged twice")
    page = connector.poll(account, cursor)
    [question] = page.mentions
    answer = Reply(
        network="bluesky",
        account=brand,
        text="Sorry, refunding now",
        in_reply_to=question.external_id,
        thread_id=question.thread_id,
        recipient_id=customer,
        visibility=Visibility.PRIVATE,
        idempotency_key="dm-1",
    )
    connector.send_private(account, answer)
    pds.state.inject_message(customer, brand, "thanks!")
    [follow_up] = connector.poll(account, page.cursor).mentions
    assert follow_up.text == "thanks!" and follow_up.thread_id == question.thread_id


def test_chat_is_not_read_unless_enabled(pds: Pds, connector: BlueskyConnector) -> None:
    account = pds.account()
    cursor = connector.poll(account, None).cursor
    pds.state.inject_message(pds.customer["did"], pds.brand["did"], "anyone there?")
    assert connector.poll(account, cursor).mentions == []
    assert not any(call.startswith("chat.bsky.") for call in pds.state.calls)


def test_parse_explains_list_convos_and_refuses_get_messages_plainly(pds: Pds, connector: BlueskyConnector) -> None:
    brand = pds.brand["did"]
    pds.state.inject_message(pds.customer["did"], brand, "hi")
    convos, _ = pds.state.convo_page(brand, limit=50, cursor=None, status=None)
    result = connector.explain_payload({"convos": convos}, brand)
    assert [m.text for m in result.mentions] == ["hi"]
    with pytest.raises(BadInput, match="--account"):
        connector.explain_payload({"convos": convos})
    with pytest.raises(BadInput, match="listConvos"):
        connector.explain_payload({"messages": []}, brand)


def test_an_app_password_without_dm_access_is_an_auth_error_that_says_so(pds: Pds, connector: BlueskyConnector) -> None:
    pds.state.actors[pds.brand["did"]]["chatAccess"] = False
    with pytest.raises(AuthError) as refused:
        connector.poll(pds.account(chat_enabled=True), None)
    assert refused.value.code == "chat_scope" and "direct messages" in str(refused.value)
