"""A malformed ``includes`` expansion never costs the page (issue 12): a user that cannot be read
degrades its author's posts to the author id (``extra["degraded"]`` says why), a media that cannot be
read leaves its attachment out; every post still arrives and nothing is quarantined for it."""

from __future__ import annotations

from typing import Any

from connectors.x import XConnector
from plugin.connector import quarantine_scope

BRAND = "1"


def _tweet(tweet_id: str, author: str, **extra: Any) -> dict[str, Any]:
    return {"id": tweet_id, "text": "@acme help", "author_id": author, "created_at": "2024-01-15T10:30:00Z", **extra}


def _parse(payload: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
    with quarantine_scope() as held:
        mentions = XConnector().parse_payload(payload, account=BRAND)
    return {m.external_id: m for m in mentions}, held


def test_an_unreadable_user_expansion_degrades_only_its_authors_posts() -> None:
    payload = {
        "data": [_tweet("11", "42"), _tweet("12", "43"), _tweet("13", "42")],
        "includes": {
            "users": [
                {"id": "42", "username": ["zed", "zeta"], "name": "Zed"},  # a list where X documents a string
                {"id": "43", "username": "amy", "name": "Amy"},
            ]
        },
    }
    found, held = _parse(payload)
    assert sorted(found) == ["11", "12", "13"] and held == []
    for tweet_id in ("11", "13"):
        author = found[tweet_id].author
        assert (author.external_id, author.handle, author.name) == ("42", None, None)
        assert "includes.users[0].username" in found[tweet_id].extra["degraded"]
    assert found["12"].author.handle == "amy" and "degraded" not in found["12"].extra


def test_an_unattributable_user_expansion_degrades_the_posts_without_a_profile() -> None:
    payload = {
        "data": [_tweet("11", "42"), _tweet("12", "43")],
        "includes": {"users": [{"id": {"nested": 1}, "username": "ghost"}, {"id": "43", "username": "amy"}]},
    }
    found, held = _parse(payload)
    assert sorted(found) == ["11", "12"] and held == []
    assert found["11"].author.handle is None and "includes.users[0].id" in found["11"].extra["degraded"]
    assert found["12"].author.handle == "amy" and "degraded" not in found["12"].extra


def test_includes_of_the_wrong_type_degrade_every_post_but_lose_none() -> None:
    found, held = _parse({"data": [_tweet("11", "42"), _tweet("12", "43")], "includes": ["not", "an", "object"]})
    assert sorted(found) == ["11", "12"] and held == []
    assert all("includes must be a JSON object" in m.extra["degraded"] for m in found.values())


def test_an_unreadable_media_expansion_leaves_only_that_attachment_out() -> None:
    payload = {
        "data": [_tweet("11", "42", attachments={"media_keys": ["3_1", "3_2"]}), _tweet("12", "42")],
        "includes": {
            "users": [{"id": "42", "username": "zed"}],
            "media": [
                {"media_key": "3_1", "type": "photo", "url": "https://pbs.twimg.com/media/a.jpg"},
                {"media_key": "3_2", "type": "photo", "url": 17.5},
            ],
        },
    }
    found, held = _parse(payload)
    assert sorted(found) == ["11", "12"] and held == []
    assert [a.url for a in found["11"].attachments] == ["https://pbs.twimg.com/media/a.jpg"]
    assert "includes.media[1].url" in found["11"].extra["degraded"]
    assert found["11"].author.handle == "zed" and "degraded" not in found["12"].extra


def test_dm_events_with_an_unreadable_sender_expansion_still_arrive() -> None:
    payload = {
        "data": [
            {"id": "21", "event_type": "MessageCreate", "text": "hi", "sender_id": "42", "dm_conversation_id": "1-42"},
            {"id": "22", "event_type": "MessageCreate", "text": "yo", "sender_id": "43", "dm_conversation_id": "1-43"},
        ],
        "includes": {"users": [{"id": "42", "name": {"first": "Zed"}}, {"id": "43", "username": "amy"}]},
    }
    found, held = _parse(payload)
    assert sorted(found) == ["21", "22"] and held == []
    assert found["21"].author.external_id == "42" and "includes.users[0].name" in found["21"].extra["degraded"]
    assert found["22"].author.handle == "amy"


def test_a_malformed_post_is_still_quarantined_alone_beside_a_broken_expansion() -> None:
    payload = {
        "data": [_tweet("11", "42"), _tweet("12", "43", lang=["en", "fr"])],  # issue 12's item 55
        "includes": {"users": [{"id": "42", "username": 5.5}]},
    }
    found, held = _parse(payload)
    assert sorted(found) == ["11"] and "degraded" in found["11"].extra
    [bad] = held
    assert bad.where == "data[1]" and "lang" in bad.error
    assert bad.payload["data"] == [payload["data"][1]] and bad.payload["includes"] == payload["includes"]
