"""Meta's envelope (``object`` / ``entry[]`` with ``time``, ``changes``, ``messaging``) fails only what
it breaks (issue 12): a malformed change or ``messaging`` list is quarantined on its own, an unreadable
``entry.time`` fails only the items that have no time of their own, and everything else flows."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from connectors.facebook import FacebookConnector
from connectors.instagram import InstagramConnector
from connectors.messenger import MessengerConnector
from plugin.connector import Quarantined, quarantine_scope
from plugin.errors import BadInput

from .conftest import fixture

IG_ACCOUNT = "17841405822304914"


def _read(connector: Any, payload: Any, account: str | None = None) -> tuple[list[str], list[Quarantined]]:
    with quarantine_scope() as held:
        mentions = connector.parse_payload(payload, account)
    return sorted(m.external_id for m in mentions), held


def _ig_body() -> dict[str, Any]:
    """One IG entry with a comment (no timestamp: entry.time stands in), one comment with its own
    timestamp, and a direct message."""
    comment = fixture("instagram", "comment.json")["entry"][0]["changes"][0]
    timed = copy.deepcopy(comment)
    timed["value"].update(id="17865799348089040", timestamp="2024-01-02T03:04:05+0000")
    message = fixture("instagram", "message.json")["entry"][0]["messaging"][0]
    entry = {"id": IG_ACCOUNT, "time": 1700000000, "changes": [comment, timed], "messaging": [message]}
    return {"object": "instagram", "entry": [entry]}


def test_a_change_that_is_not_an_object_is_quarantined_alone() -> None:
    body = _ig_body()
    body["entry"][0]["changes"].insert(1, ["not", "a", "change"])
    found, held = _read(InstagramConnector(), body, IG_ACCOUNT)
    assert found == ["17865799348089039", "17865799348089040", "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQx"]
    [bad] = held
    assert bad.where == "entry[0].changes[1]" and "must be a JSON object" in bad.error
    assert bad.payload == {"object": "instagram", "entry": [{"id": IG_ACCOUNT, "changes": [["not", "a", "change"]]}]}


def test_changes_that_are_no_list_fail_alone_and_the_messages_flow() -> None:
    body = _ig_body()
    body["entry"][0]["changes"] = {"field": "comments"}
    found, held = _read(InstagramConnector(), body, IG_ACCOUNT)
    assert found == ["aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQx"]
    [bad] = held
    assert bad.where == "entry[0].changes" and "must be a JSON array" in bad.error
    assert bad.payload["entry"][0]["changes"] == {"field": "comments"}


def test_messaging_that_is_no_list_fails_alone_and_the_comments_flow() -> None:
    body = _ig_body()
    body["entry"][0]["messaging"] = "oops"
    found, held = _read(InstagramConnector(), body, IG_ACCOUNT)
    assert found == ["17865799348089039", "17865799348089040"]
    [bad] = held
    assert bad.where == "entry[0].messaging" and bad.payload["entry"][0]["messaging"] == "oops"


def test_an_unreadable_entry_time_fails_only_the_items_without_a_time_of_their_own() -> None:
    body = _ig_body()
    body["entry"][0]["time"] = "half past nine"
    found, held = _read(InstagramConnector(), body, IG_ACCOUNT)
    # The timed comment and the message (its own timestamp) arrive; the comment that needed entry.time
    # is kept with its body as sent, the unreadable time included.
    assert found == ["17865799348089040", "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQx"]
    [bad] = held
    assert bad.where == "entry[0].changes[0].value" and "no time" in bad.error
    assert bad.payload["entry"][0]["time"] == "half past nine"


def test_a_page_body_keeps_feed_and_messages_apart() -> None:
    feed = fixture("facebook", "feed_comment_add.json")
    page_id = feed["entry"][0]["id"]
    good = feed["entry"][0]["changes"][0]
    message = {"sender": {"id": "5550001"}, "timestamp": 1700000400000, "message": {"mid": "m_1", "text": "hi"}}
    body = {"object": "page", "entry": [{"id": page_id, "time": [], "changes": [good, 7], "messaging": [message]}]}
    found, held = _read(FacebookConnector(), body, page_id)
    assert found == ["444444444_111111111"]  # its own created_time: the bad entry.time does not matter
    assert [q.where for q in held] == ["entry[0].changes[1]"]
    found, held = _read(MessengerConnector(), body, page_id)
    assert found == ["m_1"] and held == []  # the broken change is the facebook connector's to keep


def test_outside_a_scope_the_same_body_is_refused_with_bad_input_naming_the_part() -> None:
    body = _ig_body()
    body["entry"][0]["changes"] = 5
    with pytest.raises(BadInput, match=r"entry\[0\].changes must be a JSON array"):
        InstagramConnector().parse_payload(body, IG_ACCOUNT)
