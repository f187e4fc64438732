"""The fake's payloads have the documented structure (tests/fixtures/salesforce, see SOURCE.md there)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from simple_salesforce import SalesforceMalformedRequest

from .conftest import CONSUMER_KEY, CONSUMER_SECRET, PASSWORD, TOKEN, USERNAME, Client, Env, content

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "salesforce"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def shape(value: Any) -> Any:
    """Keys and JSON types, recursively; lists are represented by the shape of their first item."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def test_create_and_error_shapes(sf: Client) -> None:
    assert shape(sf.Contact.create({"LastName": "S"})) == shape(fixture("create_response.json"))
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.Contact.create({"FirstName": "No last name"})
    assert content(info) == fixture("error_response.json")


def test_paged_query_shape(sf: Client, env: Env) -> None:
    for n in range(2001):
        env.state.insert(env.org, "Contact", {"LastName": f"Q{n}"}, env.user.id)
    assert shape(sf.query("SELECT LastName FROM Contact")) == shape(fixture("query_response_paged.json"))


def test_collection_shapes(sf: Client) -> None:
    records = [{"attributes": {"type": "Contact"}, "LastName": "A"}, {"attributes": {"type": "Contact"}}]
    partial = sf.restful("composite/sobjects", method="POST", json={"records": records})
    assert partial == [partial[0], fixture("collections_create_partial.json")[1]]
    assert shape(partial) == shape(fixture("collections_create_partial.json"))
    rolled = sf.restful("composite/sobjects", method="POST", json={"allOrNone": True, "records": records})
    assert rolled == fixture("collections_create_all_or_none.json")


def test_limits_and_token_shapes(sf: Client, env: Env) -> None:
    assert shape(sf.limits()) == shape(fixture("limits_daily_api_requests.json"))
    token = env.session().post("https://login.salesforce.com/services/oauth2/token", data={
        "grant_type": "password", "client_id": CONSUMER_KEY, "client_secret": CONSUMER_SECRET,
        "username": USERNAME, "password": PASSWORD + TOKEN,
    }).json()  # fmt: skip
    expected = shape(fixture("oauth_token_response.json"))
    assert {k: v for k, v in shape(token).items() if k in expected} == expected
