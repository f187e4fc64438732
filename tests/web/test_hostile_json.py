"""Hostile JSON (deep nesting, lone surrogates, invalid UTF-8) is a 400 with a reason, never a 500."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from plugin.errors import BadInput
from plugin.runtime import Runtime
from plugin.web import create_app
from plugin.web.forms import parse_json


@pytest.fixture
def client(rt: Runtime) -> FlaskClient:
    return create_app(rt).test_client()


HOSTILE = [
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a":' * 50 + b"1" + b"}" * 50,
    b'{"events": [{"type_id": "\\ud800", "subdomain": "acme"}]}',
    b'{"events": [{"type_id": "x", "\\udfff": 1}]}',
    b'{"events": "\xff\xfe"}',
    b"",
]


@pytest.mark.parametrize(
    "body", HOSTILE, ids=["deep-list", "deep-object", "surrogate-value", "surrogate-key", "bad-utf8", "empty"]
)
def test_parse_json_refuses_with_a_reason(body: bytes) -> None:
    with pytest.raises(BadInput) as info:
        parse_json(body)
    assert str(info.value)


@pytest.mark.parametrize(
    "body", HOSTILE, ids=["deep-list", "deep-object", "surrogate-value", "surrogate-key", "bad-utf8", "empty"]
)
def test_zendesk_events_answers_400_and_stores_nothing(client: FlaskClient, rt: Runtime, body: bytes) -> None:
    response = client.post("/zendesk/events", data=body, content_type="application/json")
    assert response.status_code == 400, response.data[:200]
    assert response.get_json()["reason"]


def test_ordinary_json_still_parses() -> None:
    assert parse_json('{"events": [{"type_id": "ok", "text": "日本語 ✓"}]}'.encode()) == {
        "events": [{"type_id": "ok", "text": "日本語 ✓"}]
    }
