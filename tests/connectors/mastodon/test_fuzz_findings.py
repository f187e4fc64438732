"""What ``bench fuzz`` found in the Mastodon parser, kept as regression tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors.mastodon import MastodonConnector
from plugin.connector import quarantine_scope
from plugin.errors import BadInput

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "mastodon"


def load(name: str) -> object:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def test_an_account_id_too_long_for_horseshoe_is_bad_input_not_a_validation_error() -> None:
    """``bench fuzz --seed 24``: ``mastodon.parse_payload: ValidationError`` — the documented status
    with ``account.id`` replaced by a 300-digit id reached ``Author`` (at most 255 characters) outside
    the try that turns a refusal into BadInput."""
    status = load("status_direct_remote.json")
    assert isinstance(status, dict)
    status["account"]["id"] = "9" * 300
    with pytest.raises(BadInput, match="does not normalize: String should have at most 255 characters"):
        MastodonConnector().parse_payload(status, "1")


def test_in_a_notifications_page_only_that_item_is_quarantined() -> None:
    fixture = load("notifications_mentions.json")
    assert isinstance(fixture, list) and fixture
    good = json.loads(json.dumps(fixture[0]))
    good["id"], good["status"]["id"] = "34975862", "103186126728896493"
    page = [fixture[0], good]
    page[0]["status"]["account"]["id"] = "9" * 300
    with quarantine_scope() as held:
        mentions = MastodonConnector().parse_payload(page, "1")
    assert [m.external_id for m in mentions] == ["103186126728896493"]
    [bad] = held
    assert bad.where == "notifications[0]" and "255 characters" in bad.error and bad.payload == [page[0]]
    # Outside a scope (``horseshoe parse``) the page is refused with BadInput naming the item.
    with pytest.raises(BadInput, match=r"^mastodon: status \d+ does not normalize"):
        MastodonConnector().parse_payload(page, "1")


def test_a_stream_delete_of_an_id_too_long_is_bad_input() -> None:
    event = {"event": "delete", "payload": "9" * 600, "stream": ["user"]}
    with pytest.raises(BadInput, match=r"delete\.payload"):
        MastodonConnector().parse_payload(event, "1")
