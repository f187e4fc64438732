"""Fuzz parse_webhook: whatever the (signed) body, only BadInput may escape."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from connectors.facebook import FacebookConnector
from connectors.instagram import InstagramConnector
from connectors.messenger import MessengerConnector
from connectors.meta import sign_body
from plugin.connector import quarantine_scope
from plugin.errors import BadInput
from sandbox.meta import DEFAULT_APP_SECRET

from .conftest import fixture, post_request, secrets

CONNECTORS = [FacebookConnector(), MessengerConnector(), InstagramConnector()]
FIXTURES = [
    fixture("facebook", "feed_comment_add.json"),
    fixture("facebook", "feed_comment_remove.json"),
    fixture("messenger", "message_text.json"),
    fixture("messenger", "message_edit.json"),
    fixture("instagram", "comment_reply.json"),
    fixture("instagram", "message.json"),
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=30,
)


def mutate(value: Any, data: st.DataObject) -> Any:
    """Replace one random node of a real payload with random JSON."""
    if isinstance(value, dict) and value and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(sorted(value)))
        return {**value, key: mutate(value[key], data)}
    if isinstance(value, list) and value and data.draw(st.booleans()):
        index = data.draw(st.integers(0, len(value) - 1))
        return [*value[:index], mutate(value[index], data), *value[index + 1 :]]
    return data.draw(json_values)


def check(body: bytes) -> None:
    request = post_request(body, sign_body(DEFAULT_APP_SECRET, body))
    for connector in CONNECTORS:
        assert connector.verify_request(request, secrets())
        try:
            result = connector.parse_webhook(request, secrets())
        except BadInput:
            continue
        for mention in result.mentions:
            assert mention.external_id and mention.author.external_id


@seed(20240501)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_real_payloads(data: st.DataObject) -> None:
    base = data.draw(st.sampled_from(FIXTURES))
    check(json.dumps(mutate(base, data), allow_nan=True).encode())


@seed(20240502)
@settings(max_examples=200, deadline=None)
@given(json_values)
def test_random_json(value: Any) -> None:
    check(json.dumps(value, allow_nan=True).encode())


@seed(20240503)
@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes(body: bytes) -> None:
    check(body)


def test_a_time_too_large_for_a_float_is_bad_input_not_a_crash() -> None:
    """Found by ``bench fuzz --seed 22``: ``instagram.parse_webhook: OverflowError`` (an integer time
    beyond a float's range overflowed before the range check)."""
    for payload in (fixture("instagram", "message.json"), fixture("messenger", "message_text.json")):
        body = json.loads(json.dumps(payload))
        body["entry"][0]["time"] = 10**400
        for event in body["entry"][0].get("messaging", []):
            event["timestamp"] = 10**400
        check(json.dumps(body).encode())


def test_an_author_id_too_long_for_horseshoe_is_bad_input_not_a_validation_error() -> None:
    """Found by ``bench fuzz --seed 22``: ``instagram.parse_payload: ValidationError`` — a documented
    comments body whose ``from.id`` the fuzzer replaced by a huge number reached ``Author`` (ids of at
    most 255 characters) and escaped as a raw pydantic error. Now ``BadInput`` naming the path, and
    inside the host's scope only that comment is quarantined."""
    body = fixture("instagram", "comment.json")
    body["entry"][0]["changes"][0]["value"]["from"]["id"] = 10**300
    with pytest.raises(BadInput, match=r"entry\[0\]\.changes\[0\]\.value\.from\.id: .*301 characters"):
        InstagramConnector().parse_payload(body)
    good = fixture("instagram", "comment_reply.json")["entry"][0]["changes"][0]
    body["entry"][0]["changes"].append(good)
    with quarantine_scope() as held:
        [mention] = InstagramConnector().parse_payload(body, "17841405822304914")
    assert mention.external_id == good["value"]["id"] and [q.where for q in held] == ["entry[0].changes[0].value"]
    for huge in (10**5000, "9" * 256):  # beyond str()'s digit limit; a string one over the limit
        body["entry"][0]["changes"][0]["value"]["from"]["id"] = huge
        with pytest.raises(BadInput, match="no Graph id"):
            InstagramConnector().parse_payload(body)
