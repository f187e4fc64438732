"""The public API pieces of per-item isolation: ``item_boundary`` inside and outside the host's scope,
and a connector's default ``token_expires_at``."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.x import XConnector
from plugin.connector import AccountContext, item_boundary, quarantine_scope
from plugin.errors import BadInput, RetriableError


def _parse_all(items: list[object]) -> list[int]:
    out = []
    for index, item in enumerate(items):
        with item_boundary(f"items[{index}]", {"items": [item]}):
            out.append(int(str(item)))
    return out


def test_inside_a_scope_a_bad_item_is_collected_and_the_rest_parsed() -> None:
    with quarantine_scope() as held:
        assert _parse_all(["1", "two", "3"]) == [1, 3]
    [bad] = held
    assert bad.where == "items[1]" and bad.payload == {"items": ["two"]} and bad.error.startswith("ValueError")


def test_outside_a_scope_the_error_is_bad_input_naming_the_item_and_network_errors_always_propagate() -> None:
    # parse_payload's contract: what cannot be read is refused with BadInput (a clear 400), never a
    # raw ValueError / pydantic ValidationError (what `bench fuzz` seeds 22 and 24 found escaping).
    with pytest.raises(BadInput, match=r"^items\[1\]: ValueError: invalid literal") as raised:
        _parse_all(["1", "two"])
    assert isinstance(raised.value.__cause__, ValueError)
    with pytest.raises(BadInput, match=r"^items\[0\].lang: must be a string$"):
        with item_boundary("items[0]", {}):
            raise BadInput("items[0].lang: must be a string")  # already BadInput: unchanged
    with quarantine_scope() as held, pytest.raises(RetriableError):
        with item_boundary("items[0]", {}):
            raise RetriableError("503 from the network: the whole call failed, not one item")
    assert held == []
    with quarantine_scope() as held:
        with item_boundary("items[0]", {}):
            raise BadInput("items[0].lang: must be a string")
    assert held[0].error == "items[0].lang: must be a string"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2030-01-01T00:00:00Z", datetime(2030, 1, 1, tzinfo=UTC)),
        ("1893456000", datetime(2030, 1, 1, tzinfo=UTC)),
        ("not a date", None),
        ("", None),
    ],
)
def test_token_expiry_is_read_from_the_expires_at_credential(raw: str, expected: datetime | None) -> None:
    account = AccountContext(network="x", external_id="1", credentials={"expires_at": raw} if raw else {})
    assert XConnector().token_expires_at(account) == expected
